"""The normalizing upsert: every reading and daily value from every source lands
through `store()`.

Idempotent by construction: observations are keyed (patient, source, metric,
effective_at) and days (patient, date, source); sending the same data again
updates in place and adds no rows. On PostgreSQL readings are COPY'd into a
temporary staging table and merged with one INSERT ... ON CONFLICT (the ingest
budget is >= 30% of raw COPY speed); elsewhere (SQLite for `make run`) Django's
bulk upsert does the same job.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from clinical.interpret import interpret
from clinical.metrics import METRICS
from clinical.models import Observation
from patients.models import Patient
from wearables.models import DAILY_FIELDS, DailyMetric

# Sent after the transaction that stored data commits: the rules engine listens.
# kwargs: patient_id, source, metrics (set of metric codes), days (set of dates).
data_ingested = Signal()

CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Reading:
    """One normalized reading, already in the metric's canonical unit."""

    metric: str
    effective_at: datetime
    value: float
    value2: float | None = None
    end_at: datetime | None = None
    method: str = ""
    context: str = ""
    device: str = ""
    external_id: str = ""
    details: dict | None = None


@dataclass(slots=True)
class Daily:
    """Some of one day's summary values (a subset of DAILY_FIELDS)."""

    date: date
    values: dict = field(default_factory=dict)


class InvalidReading(ValueError):
    pass


def check(reading: Reading) -> Reading:
    """Refuse what can't be stored honestly: unknown metric, naive time, NaN."""
    if reading.metric not in METRICS:
        raise InvalidReading(f"unknown metric {reading.metric!r}")
    if reading.effective_at is None or timezone.is_naive(reading.effective_at):
        raise InvalidReading("time without a time zone")
    for v in (reading.value, reading.value2):
        if v is not None and (not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v)):
            raise InvalidReading(f"value {v!r} is not a finite number")
    if reading.metric == "hrv" and reading.method not in ("rmssd", "sdnn"):
        raise InvalidReading("HRV needs its method (rmssd or sdnn)")
    return reading


@dataclass(slots=True)
class Stored:
    readings: int = 0
    days: int = 0

    @property
    def total(self) -> int:
        return self.readings + self.days


def store(patient: Patient, source: str, readings: Iterable[Reading] = (), dailies: Iterable[Daily] = ()) -> Stored:
    """Upsert readings and daily values for one patient and source."""
    # Last one wins within a batch: ON CONFLICT can't touch one row twice.
    unique: dict[tuple, Reading] = {}
    for r in readings:
        check(r)
        unique[(r.metric, r.effective_at)] = r
    merged: dict[date, dict] = {}
    for d in dailies:
        values = {k: v for k, v in d.values.items() if v is not None and v != ""}
        unknown = set(values) - set(DAILY_FIELDS)
        if unknown:
            raise InvalidReading(f"unknown daily fields {sorted(unknown)}")
        if values:
            merged.setdefault(d.date, {}).update(values)

    result = Stored()
    with transaction.atomic():
        rows = list(unique.values())
        for start in range(0, len(rows), CHUNK):
            result.readings += _upsert_readings(patient, source, rows[start:start + CHUNK])
        if merged:
            result.days = _upsert_days(patient, source, merged)
        latest = _latest(patient, rows, merged)
        if latest is not None:
            Patient.objects.filter(pk=patient.pk).filter(
                Q(last_data_at__isnull=True) | Q(last_data_at__lt=latest)
            ).update(last_data_at=latest)
        if rows or merged:
            metrics = {r.metric for r in rows} | {k for v in merged.values() for k in v}
            days = set(merged)
            transaction.on_commit(lambda: data_ingested.send(
                sender=Observation, patient_id=patient.pk, source=source, metrics=metrics, days=days))
    return result


def _latest(patient: Patient, rows: list[Reading], merged: dict) -> datetime | None:
    """The newest moment the data describes, never in the future (device clocks lie)."""
    now = timezone.now()
    candidates = [r.end_at or r.effective_at for r in rows]
    if merged:
        tz = patient.program.tz if patient.program_id else UTC
        # A day's summary counts as data from that day's noon, local time.
        candidates.append(datetime.combine(max(merged), time(12), tzinfo=tz))
    return min(max(candidates), now) if candidates else None


_COLUMNS = ("id", "project_id", "patient_id", "program_id", "metric", "value", "value2", "unit", "effective_at",
            "end_at", "source", "device", "method", "context", "external_id", "details", "interpretation",
            "category", "created_at")
_UPDATED = ("value", "value2", "unit", "end_at", "device", "method", "context", "external_id", "details",
            "interpretation", "category")


def _upsert_readings(patient: Patient, source: str, rows: list[Reading]) -> int:
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _upsert_readings_pg(patient, source, rows)
    now = timezone.now()
    objs = []
    for r in rows:
        interpretation, category = interpret(r.metric, float(r.value), r.value2, r.context)
        objs.append(Observation(
            project_id=patient.project_id, patient_id=patient.pk, program_id=patient.program_id, metric=r.metric,
            value=float(r.value), value2=r.value2, unit=METRICS[r.metric].unit, effective_at=r.effective_at,
            end_at=r.end_at, source=source, device=r.device[:200], method=r.method, context=r.context,
            external_id=r.external_id[:100], details=r.details, interpretation=interpretation, category=category,
            created_at=now))
    Observation.objects.bulk_create(objs, batch_size=500, update_conflicts=True,
                                    unique_fields=["patient", "source", "metric", "effective_at"],
                                    update_fields=list(_UPDATED))
    return len(objs)


def _upsert_readings_pg(patient: Patient, source: str, rows: list[Reading]) -> int:
    import json

    table = Observation._meta.db_table
    stage_cols = [c for c in _COLUMNS if c not in ("id", "created_at")]
    with connection.cursor() as cursor:
        # Same column types, no constraints; one per connection, emptied after each use.
        # Every identifier in these statements is a constant of this module (no input).
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS _obs_stage AS SELECT {', '.join(stage_cols)} "  # noqa: S608
                       f"FROM {table} WITH NO DATA")
        raw = cursor.cursor  # the psycopg cursor: COPY is not in Django's API
        with raw.copy(f"COPY _obs_stage ({', '.join(stage_cols)}) FROM STDIN") as copy:
            for r in rows:
                value = float(r.value)
                copy.write_row((patient.project_id, patient.pk, patient.program_id, r.metric, value,
                                r.value2, METRICS[r.metric].unit, r.effective_at, r.end_at, source,
                                r.device[:200], r.method, r.context, r.external_id[:100],
                                json.dumps(r.details) if r.details is not None else None,
                                *interpret(r.metric, value, r.value2, r.context)))
        cols = ", ".join(_COLUMNS)
        select = ", ".join(["gen_random_uuid()", *stage_cols, "now()"])
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED)
        changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _UPDATED)
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {select} FROM _obs_stage "  # noqa: S608
            f"ON CONFLICT (patient_id, source, metric, effective_at) DO UPDATE SET {updates} WHERE {changed}"
        )
        cursor.execute("TRUNCATE _obs_stage")
    return len(rows)


def _upsert_days(patient: Patient, source: str, merged: dict[date, dict]) -> int:
    """Field-by-field merge: a provider's sleep endpoint and its recovery endpoint
    fill different columns of the same day without erasing each other."""
    existing = {m.date: m for m in DailyMetric.objects.select_for_update().filter(
        patient=patient, source=source, date__in=list(merged))}
    new, changed, touched = [], [], set()
    for day, values in merged.items():
        metric = existing.get(day)
        if metric is None:
            new.append(DailyMetric(id=uuid.uuid4(), project_id=patient.project_id, patient_id=patient.pk,
                                   program_id=patient.program_id, date=day, source=source, **values))
            continue
        diff = {k: v for k, v in values.items() if getattr(metric, k) != v}
        if diff:
            for k, v in diff.items():
                setattr(metric, k, v)
            metric.updated_at = timezone.now()  # bulk_update skips auto_now
            changed.append(metric)
            touched |= set(diff)
    DailyMetric.objects.bulk_create(new)
    if changed:
        DailyMetric.objects.bulk_update(changed, [*sorted(touched), "updated_at"])
    return len(merged)


def local_date(moment: datetime, patient: Patient) -> date:
    """The day a moment belongs to in the patient's program time zone (DESIGN.md: Time)."""
    tz = patient.program.tz if patient.program_id else UTC
    return moment.astimezone(tz).date()


def day_bounds(day: date, patient: Patient) -> tuple[datetime, datetime]:
    tz = patient.program.tz if patient.program_id else UTC
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
