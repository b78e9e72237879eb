"""Failed logins slow the next attempt down, per user name and per client address (in the shared cache).

* The user name is keyed as the login form reads it (NFKC, as Django's UsernameField normalises it) and
  case-folded, so "Alice", "ALICE" and "ａｌｉｃｅ" (full-width) are one name to the throttle.
* The client address is REMOTE_ADDR, unless that is one of TRUSTED_PROXIES: then the nearest address in
  X-Forwarded-For that is not a trusted proxy. A header from anyone else is ignored, so it cannot be used to
  pick a fresh address for every guess.
* After LOGIN_FAILURE_LIMIT failures for a name (LOGIN_FAILURE_ADDRESS_LIMIT for an address), each further
  attempt must wait a delay that doubles with every failure (1 s, 2 s, 4 s, … up to LOGIN_DELAY_MAX_SECONDS).
  Attempts while waiting are answered "wait N seconds" and not counted, so a guesser gets one try per delay
  while the person with the right password waits at most that delay: there is no lock-out to sit out.
* A failure for a name that has no account counts for that name only, never for the address: guessing names
  from an office's shared address does not slow down the people who work there.
* Counts are forgotten after LOGIN_FAILURE_WINDOW_SECONDS without a failure; a successful login forgets the
  name's failures (the address keeps its count).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

BASE_DELAY_SECONDS = 1.0


def normalise_username(raw: str | None) -> str:
    """The user name as the login form reads it (NFKC), case-folded, for keying the throttle."""
    return unicodedata.normalize("NFKC", (raw or "").strip()).casefold()


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or what a trusted proxy says it forwarded for."""
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _trusted()
    if not networks or not _within(remote, networks):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):  # the nearest hop was added by our own proxy; earlier ones by anyone
        if not _within(hop, networks):
            return hop if _is_address(hop) else remote
    return remote


def _trusted() -> list:
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "TRUSTED_PROXIES", [])]


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _within(value: str, networks: list) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(address in network for network in networks)


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int


def _name_counter(request) -> _Counter:
    name = normalise_username(request.POST.get("username"))
    return _Counter("login-fail:user:" + hashlib.sha256(name.encode()).hexdigest()[:32], settings.LOGIN_FAILURE_LIMIT)


def _address_counter(request) -> _Counter:
    # One address gets many more tries than one name: an office behind NAT, a proxy.
    return _Counter(f"login-fail:addr:{client_address(request)}", settings.LOGIN_FAILURE_ADDRESS_LIMIT)


def delay_after(failures: int, limit: int) -> float:
    """Seconds the next attempt must wait after `failures` failures, `limit` of them free."""
    if failures < limit:
        return 0.0
    return min(float(settings.LOGIN_DELAY_MAX_SECONDS), BASE_DELAY_SECONDS * 2 ** min(failures - limit, 30))


def wait_seconds(request) -> int:
    """0 when this login attempt may be checked now; otherwise how many seconds to wait."""
    counters = [_name_counter(request), _address_counter(request)]
    stored = cache.get_many([c.key for c in counters])
    now = time.time()
    wait = 0.0
    for counter in counters:
        entry = stored.get(counter.key)
        if not isinstance(entry, dict):
            continue
        ready_at = entry.get("last", 0) + delay_after(entry.get("n", 0), counter.limit)
        wait = max(wait, ready_at - now)
    return math.ceil(wait) if wait > 0 else 0


def record_failure(request) -> None:
    username = (request.POST.get("username") or "").strip()
    counters = [_name_counter(request)]
    if _account_exists(username):
        counters.append(_address_counter(request))
    now = time.time()
    for counter in counters:
        entry = cache.get(counter.key)
        failures = (entry.get("n", 0) if isinstance(entry, dict) else 0) + 1
        # Two failures at the same moment may count once: a lost count costs one free try, not a lock.
        cache.set(counter.key, {"n": failures, "last": now}, settings.LOGIN_FAILURE_WINDOW_SECONDS
                  + int(delay_after(failures, counter.limit)))


def _account_exists(username: str) -> bool:
    if not username:
        return False
    model = get_user_model()
    field = model.USERNAME_FIELD
    return model._default_manager.filter(**{f"{field}__iexact": unicodedata.normalize("NFKC", username)}).exists()


def forget(request) -> None:
    """A successful login clears the name's failures (the address keeps its count)."""
    cache.delete(_name_counter(request).key)
