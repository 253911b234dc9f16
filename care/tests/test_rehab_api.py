"""Rehab's API for the patient's app: the same service as the portal (chest pain alerts at once),
400 with field errors, another patient's prescription 404, the daily score with its components."""

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from care.demo import ensure_library
from care.models import ExerciseLog
from care.services import rehab
from clinical.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world):
    client = APIClient()
    client.force_authenticate(world.patient_user)
    return client


def _rx(world, patient, **kw):
    ensure_library(world.project)
    return rehab.prescription_create(patient=patient, actor=world.clinician, via="test", data=rehab.PrescriptionIn(
        exercise=rehab.exercises_for(patient).get(name="Walking"), minutes=20, sessions_per_week=4,
        hrr_low=Decimal("0.4"), hrr_high=Decimal("0.6"), resting_hr=70, max_hr=150,
        start_date=patient.today - timedelta(days=1), **kw))


def test_log_with_chest_pain_alerts_and_lists(world, api):
    rx = _rx(world, world.me)
    r = api.post("/api/v1/me/exercise-logs/", {"duration_min": 12, "prescription": str(rx.pk), "rpe": 14,
                                               "symptoms": ["chest_pain"]}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["symptoms"] == ["chest_pain"]
    assert Alert.objects.get(patient=world.me).rule.code == rehab.CHEST_PAIN_RULE
    listed = api.get("/api/v1/me/exercise-logs/").json()
    assert [row["id"] for row in listed] == [r.json()["id"]]


def test_bad_input_and_other_patients_prescription(world, api):
    rx = _rx(world, world.me)
    r = api.post("/api/v1/me/exercise-logs/", {"duration_min": 0, "prescription": str(rx.pk), "rpe": 25},
                 format="json")
    assert r.status_code == 400 and "duration_min" in r.json() and "rpe" in r.json()
    r = api.post("/api/v1/me/exercise-logs/", {"duration_min": 10, "symptoms": ["headache"]}, format="json")
    assert r.status_code == 400 and "symptoms" in r.json()
    other = _rx(world, world.cardiac_patients[1])
    r = api.post("/api/v1/me/exercise-logs/", {"duration_min": 10, "prescription": str(other.pk)}, format="json")
    assert r.status_code == 404
    assert not ExerciseLog.objects.exists()
    staff = APIClient()
    staff.force_authenticate(world.clinician)
    assert staff.get("/api/v1/me/exercise-logs/").status_code == 404
    assert APIClient().get("/api/v1/me/exercise-logs/").status_code in (401, 403)


def test_daily_score(world, api):
    _rx(world, world.me)
    r = api.get("/api/v1/me/daily-score/")
    assert r.status_code == 200
    body = r.json()
    assert {c["key"] for c in body["components"]} == {"medication", "exercise", "nutrition", "sleep", "vitals"}
    assert all("weight" in c and "detail" in c for c in body["components"])
    assert api.get("/api/v1/me/daily-score/?date=tomorrow").status_code == 400
