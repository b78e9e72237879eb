"""Requests per minute per token, counted in the shared cache (one fixed window a minute).

With Redis (CACHE_URL) the count is one pipelined INCR + EXPIRE, shared by every process; without it, each
process counts on its own (make run's single process).
"""

from __future__ import annotations

import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

WINDOW = 60


def hit(scope: str, ident: str, limit: int) -> tuple[int, int]:
    """Count one request; returns (count in this window, seconds until the window ends). limit <= 0: not counted."""
    now = time.time()
    retry = WINDOW - int(now % WINDOW)
    if limit <= 0:
        return 0, retry
    key = f"rate:{scope}:{ident}:{int(now // WINDOW)}"
    return _incr(key, WINDOW + 5), retry


def _incr(key: str, ttl: int) -> int:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        name = cache.make_and_validate_key(key)
        client = _client(cache)
        pipe = client.pipeline(transaction=False)  # one round trip; INCR alone is atomic, EXPIRE only renews
        pipe.incr(name)
        pipe.expire(name, ttl)
        return int(pipe.execute()[0])
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, ttl)
        return 1


def _client(cache: RedisCache):
    """The cache's Redis client for writes, made once per connection pool: Django builds a new one on every
    call (redis-py fills ~170 response callbacks each time, about a tenth of a repeat delivery's CPU). It is
    kept on the pool, so it goes when the pool does."""
    pool = cache._cache._get_connection_pool(True)
    client = getattr(pool, "console_client", None)
    if client is None:
        client = pool.console_client = cache._cache._client(connection_pool=pool)
    return client

