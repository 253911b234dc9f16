"""Wearables' side of ingest: `store()` takes one patient's readings *and* daily
summaries from one source, as every provider, Apple Health import, companion-app
batch and Garmin push produces them, and writes both in one transaction.

Readings belong to `clinical.Observation` and are written by clinical's one writer
(`clinical.ingest`: checks, classification, the COPY/ON CONFLICT upsert); this module
adds only what is wearables' own, the days of `wearables.DailyMetric`, and then
reports the whole write once (`clinical.ingest.data_arrived`: last data time, the
`data_ingested` signal after commit). Dependencies point one way: wearables imports
clinical, never the reverse.

Idempotent: days are keyed (patient, date, source) and merged field by field, so
sending the same data again updates in place and adds no rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clinical import ingest as clinical_ingest
from clinical.ingest import InvalidReading, Reading, check
from patients.models import Patient
from wearables.models import DAILY_FIELDS, DailyMetric

# Providers and importers build these with the days (`from wearables.ingest import Daily, Reading`).
__all__ = ["Daily", "InvalidReading", "Reading", "Stored", "check", "day_bounds", "local_date", "store"]


@dataclass(slots=True)
class Daily:
    """Some of one day's summary values (a subset of DAILY_FIELDS)."""

    date: date
    values: dict = field(default_factory=dict)


@dataclass(slots=True)
class Stored:
    readings: int = 0
    days: int = 0

    @property
    def total(self) -> int:
        return self.readings + self.days


def store(patient: Patient, source: str, readings: Iterable[Reading] = (), dailies: Iterable[Daily] = ()) -> Stored:
    """Upsert readings (through clinical's writer) and daily values for one patient and
    source, in one transaction, reported once. Nothing is written if any input is invalid."""
    rows = clinical_ingest.prepare(readings)
    merged: dict[date, dict] = {}
    for d in dailies:
        values = {k: v for k, v in d.values.items() if v is not None and v != ""}
        unknown = set(values) - set(DAILY_FIELDS)
        if unknown:
            raise InvalidReading(f"unknown daily fields {sorted(unknown)}")
        if values:
            merged.setdefault(d.date, {}).update(values)

    result = Stored()
    if not rows and not merged:
        return result
    with transaction.atomic():
        result.readings = clinical_ingest.write_readings(patient=patient, source=source, readings=rows)
        if merged:
            result.days = _upsert_days(patient, source, merged)
        clinical_ingest.data_arrived(
            patient=patient, source=source, latest=_latest(patient, rows, merged),
            metrics={r.metric for r in rows} | {k for v in merged.values() for k in v}, days=set(merged))
    return result


def _latest(patient: Patient, rows: list[Reading], merged: dict) -> datetime | None:
    """The newest moment the data describes (clinical.ingest caps it at now)."""
    candidates = [m for m in (clinical_ingest.latest_moment(rows),) if m is not None]
    if merged:
        tz = patient.program.tz if patient.program_id else UTC
        # A day's summary counts as data from that day's noon, local time.
        candidates.append(datetime.combine(max(merged), time(12), tzinfo=tz))
    return max(candidates) if candidates else None


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
