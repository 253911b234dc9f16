"""Read replicas (issue 20): a database router and the middleware that tells it when it may read
from the replica.

Inert without `DATABASE_REPLICA_URL` (no `replica` alias): everything uses `default`.

With a replica, reads go to it only when all of these hold, and to the primary otherwise:
- the code runs inside a web request the middleware cleared: a GET/HEAD/OPTIONS from a user who
  has not written in the last `REPLICA_PIN_SECONDS`: every POST/PUT/PATCH/DELETE pins that
  client's reads to the primary for that long (a signed, short-lived cookie for browsers; a
  cache key on the bearer token for API clients, which may keep no cookies), so a user always
  sees what they just saved, and a fresh login finds its session. It must exceed the replica's
  worst lag (monitor `pg_stat_replication.replay_lag`);
- no transaction is open on the primary (reads inside one must see its writes, and locks);
- the caller did not ask for the primary (`with replicas.primary():`).
Everything outside a cleared request (Celery tasks, beat, commands, the shell) reads the primary:
the rules engine must see the reading that was just stored, never a lagging copy of it. Writes
always go to the primary; migrations run there only (the replica copies them).
"""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connections

REPLICA = "replica"
PRIMARY = "default"
PIN_COOKIE = "mahalo_pin"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# True while the current request may read from the replica.
_replica_ok: ContextVar[bool] = ContextVar("mahalo_replica_ok", default=False)


def has_replica() -> bool:
    return REPLICA in connections.settings


def replica_allowed() -> bool:
    return _replica_ok.get()


@contextmanager
def primary():
    """Read from the primary inside this block, whatever the request."""
    token = _replica_ok.set(False)
    try:
        yield
    finally:
        _replica_ok.reset(token)


@contextmanager
def replica_reads():
    """What the middleware does for a cleared request (tests and scripts use it too)."""
    token = _replica_ok.set(True)
    try:
        yield
    finally:
        _replica_ok.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if not has_replica() or not _replica_ok.get():
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


def _token_key(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return "mahalo:pin:" + hashlib.sha256(header.encode()).hexdigest()[:32] if header else None


def _pinned(request) -> bool:
    key = _token_key(request)
    if key and cache.get(key):
        return True
    value = request.COOKIES.get(PIN_COOKIE)
    if not value:
        return False
    try:
        until = float(signing.loads(value, salt=PIN_COOKIE))
    except (signing.BadSignature, TypeError, ValueError):
        return False
    return until > time.time()


def _pin(request, response) -> None:
    seconds = settings.REPLICA_PIN_SECONDS
    key = _token_key(request)
    if key:
        cache.set(key, 1, seconds)
    response.set_cookie(
        PIN_COOKIE,
        signing.dumps(str(time.time() + seconds), salt=PIN_COOKIE),
        max_age=seconds,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


class ReplicaPinMiddleware:
    """Clears safe requests of unpinned users for the replica; pins a user after a write request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not has_replica():
            return self.get_response(request)
        safe = request.method in _SAFE_METHODS
        token = _replica_ok.set(safe and not _pinned(request))
        try:
            response = self.get_response(request)
        finally:
            _replica_ok.reset(token)
        if not safe:
            _pin(request, response)
        return response
