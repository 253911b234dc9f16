"""The one writer of readings: every `clinical.Observation` row, from a device, an
import or a person, lands through `store()` (or, for a caller that writes other rows
in the same transaction, `prepare` + `write_readings` + `data_arrived`).

It lives with the model it writes. Wearables (providers, Apple Health, the companion
app's batches, Garmin push) call it through `wearables.ingest.store`, which adds the
days of `wearables.DailyMetric` in the same transaction; people's entries come
through `clinical.observations.observation_record`, which calls `store` directly.

Idempotent by construction: observations are keyed (patient, source, metric,
effective_at); sending the same readings again updates in place and adds no rows.
On PostgreSQL readings are COPY'd into a temporary staging table and merged with one
INSERT ... ON CONFLICT (the ingest budget is >= 30% of raw COPY speed); elsewhere
(SQLite for `make run`) Django's bulk upsert does the same job. Each reading is
classified at write time (`clinical.interpret`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from clinical.interpret import interpret
from clinical.metrics import METRICS
from clinical.models import Observation
from patients.models import Patient

# Sent once per write, after the transaction that stored the data commits: the rules
# engine listens (clinical/triggers.py). kwargs: patient_id, source, metrics (set of
# metric codes), days (set of local dates of daily summaries written with them).
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


def prepare(readings: Iterable[Reading]) -> list[Reading]:
    """Check every reading (InvalidReading before anything is written) and keep the last
    one per (metric, effective_at): ON CONFLICT can't touch one row twice in a statement."""
    unique: dict[tuple, Reading] = {}
    for r in readings:
        check(r)
        unique[(r.metric, r.effective_at)] = r
    return list(unique.values())


def store(patient: Patient, source: str, readings: Iterable[Reading] = ()) -> int:
    """Upsert one patient's readings from one source, move the patient's last data time,
    and tell the rules engine once the transaction commits. Returns the rows written."""
    rows = prepare(readings)
    if not rows:
        return 0
    with transaction.atomic():
        written = write_readings(patient=patient, source=source, readings=rows)
        data_arrived(patient=patient, source=source, latest=latest_moment(rows),
                     metrics={r.metric for r in rows}, days=set())
    return written


def write_readings(*, patient: Patient, source: str, readings: list[Reading]) -> int:
    """Upsert readings already through `prepare`. Sends nothing: the caller, inside its
    own transaction, calls `data_arrived` once for everything it wrote."""
    written = 0
    for start in range(0, len(readings), CHUNK):
        written += _upsert(patient, source, readings[start:start + CHUNK])
    return written


def latest_moment(readings: list[Reading]) -> datetime | None:
    """The newest moment the readings describe (an interval's end, else its time)."""
    return max((r.end_at or r.effective_at for r in readings), default=None)


def data_arrived(*, patient: Patient, source: str, latest: datetime | None, metrics: set[str],
                 days: set) -> None:
    """After a write: move `Patient.last_data_at` to `latest` (never backwards, never into
    the future: device clocks lie) and queue `data_ingested` for after the commit.

    Precondition: called inside the transaction that wrote the data."""
    if latest is not None:
        latest = min(latest, timezone.now())
        Patient.objects.filter(pk=patient.pk).filter(
            Q(last_data_at__isnull=True) | Q(last_data_at__lt=latest)
        ).update(last_data_at=latest)
    patient_id = patient.pk
    # Looked up at send time (not bound now), so a benchmark can swap the module's signal.
    transaction.on_commit(lambda: data_ingested.send(
        sender=Observation, patient_id=patient_id, source=source, metrics=metrics, days=days))


_COLUMNS = ("id", "project_id", "patient_id", "program_id", "metric", "value", "value2", "unit", "effective_at",
            "end_at", "source", "device", "method", "context", "external_id", "details", "interpretation",
            "category", "created_at")
_UPDATED = ("value", "value2", "unit", "end_at", "device", "method", "context", "external_id", "details",
            "interpretation", "category")


def _upsert(patient: Patient, source: str, rows: list[Reading]) -> int:
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _upsert_pg(patient, source, rows)
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


def _upsert_pg(patient: Patient, source: str, rows: list[Reading]) -> int:
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
        # created_at is the app's clock, as on SQLite and for auto_now_add: the database's now()
        # is the transaction's start, which sorts a reading before an alert raised earlier in it.
        select = ", ".join(["gen_random_uuid()", *stage_cols, "%s"])
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED)
        changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _UPDATED)
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {select} FROM _obs_stage "  # noqa: S608
            f"ON CONFLICT (patient_id, source, metric, effective_at) DO UPDATE SET {updates} WHERE {changed}",
            [timezone.now()],
        )
        cursor.execute("TRUNCATE _obs_stage")
    return len(rows)
