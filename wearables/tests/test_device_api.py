"""Companion app batches (Samsung Health, Health Connect): validated, canonical units,
idempotent on the app's batch id, through the gate."""

import copy
from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from clinical.models import Observation
from mahalo.models import AuditEvent
from wearables.models import DailyMetric, DeviceBatch, SyncLog

ME = "/api/v1/me/device-readings/"


def staff_url(patient):
    return f"/api/v1/patients/{patient.pk}/device-readings/"


def jwt(user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return api


BATCH = {
    "source": "health_connect", "batch_id": "hc-2026-03-03-001", "device": "Pixel Watch 3",
    "readings": [
        {"metric": "weight", "value": 180, "unit": "lb", "effective_at": "2026-03-03T07:00:00-10:00"},
        {"metric": "body_temperature", "value": 98.6, "unit": "°F", "effective_at": "2026-03-03T07:05:00-10:00"},
        {"metric": "glucose", "value": 5.5, "unit": "mmol/L", "effective_at": "2026-03-03T07:10:00-10:00",
         "context": "fasting"},
        {"metric": "blood_pressure", "value": 128, "value2": 82, "unit": "mmHg",
         "effective_at": "2026-03-03T07:15:00-10:00", "context": "home"},
        {"metric": "hrv", "value": 41.5, "unit": "ms", "method": "rmssd", "context": "sleep",
         "effective_at": "2026-03-03T06:00:00-10:00"},
        {"metric": "sleep_session", "value": 450, "unit": "min", "effective_at": "2026-03-02T22:30:00-10:00",
         "end_at": "2026-03-03T06:00:00-10:00"},
        {"metric": "heart_rate", "value": 64, "unit": "bpm", "effective_at": "2026-03-03T17:00:00Z"},
    ],
    "daily": [{"date": "2026-03-03", "steps": 8421, "resting_hr": 59, "hrv_ms": 41.5, "hrv_method": "rmssd",
               "sleep_hours": 7.5}],
}


@pytest.mark.django_db
def test_patient_posts_a_batch_stored_in_canonical_units(world):
    response = jwt(world.patient_user).post(ME, BATCH, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["duplicate"] is False and body["readings"] == 7 and body["days"] == 1 and body["records"] == 8

    def obs(metric):
        return Observation.objects.get(patient=world.me, metric=metric, source="health_connect")

    assert obs("weight").value == pytest.approx(81.6466266) and obs("weight").unit == "kg"
    assert obs("body_temperature").value == pytest.approx(37.0) and obs("body_temperature").unit == "Cel"
    assert obs("glucose").value == pytest.approx(5.5 * 18.016) and obs("glucose").unit == "mg/dL"
    assert obs("glucose").context == "fasting"
    bp = obs("blood_pressure")
    assert (bp.value, bp.value2, bp.unit) == (128, 82, "mmHg")
    assert (obs("hrv").value, obs("hrv").method) == (41.5, "rmssd")
    assert obs("sleep_session").value == pytest.approx(7.5) and obs("sleep_session").unit == "h"
    assert obs("heart_rate").device == "Pixel Watch 3"
    day = DailyMetric.objects.get(patient=world.me, source="health_connect", date=date(2026, 3, 3))
    assert (day.steps, day.resting_hr, day.hrv_ms, day.hrv_method, day.sleep_hours) == (8421, 59, 41.5, "rmssd", 7.5)
    log = SyncLog.objects.get(patient=world.me, trigger="device_api")
    assert (log.source, log.status, log.records) == ("health_connect", "success", 8)
    batch = DeviceBatch.objects.get(patient=world.me)
    assert batch.client_batch_id == "hc-2026-03-03-001" and batch.submitted_by == world.patient_user
    assert AuditEvent.objects.filter(action="write", resource="wearables", patient=world.me).exists()
    world.me.refresh_from_db()
    assert world.me.last_data_at is not None


@pytest.mark.django_db
def test_resent_batch_returns_the_original_result_and_stores_nothing(world):
    api = jwt(world.patient_user)
    first = api.post(ME, BATCH, format="json").json()
    counts = (Observation.objects.count(), DailyMetric.objects.count(), SyncLog.objects.count())
    changed = copy.deepcopy(BATCH)
    changed["readings"][0]["value"] = 250  # same batch id: ignored, not an update
    again = api.post(ME, changed, format="json")
    assert again.status_code == 200
    assert again.json() == {**{k: first[k] for k in ("id", "batch_id", "source", "records", "received_at")},
                            "duplicate": True}
    assert (Observation.objects.count(), DailyMetric.objects.count(), SyncLog.objects.count()) == counts
    assert Observation.objects.get(metric="weight").value == pytest.approx(81.6466266)
    # The same id from the other phone source is another batch.
    other = api.post(ME, {**BATCH, "source": "samsung_health"}, format="json")
    assert other.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("item, field", [
    ({"metric": "weight", "value": 80, "unit": "bpm"}, "unit"),
    ({"metric": "weight", "value": 80, "unit": "furlongs"}, "unit"),
    ({"metric": "nonsense", "value": 1, "unit": "kg"}, "metric"),
    # Scores, safety answers and day totals come from our own services, never from a device.
    ({"metric": "phq9_total", "value": 3, "unit": "points"}, "metric"),
    ({"metric": "safety_answer", "value": 0, "unit": "points"}, "metric"),
    ({"metric": "sodium_intake", "value": 900, "unit": "mg"}, "metric"),
    ({"metric": "heart_rate", "value": 900, "unit": "bpm"}, "value"),
    ({"metric": "heart_rate", "value": "nan", "unit": "bpm"}, "value"),
    ({"metric": "heart_rate", "value": True, "unit": "bpm"}, "value"),
    ({"metric": "heart_rate", "value": 60, "unit": "bpm", "effective_at": "2026-03-03T07:00:00"}, "effective_at"),
    ({"metric": "heart_rate", "value": 60, "unit": "bpm", "effective_at": "yesterday"}, "effective_at"),
    ({"metric": "hrv", "value": 40, "unit": "ms"}, "method"),
    ({"metric": "blood_pressure", "value": 120, "unit": "mmHg"}, "value2"),
    ({"metric": "blood_pressure", "value": 80, "value2": 120, "unit": "mmHg"}, "value2"),
    ({"metric": "sleep_session", "value": 30, "unit": "h"}, "value"),
    ({"metric": "body_temperature", "value": 37, "unit": "°F"}, "value"),
])
def test_one_bad_item_refuses_the_batch_with_its_index_and_field(world, item, field):
    bad = {"effective_at": "2026-03-03T08:00:00-10:00", **item}
    payload = {**BATCH, "readings": [*BATCH["readings"][:2], bad, *BATCH["readings"][2:]]}
    response = jwt(world.patient_user).post(ME, payload, format="json")
    assert response.status_code == 400
    errors = response.json()["readings"]
    assert list(errors) == ["2"] and field in errors["2"]
    assert not Observation.objects.exists() and not DailyMetric.objects.exists()
    assert not DeviceBatch.objects.exists() and not SyncLog.objects.exists()


@pytest.mark.django_db
def test_future_times_bad_days_and_oversized_batches_are_refused(world):
    api = jwt(world.patient_user)
    later = (timezone.now() + timedelta(minutes=30)).isoformat()
    soon = (timezone.now() + timedelta(minutes=2)).isoformat()
    r = api.post(ME, {**BATCH, "readings": [{"metric": "heart_rate", "value": 60, "unit": "bpm",
                                              "effective_at": later}]}, format="json")
    assert r.status_code == 400 and "effective_at" in r.json()["readings"]["0"]
    future_day = (timezone.now() + timedelta(days=3)).date().isoformat()
    r = api.post(ME, {**BATCH, "daily": [{"date": "2026-03-01", "steps": 10},
                                         {"date": future_day, "steps": 10},
                                         {"date": "2026-03-02", "hrv_ms": 40},
                                         {"date": "03/04/2026", "steps": 1}]}, format="json")
    assert r.status_code == 400
    assert set(r.json()["daily"]) == {"1", "2", "3"} and "hrv_method" in r.json()["daily"]["2"]
    many = [{"metric": "heart_rate", "value": 60, "unit": "bpm",
             "effective_at": f"2026-03-01T00:00:{i % 60:02d}Z"} for i in range(5001)]
    r = api.post(ME, {**BATCH, "readings": many}, format="json")
    assert r.status_code == 400 and "readings" in r.json()
    r = api.post(ME, {"source": "apple_health", "batch_id": "x", "readings": BATCH["readings"]}, format="json")
    assert r.status_code == 400 and "source" in r.json()
    assert api.post(ME, {"source": "health_connect", "batch_id": "x"}, format="json").status_code == 400
    assert not Observation.objects.exists() and not DeviceBatch.objects.exists()
    # Within the five-minute slack a phone clock slightly ahead is fine.
    r = api.post(ME, {**BATCH, "readings": [{"metric": "heart_rate", "value": 60, "unit": "bpm",
                                              "effective_at": soon}], "daily": []}, format="json")
    assert r.status_code == 201


@pytest.mark.django_db
def test_unauthenticated_gets_401(world):
    assert APIClient().post(ME, BATCH, format="json").status_code == 401
    assert APIClient().post(staff_url(world.me), BATCH, format="json").status_code == 401
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert bad_token.post(ME, BATCH, format="json").status_code == 401
    assert not Observation.objects.exists()


@pytest.mark.django_db
def test_staff_post_for_their_patients_only(world, api_login):
    clinician = api_login(world.clinician)
    r = clinician.post(staff_url(world.cardiac_patients[1]), BATCH, format="json")
    assert r.status_code == 201
    assert Observation.objects.filter(patient=world.cardiac_patients[1]).count() == 7
    assert DeviceBatch.objects.get().submitted_by == world.clinician
    # Another program's patient, another tenant's patient, a missing id: all 404, nothing stored.
    before = Observation.objects.count()
    assert clinician.post(staff_url(world.metabolic_patients[0]), BATCH, format="json").status_code == 404
    assert clinician.post(staff_url(world.foreign_patients[0]), BATCH, format="json").status_code == 404
    assert clinician.post("/api/v1/patients/00000000-0000-0000-0000-000000000000/device-readings/", BATCH,
                          format="json").status_code == 404
    assert api_login(world.other_clinician).post(staff_url(world.cardiac_patients[1]), BATCH,
                                                 format="json").status_code == 404
    assert api_login(world.outsider).post(staff_url(world.me), BATCH, format="json").status_code == 404
    # wearables:read is not enough to write.
    assert api_login(world.dietitian).post(staff_url(world.metabolic_patients[0]), BATCH,
                                           format="json").status_code == 404
    assert Observation.objects.count() == before
    assert AuditEvent.objects.filter(action="denied", patient=world.foreign_patients[0]).exists()


@pytest.mark.django_db
def test_a_patient_reaches_only_their_own_record(world):
    api = jwt(world.patient_user)
    assert api.post(staff_url(world.cardiac_patients[1]), BATCH, format="json").status_code == 404
    assert api.post(staff_url(world.foreign_patients[0]), BATCH, format="json").status_code == 404
    assert not Observation.objects.exists()
    # Staff have no "me" record.
    assert jwt(world.lead).post(ME, BATCH, format="json").status_code == 404
    assert not Observation.objects.exists()


def test_device_units_convert_exactly():
    from clinical import units

    assert units.to_canonical("weight", 1, "lb") == pytest.approx(0.45359237)
    assert units.to_canonical("body_temperature", 212, "°F") == pytest.approx(100)
    assert units.to_canonical("glucose", 1, "mmol/L") == pytest.approx(18.016)  # CLINICAL.md factor
    assert units.to_canonical("sleep_session", 90, "min") == pytest.approx(1.5)
    assert units.to_canonical("active_energy", 4.184, "kJ") == pytest.approx(1)
    assert units.to_canonical("active_energy", 1000, "cal") == pytest.approx(1)
    assert units.to_canonical("active_energy", 1, "Cal") == pytest.approx(1)
    assert units.to_canonical("height", 6, "ft") == pytest.approx(182.88)
    assert units.to_canonical("glucose", 100, "MG/DL") == 100
    assert units.to_canonical("heart_rate", 72, "count/min") == 72
    with pytest.raises(units.UnitError):
        units.to_canonical("heart_rate", 60, "kg")
