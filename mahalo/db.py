"""Database helpers for running at scale (issue 20): planner statistics after bulk loads, and
streaming reads that keep streaming behind PgBouncer.

Statistics: PostgreSQL plans from `pg_class.reltuples` and `pg_statistic`, which only ANALYZE
(or autovacuum) fills. A table bulk-loaded moments ago looks empty to the planner, so it picks
nested loops over what are now millions of rows: a registry page went from 0.6 s to 20 s that
way with autovacuum off. So whatever bulk-loads rows (`migrate`, `seed_demo`, `load_foods`,
patient imports, Apple Health imports) calls `analyze()` itself instead of trusting autovacuum.
On SQLite these do nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.apps import apps
from django.db import connections, models, transaction

log = logging.getLogger(__name__)

# Like autovacuum's analyze trigger (50 rows + 10 % of the table): below this, leave it be.
GROWTH_THRESHOLD = 0.1
GROWTH_MIN_ROWS = 50


def _postgres(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def analyze(*model_classes: type[models.Model], using: str = "default") -> list[str]:
    """ANALYZE these models' tables (and their many-to-many tables). Returns the tables analyzed."""
    if not _postgres(using):
        return []
    tables = []
    for model in model_classes:
        tables.append(model._meta.db_table)
        tables.extend(
            f.remote_field.through._meta.db_table
            for f in model._meta.local_many_to_many
            if f.remote_field.through._meta.auto_created
        )
    connection = connections[using]
    with connection.cursor() as cursor:
        for table in dict.fromkeys(tables):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return list(dict.fromkeys(tables))


def analyze_if_grown(model: type[models.Model], added: int, *also: type[models.Model],
                     using: str = "default") -> bool:
    """ANALYZE a table (and `also`, loaded with it) after adding `added` rows when that is a real
    share of it (the planner's own estimate, `reltuples`; -1 or 0: never analyzed). One cheap
    query whatever the size of the load, so callers can make it after every load."""
    if not _postgres(using) or added <= 0:
        return False
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    known = row[0] if row else 0
    if added < GROWTH_MIN_ROWS or (known > 0 and added < known * GROWTH_THRESHOLD):
        return False
    analyze(model, *also, using=using)
    return True


def analyze_database(using: str = "default") -> bool:
    """ANALYZE every table (after `migrate`: new tables and indexes get statistics at once)."""
    if not _postgres(using):
        return False
    with connections[using].cursor() as cursor:
        cursor.execute("ANALYZE")
    return True


def after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate handler: Django sends it once per app; analyze once, after the last app, when
    migrations ran (`flush` between tests sends it too, without a plan)."""
    if not kwargs.get("plan"):
        return
    # Django skips apps without a models module when it sends the signal.
    configs = [c for c in apps.get_app_configs() if c.models_module is not None]
    if configs and sender is configs[-1] and analyze_database(using):
        log.info("ANALYZE after migrate (%s)", using)


def iterate(queryset: models.QuerySet, chunk_size: int = 2000) -> Iterator:
    """The queryset's rows in its order, at most `chunk_size` in memory, on every setup.

    `QuerySet.iterator()` streams through a server-side cursor, but under PgBouncer in
    transaction mode DISABLE_SERVER_SIDE_CURSORS is on and it silently fetches every row into
    the client at once. Here, then, the cursor is opened inside a transaction (which PgBouncer
    keeps on one server connection, and which closes the cursor when it ends). The database is
    chosen now, at the call (inside the request that may read from a replica), not when a
    streaming response is consumed."""
    alias = queryset.db
    queryset = queryset.using(alias)
    settings_dict = connections[alias].settings_dict
    if not (_postgres(alias) and settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")):
        return queryset.iterator(chunk_size=chunk_size)
    return _in_transaction(queryset, alias, chunk_size)


def _in_transaction(queryset: models.QuerySet, alias: str, chunk_size: int) -> Iterator:
    with transaction.atomic(using=alias):
        # The iterable the queryset would use, asked for a chunked (named-cursor) fetch directly:
        # QuerySet.iterator() is what consults DISABLE_SERVER_SIDE_CURSORS, not the compiler.
        yield from queryset._iterable_class(queryset, chunked_fetch=True, chunk_size=chunk_size)
