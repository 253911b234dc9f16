"""Demo rules and alerts for `manage.py seed_demo`.

Every program gets the default rule set; Kai (cardiac) gets a week of home blood
pressure readings with one crisis value yesterday, one metabolic patient a low
glucose; then every active demo patient is evaluated, so the triage queue shows
real alerts built from real readings. Readings go through clinical.ingest.store
(the upsert) at fixed local times relative to today: a re-run the same day adds
nothing, and evaluation updates the open alerts rather than adding any.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from clinical import alerting, ingest
from clinical.default_rules import ensure_default_rules
from patients.models import Patient, Program

KAI_MRN = "MD-KAI0001"
# (days ago, hour, systolic, diastolic): a week of home readings, stage 2 on average, crisis yesterday.
KAI_HOME_BP = [(6, 7, 138, 86), (5, 7, 141, 88), (4, 8, 136, 84), (3, 7, 144, 90), (2, 7, 139, 87),
               (1, 7, 184, 96), (0, 7, 146, 91)]


def _at(patient, days_ago: int, hour: int) -> datetime:
    tz = patient.tz
    today = timezone.now().astimezone(tz).date()
    return datetime.combine(today - timedelta(days=days_ago), time(hour, 0), tzinfo=tz)


def seed_clinical() -> dict:
    rules = sum(ensure_default_rules(p) for p in Program.objects.select_related("project"))
    patients = Patient.objects.select_related("program", "project")
    kai = patients.filter(mrn=KAI_MRN).first()
    if kai is not None:
        ingest.store(kai, "withings", readings=[
            ingest.Reading("blood_pressure", _at(kai, ago, hour), float(sys), float(dia), context="home",
                           device="Withings BPM Connect") for ago, hour, sys, dia in KAI_HOME_BP])
    low = patients.filter(program__name="Metabolic Health", status="active").order_by("mrn").first()
    if low is not None:
        ingest.store(low, "patient", readings=[
            ingest.Reading("glucose", _at(low, 1, 6), 62.0, context="fasting"),
            ingest.Reading("glucose", _at(low, 0, 6), 88.0, context="fasting")])
    fired = 0
    for patient in patients.filter(status="active", project__slug="mahalo-demo"):
        fired += sum(1 for o in alerting.evaluate_patient(patient) if o.result.fired)
    return {"rules": rules, "fired": fired}
