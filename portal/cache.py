"""Short-lived caches for public aggregates (idle capacity, the home page's figures).

With REDIS_URL set the value is shared by every app host (JSON in Redis, with an expiry); without it, or
while Redis is unreachable, each process keeps its own copy. Values must be JSON-serialisable; callers
keep ids and numbers in them and load the objects a page shows by id. A stale value lives at most
`seconds`: these are figures people glance at, never a decision (bookings check the database).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import current_app

log = logging.getLogger("portal.cache")
PREFIX = "portal:cache:"
_local: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()
MAX_LOCAL = 256


def _redis():
    if not current_app.config.get("REDIS_URL"):
        return None
    from portal.jobs import get_redis

    return get_redis()


def cached(key: str, seconds: int, compute: Callable[[], Any]) -> Any:
    """`compute()`'s value, computed at most once per `seconds` (per cluster with Redis)."""
    if seconds <= 0 or current_app.config.get("CACHE_DISABLED"):
        return compute()
    from redis.exceptions import RedisError

    client = _redis()
    if client is not None:
        try:
            stored = client.get(PREFIX + key)
            if stored is not None:
                return json.loads(stored)
            value = compute()
            client.set(PREFIX + key, json.dumps(value), ex=seconds)
            return value
        except RedisError as error:  # shared state is a convenience here: fall back to the process
            log.warning("cache: Redis unreachable (%s); using this process's copy", error)
    return cached_local(key, seconds, lambda: json.loads(json.dumps(compute())))  # the same shape as from Redis


def cached_slice(key: str, seconds: int, compute: Callable[[], list], start: int, stop: int) -> tuple[list, int]:
    """`compute()[start:stop]` and `len(compute())`, the list computed at most once per `seconds`.

    For a long ranking of which a page shows a few rows: with Redis the rows are a Redis list and a page
    reads only its own (LRANGE), so the work per page does not grow with the list; without Redis the
    process keeps the list and slices it."""
    if seconds <= 0 or current_app.config.get("CACHE_DISABLED"):
        rows = compute()
        return rows[start:stop], len(rows)
    from redis.exceptions import RedisError

    client = _redis()
    if client is not None:
        rows_key, total_key = PREFIX + key + ":rows", PREFIX + key + ":total"
        try:
            total = client.get(total_key)
            if total is not None:
                found = client.lrange(rows_key, start, stop - 1) if stop > start else []
                return [json.loads(item) for item in found], int(total)
            rows = json.loads(json.dumps(compute()))
            with client.pipeline(transaction=True) as pipe:  # readers see the old list or the new one
                pipe.delete(rows_key)
                if rows:
                    pipe.rpush(rows_key, *[json.dumps(row) for row in rows])
                    pipe.expire(rows_key, seconds + 5)  # outlives the total that points at it
                pipe.set(total_key, len(rows), ex=seconds)
                pipe.execute()
            return rows[start:stop], len(rows)
        except RedisError as error:
            log.warning("cache: Redis unreachable (%s); using this process's copy", error)
    rows = cached_local(key, seconds, compute)
    return rows[start:stop], len(rows)


def cached_local(key: str, seconds: int, compute: Callable[[], Any]) -> Any:
    """`compute()`'s value kept by this process for `seconds` (no copy through JSON: callers only read it)."""
    now = time.monotonic()
    with _lock:
        found = _local.get(key)
        if found is not None and found[0] > now:
            return found[1]
    value = compute()
    with _lock:
        if len(_local) >= MAX_LOCAL:
            _local.clear()
        _local[key] = (now + seconds, value)
    return value


def forget(key: str) -> None:
    """Drop `key` everywhere (e.g. after a change its viewers should see at once)."""
    with _lock:
        _local.pop(key, None)
    client = _redis()
    if client is not None:
        from redis.exceptions import RedisError

        try:
            client.delete(PREFIX + key, PREFIX + key + ":rows", PREFIX + key + ":total")
        except RedisError:
            pass
