"""The daily score (issue 17): a transparent composition whose weights are a program setting; a part
without data is not counted; the portal shows each part with its weight and facts; week_scores for
the weekly summary; the registry's rehab columns and filters."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from care.demo import ensure_library
from care.models import DailyScore, MedicationDose, RehabSession
from care.services import rehab, scores
from care.tests.factories import dose, medication
from mahalo.models import ProgramSetting

pytestmark = pytest.mark.django_db


@pytest.fixture
def kai(world):
    patient = world.me
    patient.resting_heart_rate, patient.max_heart_rate = 70, 150
    patient.save()
    ensure_library(world.project)
    return patient


def _setup_day(world, patient):
    walking = rehab.exercises_for(patient).get(name="Walking")
    rx = rehab.prescription_create(patient=patient, actor=world.clinician, via="test", data=rehab.PrescriptionIn(
        exercise=walking, minutes=20, sessions_per_week=4, hrr_low=Decimal("0.4"), hrr_high=Decimal("0.6"),
        start_date=patient.today - timedelta(days=10)))
    # 40 of 80 prescribed minutes in the last 7 days -> exercise 50
    rehab.exercise_log(patient=patient, actor=world.patient_user, data=rehab.LogIn(
        duration_min=40, prescription=rx, performed_at=datetime.combine(patient.today, time(0, 1), tzinfo=patient.tz)))
    med = medication(patient, world.clinician, times=[time(8)])
    med.doses.all().delete()
    now = timezone.now()
    start = datetime.combine(patient.today, time(0, 0), tzinfo=patient.tz)
    # three doses today with known outcomes: 2 taken, 1 missed -> medication 67
    for i, status in enumerate(["taken", "taken", "missed"]):
        at = min(start + timedelta(minutes=10 * (i + 1)), now - timedelta(minutes=1))
        d = dose(med, at - timedelta(seconds=i), status=status)
        assert d.local_date == patient.today
    scores.sleep_log(patient=patient, actor=world.patient_user, night=patient.today, quality=4, interruptions=1)
    return rx


def test_components_weights_and_the_overall(world, kai):
    _setup_day(world, kai)
    view = scores.compute(kai, kai.today)
    parts = {c["key"]: c for c in view["components"]}
    assert parts["medication"]["score"] == 67 and parts["medication"]["detail"] == "2 of 3 doses taken"
    assert parts["exercise"]["score"] == 50 and parts["exercise"]["detail"].startswith("40 of 80 prescribed minutes")
    assert parts["sleep"]["score"] == 80 and "4/5" in parts["sleep"]["detail"]
    assert parts["nutrition"]["score"] is None and parts["vitals"]["score"] is None  # not counted
    assert {k: c["weight"] for k, c in parts.items()} == {k: float(v) for k, v in scores.DEFAULT_WEIGHTS.items()}
    # weighted over the counted parts: (30*67 + 25*50 + 15*80) / 70 = 63.7
    assert view["overall"] == 64
    assert view["highlights"] == ["Sleep: You rated it 4/5, 1 interruption"]
    assert view["misses"] == ["Exercise: 40 of 80 prescribed minutes in the 7 days to this day"]
    assert sum(c["points"] for c in view["components"] if c["points"] is not None) in (63, 64, 65)


def test_weights_are_a_program_setting(world, kai):
    _setup_day(world, kai)
    ProgramSetting.objects.create(program=kai.program, key=scores.WEIGHTS_SETTING,
                                  value='{"medication": 0, "exercise": 100, "nutrition": 0, "sleep": 0, "vitals": 0}')
    assert scores.compute(kai, kai.today)["overall"] == 50
    ProgramSetting.objects.filter(program=kai.program).update(value="not json")
    assert scores.weights_for(kai) == {k: float(v) for k, v in scores.DEFAULT_WEIGHTS.items()}  # bad edit: default


def test_portal_shows_the_score_explained(world, kai, login):
    _setup_day(world, kai)
    page = login(world.patient_user).get("/portal/today/").content.decode()
    assert "2 of 3 doses taken" in page and "not counted" in page and "Lowered it:" in page and ">64<" in page
    assert DailyScore.objects.get(patient=kai, date=kai.today).overall == 64


def test_week_scores_for_the_weekly_summary(world, kai):
    _setup_day(world, kai)
    start = kai.today - timedelta(days=kai.today.weekday())
    week = scores.week_scores(kai, start)
    assert [d["date"] for d in week] == [start + timedelta(days=i) for i in range((kai.today - start).days + 1)]
    assert week[-1]["overall"] == 64 and {"components", "highlights", "misses"} <= set(week[-1])
    assert scores.week_scores(kai, kai.today + timedelta(days=1)) == []  # nothing in the future


def test_registry_columns_and_filters(world, kai, login):
    walking = rehab.exercises_for(kai).get(name="Walking")
    rx = rehab.prescription_create(patient=kai, actor=world.clinician, via="test", data=rehab.PrescriptionIn(
        exercise=walking, minutes=20, sessions_per_week=4, hrr_low=Decimal("0.4"), hrr_high=Decimal("0.6"),
        start_date=kai.today))
    rehab.exercise_log(patient=kai, actor=world.patient_user, data=rehab.LogIn(
        duration_min=10, prescription=rx, symptoms=["dizziness"]))
    RehabSession.objects.create(project=world.project, patient=kai, starts_at=timezone.now(), local_date=kai.today,
                                status="attended")
    c = login(world.clinician)
    page = c.get("/patients/").content.decode()
    assert "Rehab sessions this week" in page and "Exercise symptoms (7 days)" in page
    r = c.get("/patients/?exercise_symptoms=any")
    assert r.status_code == 200 and "Portal" in r.content.decode()
    names = r.content.decode()
    assert world.cardiac_patients[1].last_name not in names
    r = c.get("/patients/?rehab_sessions_week=1")
    assert "Portal" in r.content.decode()
    assert c.get("/patients/?exercise_symptoms=lots").status_code in (200, 400)
    assert "Choose any or none." in c.get("/patients/?exercise_symptoms=lots").content.decode()
    csv = b"".join(c.get("/patients/export.csv?exercise_symptoms=any").streaming_content).decode()
    assert "Exercise symptoms (7 days)" in csv


def test_missed_dose_status_is_not_counted_while_scheduled(world, kai):
    med = medication(kai, world.clinician, times=[time(8)])
    med.doses.all().delete()
    dose(med, timezone.now() - timedelta(minutes=1), status=MedicationDose.Status.SCHEDULED)
    parts = {c["key"]: c for c in scores.compute(kai, kai.today)["components"]}
    assert parts["medication"]["score"] is None
