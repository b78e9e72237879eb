"""Whole pages, rendered once and served again while what they show is unchanged.

The dashboard and an incident page are read far more often than they change (every open tab reloads, every wall
screen refreshes), and rendering them is most of their cost. A rendered page is kept under a key made of:

- the version of what it shows: the incident's revision, or the dashboard's fingerprint, which every change to an
  incident moves: a change never serves an old page, it makes a new key;
- who is looking: the person (their name is in the header; their own command runs show Cancel rather than
  Approve) and their permissions, which decide the buttons;
- the query that shapes the page (a timeline filter, an earlier page of events);
- the current minute: ages and response clocks are written to the minute (console.js keeps them ticking).

Not covered are names and definitions edited elsewhere (a runbook's title, a severity's response time, a new
person in the role lists): they show with the incident's next change, or within the minute. A request with a
message to show (after a form) is rendered afresh and not kept.

Forms are rendered with a placeholder for the CSRF token, replaced in each response by the reader's own token.
The store is the `fragments` cache: memory of each process, bounded (FRAGMENT_CACHE_ENTRIES), so reading a page
costs no round trip, and no process can serve another's stale copy because keys carry versions.
FRAGMENT_CACHE_SECONDS=0 renders every page every time.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.crypto import salted_hmac


@functools.cache
def csrf_placeholder() -> str:
    # Derived from SECRET_KEY: not something a note's text could hold by chance or by design (a note that did would
    # show the reader's own token, to that reader only).
    return "csrf-" + salted_hmac("incidents.pagecache", "csrf-placeholder").hexdigest()[:32]


def page_key(request, name: str, version, shaped_by=()) -> str:
    user = request.user
    reader = (user.pk, user.get_username(), user.is_staff, user.is_superuser, sorted(user.get_all_permissions()))
    minute = int(time.time() // 60)
    digest = hashlib.blake2s(repr((version, reader, tuple(shaped_by), minute)).encode(), digest_size=16)
    return f"page:{name}:{digest.hexdigest()}"


def render_page(request, template: str, name: str, version, context: Callable[[], dict[str, Any]], *,
                shaped_by=()) -> HttpResponse:
    """`template` rendered with `context()`, or the copy kept for this version, reader and query."""
    if settings.FRAGMENT_CACHE_SECONDS <= 0 or len(get_messages(request)):
        return render(request, template, context())
    store = caches["fragments"]
    key = page_key(request, name, version, shaped_by)
    html = store.get(key)
    if html is None:
        html = render_to_string(template, {**context(), "csrf_token": csrf_placeholder()}, request)
        store.set(key, html, settings.FRAGMENT_CACHE_SECONDS)
    return HttpResponse(html.replace(csrf_placeholder(), get_token(request)))
