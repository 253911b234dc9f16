"""What every bench shares: a PostgreSQL database of its own, production-like settings, and
timing views through Django's test client against a floor in the same run."""

import os
import statistics
import sys
import time
import warnings

WARMUP = 3


def environment(default_db: str) -> bool:
    """Settings before Django loads. True when the bench owns its database (no DATABASE_URL
    given): it is dropped and recreated each run."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahalo.settings")
    own = "DATABASE_URL" not in os.environ
    os.environ.setdefault("DATABASE_URL", default_db)
    os.environ["DEBUG"] = "false"
    os.environ["MAHALO_REQUIRE_STAFF_MFA"] = "false"
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: STATIC_ROOT not collected
    return own


def prepare_database(own: bool) -> None:
    """Create the database if missing; the bench's own default database is dropped first."""
    import environ
    import psycopg
    from psycopg import sql

    cfg = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    if "postgresql" not in cfg["ENGINE"]:
        sys.exit(f"bench: DATABASE_URL must point at PostgreSQL, not {cfg['ENGINE']}")
    conn = psycopg.connect(dbname="postgres", user=cfg.get("USER") or None, password=cfg.get("PASSWORD") or None,
                           host=cfg.get("HOST") or None, port=cfg.get("PORT") or None, autocommit=True)
    name = sql.Identifier(cfg["NAME"])
    with conn:
        if own:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def measure(client, views, rounds, rng) -> dict:
    """{label: (queries, median_ms)} for each (label, url): the query count of one request after
    warm-ups, and the median of `rounds` requests interleaved in a shuffled order, so machine
    noise hits every view (and the floor) alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    queries, times = {}, {label: [] for label, _ in views}
    for label, url in views:
        for _ in range(WARMUP):
            response = client.get(url)
            assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        queries[label] = len(ctx.captured_queries)
    order = list(views)
    for _ in range(rounds):
        rng.shuffle(order)
        for label, url in order:
            start = time.perf_counter()
            response = client.get(url)
            times[label].append(time.perf_counter() - start)
            assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
    return {label: (queries[label], statistics.median(times[label]) * 1000) for label, _ in views}
