"""/healthz's checks (issue 20, fault 1): every one bounded in time, the whole answer
within DEADLINE seconds even with Redis hung (accepting connections, answering nothing).

Pages need the database and nothing else (the cache falls back, a failed publish leaves
its row for the sweeper), so the answer is 503 exactly when the database fails, and
200 otherwise, with `status: degraded` and `failing` naming the parts that are down.
"""

from __future__ import annotations

import concurrent.futures
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from mahalo.cache import safe_probe

# Seconds /healthz may take in all; a check still running then reports a timeout.
DEADLINE = 1.5
# Statement timeout of the database probe on PostgreSQL (milliseconds).
DB_STATEMENT_TIMEOUT_MS = 1000

# A few threads shared by all requests: a hung Redis can't pile up threads,
# because each check has its own socket timeout well under a minute.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")


def _error(exc: BaseException) -> str:
    return f"error: {exc.__class__.__name__}"


def check_database() -> str:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL statement_timeout = {int(DB_STATEMENT_TIMEOUT_MS)}")
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - a probe reports, it doesn't raise
        return _error(exc)


def check_cache() -> str:
    try:
        safe_probe(cache)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


def check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    from mahalo.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            # Connected is not answering: a hung Redis accepts TCP connections. One round trip.
            client = getattr(conn.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


def report() -> tuple[dict, int]:
    """(body, HTTP status) of /healthz."""
    started = time.monotonic()
    futures = {"cache": _POOL.submit(check_cache), "broker": _POOL.submit(check_broker)}
    status = {"database": check_database()}
    for name, future in futures.items():
        left = max(0.05, DEADLINE - (time.monotonic() - started))
        try:
            status[name] = future.result(timeout=left)
        except concurrent.futures.TimeoutError:
            status[name] = "error: timeout"
    failing = sorted(name for name, value in status.items() if value not in ("ok", "eager"))
    body = {"status": "degraded" if failing else "ok", **status, "failing": failing}
    return body, 200 if status["database"] == "ok" else 503
