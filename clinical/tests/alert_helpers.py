"""Helpers for the rules/alerts tests: readings through the real writer
(clinical.ingest.store, which classifies them), device days through wearables'
(the daily rules read wearables.DailyMetric), rules from the default set."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from clinical import ingest
from clinical.default_rules import ensure_default_rules
from clinical.models import ClinicalRule
from wearables import ingest as wearables_ingest

NOW = datetime(2026, 3, 10, 20, 0, tzinfo=timezone.get_fixed_timezone(0))


def ago(days: float = 0, hours: float = 0, now: datetime = NOW) -> datetime:
    return now - timedelta(days=days, hours=hours)


def reading(patient, metric, value, at, value2=None, *, context="", method="", source="withings"):
    """Store one reading (no on-commit evaluation runs: tests call the engine themselves)."""
    ingest.store(patient, source, readings=[ingest.Reading(metric, at, float(value),
                                                           None if value2 is None else float(value2),
                                                           context=context, method=method)])


def bp(patient, systolic, diastolic, at, context="home", source="withings"):
    reading(patient, "blood_pressure", systolic, at, diastolic, context=context, source=source)


def day_of(now: datetime, patient) -> date:
    return now.astimezone(patient.program.tz).date()


def dailies(patient, values: dict[int, float], field: str, *, now=NOW, source="oura", method="rmssd"):
    """values: {days before today (local): value}."""
    today = day_of(now, patient)
    rows = []
    for back, value in values.items():
        data = {field: value}
        if field == "hrv_ms":
            data["hrv_method"] = method
        rows.append(wearables_ingest.Daily(today - timedelta(days=back), data))
    wearables_ingest.store(patient, source, dailies=rows)


def local(patient, days_back: int, hour: int, now=NOW) -> datetime:
    return datetime.combine(day_of(now, patient) - timedelta(days=days_back), time(hour), tzinfo=patient.program.tz)


def default_rule(program, code: str) -> ClinicalRule:
    ensure_default_rules(program)
    return ClinicalRule.objects.get(program=program, code=code)
