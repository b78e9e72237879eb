"""Repeated failed logins, throttled per user name and per client address (in the shared cache)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def user_key(request) -> str:
    username = (request.POST.get("username") or "").strip().lower()
    return "login-fail:user:" + hashlib.sha256(username.encode()).hexdigest()[:32]


def _address_key(request) -> str:
    return f"login-fail:addr:{request.META.get('REMOTE_ADDR', '')}"


def _limits(request) -> dict[str, int]:
    # One user name gets a few tries; one address (an office behind NAT, a proxy) gets many more, so one
    # person's typos do not lock out their colleagues while a password-guessing address still stops.
    return {user_key(request): settings.LOGIN_FAILURE_LIMIT,
            _address_key(request): settings.LOGIN_FAILURE_ADDRESS_LIMIT}


def throttled(request) -> bool:
    counts = cache.get_many(list(_limits(request)))
    return any((counts.get(key) or 0) >= limit for key, limit in _limits(request).items())


def record_failure(request) -> None:
    for key in _limits(request):
        if cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW_SECONDS) is False:
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW_SECONDS)


def forget(request) -> None:
    """A successful login clears the user name's failures (the address keeps its count)."""
    cache.delete(user_key(request))
