"""The cache is an optimisation, never a dependency (issue 20, fault 1).

`ResilientRedisCache` is Django's Redis cache with every call made safe: with Redis
down or hung, a read is a miss (the caller computes the value from the database), a
write is dropped, and nothing raises into a page or a write's transaction. Sockets
carry short timeouts (settings: CACHES OPTIONS), and after one failure the cache is
skipped for `RETRY_AFTER` seconds, so a hung Redis costs one timeout per process
every few seconds, not one per cache call.

What degrades while Redis is gone (all documented in README "Production"):
- nav badge counts and other cached reads come from the database on every request;
- allauth's login rate limits and DRF throttles count nothing (axes' lockout, kept in
  the database, still locks an address after AXES_FAILURE_LIMIT failures);
- `add()` answers True (the key was "added"): allauth records a used TOTP code with it,
  and False would refuse every MFA sign-in; a replay inside one 30 s TOTP window is then
  possible. Never use `cache.add` as a lock: use the database.

`probe()` is the honest check for /healthz: it talks to Redis directly, past the breaker.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# Seconds the cache is skipped after a failure (one probe per process per interval).
RETRY_AFTER = 5.0


def _errors() -> tuple[type[BaseException], ...]:
    import redis

    # OSError covers refused and reset sockets; RedisError covers timeouts and protocol errors.
    return (redis.exceptions.RedisError, OSError)


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._retry_after = float(params.get("RETRY_AFTER", RETRY_AFTER))
        self._down_until = 0.0
        self._lock = threading.Lock()

    # --- the breaker ---------------------------------------------------------------
    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, op: str, exc: BaseException) -> None:
        with self._lock:
            first = self._available()
            self._down_until = time.monotonic() + self._retry_after
        if first:  # one line per outage interval, not one per call
            logger.warning(
                "Cache %s failed (%s: %s); using the database for %.0f s",
                op,
                exc.__class__.__name__,
                exc,
                self._retry_after,
            )

    def _safe(self, op: str, fallback, call):
        if not self._available():
            return fallback
        try:
            return call()
        except _errors() as exc:
            self._failed(op, exc)
            return fallback

    @property
    def is_down(self) -> bool:
        return not self._available()

    def probe(self) -> None:
        """Round trip to Redis, ignoring the breaker; raises on failure (for /healthz)."""
        try:
            client = self._cache.get_client(write=True)
            key = self.make_and_validate_key("healthz")
            client.set(key, b"1", ex=10)
            if client.get(key) != b"1":
                raise RuntimeError("read back failed")
        except _errors() as exc:
            self._failed("probe", exc)
            raise
        with self._lock:
            self._down_until = 0.0

    # --- reads: a failure is a miss ---------------------------------------------------
    def get(self, key, default=None, version=None):
        return self._safe("get", default, lambda: super(ResilientRedisCache, self).get(key, default, version))

    def get_many(self, keys, version=None):
        return self._safe("get_many", {}, lambda: super(ResilientRedisCache, self).get_many(keys, version))

    def has_key(self, key, version=None):
        return self._safe("has_key", False, lambda: super(ResilientRedisCache, self).has_key(key, version))

    # --- writes: best effort ----------------------------------------------------------
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._safe("set", None, lambda: super(ResilientRedisCache, self).set(key, value, timeout, version))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safe("add", True, lambda: super(ResilientRedisCache, self).add(key, value, timeout, version))

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safe("set_many", [], lambda: super(ResilientRedisCache, self).set_many(data, timeout, version))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safe("touch", False, lambda: super(ResilientRedisCache, self).touch(key, timeout, version))

    def delete(self, key, version=None):
        return self._safe("delete", False, lambda: super(ResilientRedisCache, self).delete(key, version))

    def delete_many(self, keys, version=None):
        self._safe("delete_many", None, lambda: super(ResilientRedisCache, self).delete_many(keys, version))

    def incr(self, key, delta=1, version=None):
        return self._safe("incr", delta, lambda: super(ResilientRedisCache, self).incr(key, delta, version))

    def clear(self):
        return self._safe("clear", False, lambda: super(ResilientRedisCache, self).clear())


def safe_probe(cache) -> None:
    """Check any cache backend for /healthz: the Redis probe, or a set/get round trip."""
    if hasattr(cache, "probe"):
        cache.probe()
        return
    cache.set("healthz", "1", 10)
    if cache.get("healthz") != "1":
        raise RuntimeError("read back failed")
