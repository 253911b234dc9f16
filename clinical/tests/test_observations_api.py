"""/api/v1/patients/<uuid>/observations/ and /api/v1/me/observations/: the gate, the
classification in every item, and bad input (400, nothing stored)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clinical import classify
from clinical.models import Observation
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def url(patient):
    return f"/api/v1/patients/{patient.pk}/observations/"


ME = "/api/v1/me/observations/"


def at(minutes_ago=10):
    return (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()


def bp(sys=134, dia=82, setting="home", **extra):
    return {"metric": "blood_pressure", "value": sys, "value2": dia, "unit": "mmHg", "effective_at": at(),
            "context": setting, **extra}


def test_staff_post_returns_the_acc_aha_category_of_the_setting(world, api_login):
    api = api_login(world.clinician)
    patient = world.cardiac_patients[1]
    home = api.post(url(patient), bp(136, 82, "home"), format="json")
    assert home.status_code == 201, home.json()
    body = home.json()
    # 136/82 at home is stage 2 (home line 135/85); the same in the office is stage 1.
    assert body["category"] == "stage_2" == classify.bp_category(136, 82, "home")
    assert body["interpretation"] == "abnormal"
    assert body["category_source"] == classify.BP_SOURCE
    assert body["source"] == "staff" and body["entered_by"]
    office = api.post(url(patient), bp(136, 82, "office", effective_at=at(30)), format="json").json()
    assert office["category"] == "stage_1"
    obs = Observation.objects.get(pk=body["id"])
    assert obs.entered_by == world.clinician and obs.context == "home"
    assert AuditEvent.objects.filter(action="write", resource="clinical", object_id=str(obs.pk)).exists()


def test_units_are_converted_and_what_was_typed_is_kept(world, api_login):
    api = api_login(world.clinician)
    patient = world.cardiac_patients[1]
    r = api.post(url(patient), {"metric": "body_temperature", "value": 100.4, "unit": "°F", "effective_at": at()},
                 format="json")
    assert r.status_code == 201
    assert r.json()["unit"] == "Cel" and r.json()["value"] == pytest.approx(38.0)
    assert r.json()["entered"] == {"value": 100.4, "unit": "°F"}
    g = api.post(url(patient), {"metric": "glucose", "value": 7.0, "unit": "mmol/L", "context": "fasting",
                                "effective_at": at(20)}, format="json").json()
    assert g["value"] == pytest.approx(126.112) and g["unit"] == "mg/dL"
    assert g["category"] == "diabetes" and g["category_source"] == classify.GLUCOSE_SOURCE


def test_weight_computes_bmi_with_the_patients_height(world, api_login):
    patient = world.cardiac_patients[1]
    patient.height_cm = Decimal("180.0")
    patient.save()
    r = api_login(world.clinician).post(url(patient), {"metric": "weight", "value": 200, "unit": "lb",
                                                       "effective_at": at()}, format="json")
    assert r.status_code == 201
    kg = 200 * 0.45359237
    bmi = Observation.objects.get(patient=patient, metric="bmi")
    assert bmi.value == pytest.approx(kg / 1.8 ** 2, abs=0.01)
    assert bmi.category == classify.bmi_category(bmi.value) == "pre_obese"
    assert bmi.source == "staff" and bmi.entered_by == world.clinician
    assert bmi.details["computed_from"]["height_cm"] == 180.0


def test_no_height_no_bmi(world, api_login):
    patient = world.cardiac_patients[2]
    patient.height_cm = None
    patient.save()
    api_login(world.clinician).post(url(patient), {"metric": "weight", "value": 80, "unit": "kg",
                                                   "effective_at": at()}, format="json")
    assert not Observation.objects.filter(patient=patient, metric="bmi").exists()


def test_impossible_values_are_kept_and_flagged_invalid(world, api_login):
    patient = world.cardiac_patients[1]
    r = api_login(world.clinician).post(url(patient), bp(1200, 80, "office"), format="json")
    assert r.status_code == 201
    assert r.json()["interpretation"] == "invalid" and r.json()["category"] == ""
    assert Observation.objects.get(pk=r.json()["id"]).value == 1200


def test_last_data_at_is_updated(world, api_login):
    patient = world.cardiac_patients[1]
    api_login(world.clinician).post(url(patient), {"metric": "spo2", "value": 88, "unit": "%",
                                                   "effective_at": at(1)}, format="json")
    patient.refresh_from_db()
    assert patient.last_data_at is not None


BAD = [
    ("unknown metric", {"metric": "mood", "value": 3, "unit": "pts"}, "metric"),
    ("bad unit", {"metric": "weight", "value": 80, "unit": "mmHg"}, "unit"),
    ("missing diastolic", {"metric": "blood_pressure", "value": 120, "unit": "mmHg", "context": "home"}, "value2"),
    ("BP without setting", {"metric": "blood_pressure", "value": 120, "value2": 80, "unit": "mmHg"}, "context"),
    ("non-numeric", {"metric": "weight", "value": "eighty", "unit": "kg"}, "value"),
    ("boolean", {"metric": "weight", "value": True, "unit": "kg"}, "value"),
    ("NaN", {"metric": "weight", "value": "NaN", "unit": "kg"}, "value"),
    ("naive datetime", {"metric": "weight", "value": 80, "unit": "kg", "effective_at": "2026-01-02T08:00:00"},
     "effective_at"),
    ("future", {"metric": "weight", "value": 80, "unit": "kg",
                "effective_at": (timezone.now() + timedelta(hours=2)).isoformat()}, "effective_at"),
    ("bad glucose context", {"metric": "glucose", "value": 90, "unit": "mg/dL", "context": "after_lunch"},
     "context"),
    ("value2 on weight", {"metric": "weight", "value": 80, "value2": 3, "unit": "kg"}, "value2"),
    ("no value", {"metric": "weight", "unit": "kg"}, "value"),
]


@pytest.mark.parametrize(("case", "payload", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_400_with_field_errors_and_nothing_stored(world, api_login, case, payload, field):
    patient = world.cardiac_patients[1]
    payload = {"effective_at": at(), **payload}
    before = Observation.objects.count()
    r = api_login(world.clinician).post(url(patient), payload, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json(), r.json()
    assert Observation.objects.count() == before
    patient.refresh_from_db()
    assert patient.last_data_at is None


def test_a_different_reading_at_the_same_instant_is_refused_not_overwritten(world, api_login):
    api = api_login(world.clinician)
    patient = world.cardiac_patients[1]
    when = at(5)
    assert api.post(url(patient), bp(120, 78, "home", effective_at=when), format="json").status_code == 201
    again = api.post(url(patient), bp(120, 78, "home", effective_at=when), format="json")
    assert again.status_code == 201  # a retried request: same row
    other = api.post(url(patient), bp(150, 95, "home", effective_at=when), format="json")
    assert other.status_code == 400 and "effective_at" in other.json()
    assert Observation.objects.get(patient=patient, metric="blood_pressure").value == 120


def test_list_filters_and_classification(world, api_login):
    api = api_login(world.clinician)
    patient = world.cardiac_patients[1]
    api.post(url(patient), bp(118, 76, "office", effective_at=at(60 * 24 * 3)), format="json")
    api.post(url(patient), {"metric": "spo2", "value": 96, "unit": "%", "effective_at": at(5)}, format="json")
    everything = api.get(url(patient)).json()
    assert everything["count"] == 2
    assert [i["metric"] for i in everything["results"]] == ["spo2", "blood_pressure"]  # newest first
    only_bp = api.get(url(patient), {"metric": "blood_pressure"}).json()["results"]
    assert len(only_bp) == 1 and only_bp[0]["category"] == "normal"
    assert only_bp[0]["category_source"].startswith("ACC/AHA 2017")
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert [i["metric"] for i in api.get(url(patient), {"since": since}).json()["results"]] == ["spo2"]
    assert api.get(url(patient), {"source": "oura"}).json()["count"] == 0
    assert api.get(url(patient), {"metric": "nope"}).status_code == 400
    assert api.get(url(patient), {"since": "yesterday"}).status_code == 400


def test_anonymous_gets_401(world):
    api = APIClient()
    assert api.get(url(world.me)).status_code == 401
    assert api.post(url(world.me), bp(), format="json").status_code == 401
    assert api.get(ME).status_code == 401
    assert api.post(ME, bp(), format="json").status_code == 401
    assert Observation.objects.count() == 0


def test_other_program_and_other_tenant_get_404(world, api_login):
    clinician = api_login(world.clinician)
    for patient in (world.metabolic_patients[0], world.foreign_patients[0]):
        assert clinician.get(url(patient)).status_code == 404
        assert clinician.post(url(patient), bp(), format="json").status_code == 404
    outsider = api_login(world.outsider)
    assert outsider.get(url(world.me)).status_code == 404
    assert outsider.post(url(world.me), bp(), format="json").status_code == 404
    assert Observation.objects.count() == 0


def test_read_only_role_cannot_post(world, api_login):
    r = api_login(world.dietitian).post(url(world.metabolic_patients[0]), bp(), format="json")
    assert r.status_code == 403
    assert api_login(world.dietitian).get(url(world.metabolic_patients[0])).status_code == 200
    assert Observation.objects.count() == 0


def test_patient_posts_only_for_themselves(world, api_login):
    api = api_login(world.patient_user)
    r = api.post(ME, {"metric": "weight", "value": 176, "unit": "lb", "effective_at": at()}, format="json")
    assert r.status_code == 201
    obs = Observation.objects.get(pk=r.json()["id"])
    assert obs.patient == world.me and obs.source == "patient" and obs.entered_by == world.patient_user
    # Someone else's record, or their own through the staff route: 404, nothing stored.
    assert api.post(url(world.cardiac_patients[1]), bp(), format="json").status_code == 404
    assert api.post(url(world.me), bp(), format="json").status_code == 404
    assert Observation.objects.count() == 1
    mine = api.get(ME).json()
    assert mine["count"] == 1 and mine["results"][0]["id"] == str(obs.pk)


def test_me_lists_only_my_readings(world, api_login):
    api_login(world.clinician).post(url(world.cardiac_patients[1]), bp(), format="json")
    assert api_login(world.patient_user).get(ME).json()["count"] == 0
    assert api_login(world.clinician).get(ME).status_code == 404  # staff have no "me" record


def test_patient_bad_input_is_400(world, api_login):
    r = api_login(world.patient_user).post(ME, {"metric": "glucose", "value": "abc", "unit": "mg/dL",
                                                "effective_at": at()}, format="json")
    assert r.status_code == 400 and "value" in r.json()
    assert Observation.objects.count() == 0


def test_old_dates_are_typos(world, api_login):
    r = api_login(world.clinician).post(url(world.cardiac_patients[1]), {
        "metric": "weight", "value": 80, "unit": "kg", "effective_at": datetime(1926, 1, 1, tzinfo=UTC).isoformat()},
        format="json")
    assert r.status_code == 400 and "effective_at" in r.json()
