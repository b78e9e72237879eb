"""Who is asking, remembered for a few seconds by each process, for reads only.

Django's AuthenticationMiddleware finds the user on every request: the session (a cache or database read), the
user row, and on the first permission check two more queries. An open incident page polls every second, so most
requests the console serves are reads by someone it identified a second ago. This middleware keeps, per process,
the user found for a session (with their permissions loaded) for AUTH_MEMO_SECONDS and answers GET and HEAD
requests from it. Every change (POST and the rest) still reads the session and the user afresh, so a
deactivated user, a removed role or an ended session can change nothing at once, and stops reading within
AUTH_MEMO_SECONDS everywhere (at once in the process that made the change). AUTH_MEMO_SECONDS=0 turns it off.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware, auser, get_user
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject

READS = frozenset({"GET", "HEAD"})
MAX_SESSIONS = 2_000  # a bound on memory: the least recently seen session is forgotten first


class _Memo:
    """session key -> (user with permissions loaded, monotonic expiry), least recently used first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        now = time.monotonic()
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry[1] <= now:
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, user, seconds: float) -> None:
        with self.lock:
            self.entries[key] = (user, time.monotonic() + seconds)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def forget_session(self, key: str) -> None:
        with self.lock:
            self.entries.pop(key, None)

    def forget_user(self, user_id) -> None:
        with self.lock:
            for key in [k for k, (user, _) in self.entries.items() if user.pk == user_id]:
                del self.entries[key]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


memo = _Memo(MAX_SESSIONS)


def _remembered_user(request):
    seconds = settings.AUTH_MEMO_SECONDS
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if seconds <= 0 or not key:
        return get_user(request)
    known = memo.get(key)
    if known is not None:
        # A copy per request: a view may set attributes on request.user; the memo's copy stays as it was found.
        request._cached_user = copy.copy(known)
        request.user_remembered = True
        return request._cached_user
    user = get_user(request)
    if user.is_authenticated and request.session.session_key == key:
        user.get_all_permissions()  # loads the backend's permission cache onto the instance that is kept
        memo.put(key, copy.copy(user), seconds)
    return user


class RememberedAuthenticationMiddleware(AuthenticationMiddleware):
    """AuthenticationMiddleware whose reads reuse the user found for the same session a moment ago."""

    def process_request(self, request):
        if request.method not in READS:
            return super().process_request(request)
        request.user = SimpleLazyObject(lambda: _remembered_user(request))
        request.auser = partial(auser, request)
        return None

    def process_response(self, request, response):
        # What SessionMiddleware says when it reads the session: the answer depends on the cookie.
        if getattr(request, "user_remembered", False):
            patch_vary_headers(response, ("Cookie",))
        return response


@receiver(user_logged_out)
def _forget_session(sender, request, user, **kwargs):
    if request is not None and (key := request.COOKIES.get(settings.SESSION_COOKIE_NAME)):
        memo.forget_session(key)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def _forget_changed_user(sender, instance, **kwargs):
    memo.forget_user(instance.pk)


@receiver(m2m_changed)
def _forget_regrouped_user(sender, instance, action, **kwargs):
    if not action.startswith("post_"):
        return
    user_model = get_user_model()
    if sender not in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        return
    if isinstance(instance, user_model):
        memo.forget_user(instance.pk)
    else:  # a role gained or lost permissions, or members: whom that touches is not worth working out here
        memo.clear()
