"""Medications and doses: DST-correct schedules, idempotent generation, missed after the grace period,
adherence, the chart tab (allergy check, gate, bad input), the portal's Today page and the dose API."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from care.models import Medication, MedicationDose
from care.services import medications as services
from care.tests.factories import dose, medication
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def test_schedule_keeps_the_wall_clock_across_dst(world):
    patient = world.metabolic_patients[0]  # America/Los_Angeles: clocks go forward on 2026-03-08
    med = medication(patient, world.other_clinician, times=[time(8)], start=date(2026, 3, 1))
    got = services.occurrences(med, datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 9, 23, tzinfo=UTC))
    assert [g.astimezone(UTC).strftime("%d %H:%M") for g in got] == ["07 16:00", "08 15:00", "09 15:00"]
    assert {g.astimezone(patient.tz).time() for g in got} == {time(8)}


def test_generation_is_idempotent_and_stays_within_start_and_end(world):
    patient = world.cardiac_patients[0]
    med = medication(patient, world.clinician)  # 08:00 and 20:00, created now
    first = MedicationDose.objects.filter(medication=med).count()
    assert 3 <= first <= 5  # two days ahead from now, nothing before the medication existed
    services.doses_generate(med)
    services.doses_generate_all()
    assert MedicationDose.objects.filter(medication=med).count() == first
    assert not MedicationDose.objects.filter(medication=med, scheduled_at__lt=med.created_at).exists()
    ended = medication(patient, world.clinician, name="Short course", end_date=patient.today)
    assert all(d.local_date <= patient.today for d in ended.doses.all())


def test_missed_after_grace_and_adherence(world):
    patient = world.cardiac_patients[0]
    med = medication(patient, world.clinician, times=[time(8)])
    med.doses.all().delete()
    now = timezone.now()
    old = [dose(med, now - timedelta(days=d)) for d in (1, 2, 3, 4)]
    recent = dose(med, now - timedelta(minutes=30))
    assert services.doses_mark_missed() == 4
    recent.refresh_from_db()
    assert recent.status == "scheduled"  # still within the grace period
    services.dose_log(dose=old[0], actor=world.patient_user, status="taken")
    services.dose_log(dose=old[1], actor=world.patient_user, status="skipped")
    overall, per = services.adherence(patient, 7)
    assert (overall.due, overall.taken, overall.skipped, overall.missed) == (4, 1, 1, 2)
    assert overall.percent == 25 and per[med.pk].percent == 25 and overall.days == 4 and overall.days_covered == 1


def test_dose_log_refuses_the_future_and_bad_status(world):
    patient = world.cardiac_patients[0]
    med = medication(patient, world.clinician)
    tomorrow = dose(med, timezone.now() + timedelta(days=1, hours=3))
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.dose_log(dose=tomorrow, actor=world.patient_user, status="taken")
    now_dose = dose(med, timezone.now() - timedelta(minutes=5))
    with pytest.raises(ValidationError):
        services.dose_log(dose=now_dose, actor=world.patient_user, status="eaten")
    with pytest.raises(ValidationError):
        services.dose_log(dose=now_dose, actor=world.patient_user, status="taken",
                          taken_at=timezone.now() + timedelta(hours=1))


# --- The chart tab ----------------------------------------------------------------------------

FORM = {"name": "Apixaban", "dose": "5", "dose_unit": "mg", "route": "oral", "times": "08:00, 20:30",
        "start_date": "2026-01-01", "reason": "AF", "critical": "on"}


def test_tab_adds_a_medication_with_the_schedule(world, login):
    patient = world.cardiac_patients[0]
    c = login(world.clinician)
    r = c.post(f"/patients/{patient.pk}/medications/", {**FORM, "weekdays": ["MO", "TH"]})
    assert r.status_code == 302
    med = Medication.objects.get(patient=patient)
    assert med.critical and med.prescriber == world.clinician
    assert services.schedule_times(med.schedule) == ["08:00", "20:30"]
    assert services.schedule_label(med) == "08:00, 20:30 on Mon, Thu"
    page = c.get(f"/patients/{patient.pk}/medications/")
    assert page.status_code == 200 and b"Apixaban" in page.content and b"chart-adherence" not in page.content
    assert AuditEvent.objects.filter(resource="care.medication", metadata__event="medication_added").exists()


def test_tab_warns_of_a_recorded_allergy_and_keeps_the_form(world, login):
    patient = world.cardiac_patients[0]
    patient.medication_allergies = "Penicillin (rash); sulfa"
    patient.save()
    c = login(world.clinician)
    data = {**FORM, "name": "Penicillin V", "times": "08:00"}
    r = c.post(f"/patients/{patient.pk}/medications/", data)
    assert r.status_code == 400 and b"Recorded allergy: Penicillin (rash)" in r.content
    assert b'value="Penicillin V"' in r.content and not Medication.objects.exists()
    r = c.post(f"/patients/{patient.pk}/medications/", {**data, "allergy_confirmed": "1"})
    assert r.status_code == 302 and Medication.objects.filter(name="Penicillin V").exists()
    event = AuditEvent.objects.get(metadata__event="medication_added")
    assert event.metadata["allergy_warning"] == ["Penicillin (rash)"]


def test_tab_bad_input_is_400_and_loses_nothing(world, login):
    patient = world.cardiac_patients[0]
    r = login(world.clinician).post(f"/patients/{patient.pk}/medications/",
                                    {**FORM, "times": "8 in the morning", "end_date": "2025-01-01"})
    assert r.status_code == 400 and b"is not a time like 08:00" in r.content
    assert b"8 in the morning" in r.content and b"Apixaban" in r.content
    assert not Medication.objects.exists()


def test_tab_is_gated(world, login, client):
    patient = world.cardiac_patients[0]
    med = medication(patient, world.clinician)
    assert client.get(f"/patients/{patient.pk}/medications/").status_code == 302
    assert login(world.other_clinician).get(f"/patients/{patient.pk}/medications/").status_code == 404
    assert login(world.outsider).get(f"/patients/{patient.pk}/medications/").status_code == 404
    assert login(world.other_clinician).post(f"/patients/{patient.pk}/medications/{med.pk}/status/",
                                             {"status": "stopped"}).status_code == 404
    assert login(world.patient_user).get(f"/patients/{patient.pk}/medications/").status_code == 404
    med.refresh_from_db()
    assert med.status == "active"


def test_stopping_removes_future_doses_but_keeps_the_past(world, login):
    patient = world.cardiac_patients[0]
    med = medication(patient, world.clinician)
    past = dose(med, timezone.now() - timedelta(days=1))
    c = login(world.clinician)
    assert c.post(f"/patients/{patient.pk}/medications/{med.pk}/status/", {"status": "bogus"}).status_code == 400
    assert c.post(f"/patients/{patient.pk}/medications/{med.pk}/status/", {"status": "stopped"}).status_code == 302
    med.refresh_from_db()
    assert med.status == "stopped" and med.end_date == patient.today
    assert list(med.doses.all()) == [past]


def test_tab_shows_adherence_and_the_chart(world, login):
    patient = world.cardiac_patients[0]
    med = medication(patient, world.clinician, times=[time(8)])
    for d in range(1, 5):
        dose(med, timezone.now() - timedelta(days=d), status="taken" if d % 2 else "missed")
    page = login(world.clinician).get(f"/patients/{patient.pk}/medications/?days=7").content.decode()
    assert "<strong>50%</strong> of doses taken (2 of 4" in page and 'id="chart-adherence-spec"' in page


# --- Portal and API -------------------------------------------------------------------------------

def _today_dose(world):
    me = world.me
    med = medication(me, world.clinician, name="Atorvastatin", times=[time(12)])
    med.doses.all().delete()
    now = timezone.now()
    return dose(med, now - timedelta(minutes=10))


def test_portal_today_lists_doses_and_marks_one_taken(world, login):
    d = _today_dose(world)
    c = login(world.patient_user)
    page = c.get("/portal/today/")
    assert page.status_code == 200 and b"Atorvastatin" in page.content and b"1 to do" in page.content
    r = c.post(f"/portal/today/doses/{d.pk}/", {"status": "taken"})
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.status == "taken" and d.logged_by == world.patient_user and d.taken_at is not None
    assert c.post(f"/portal/today/doses/{d.pk}/", {"status": "eaten"}).status_code == 400
    assert login(world.clinician).get("/portal/today/").status_code == 404


def test_portal_cannot_mark_another_patients_dose(world, login):
    other = world.cardiac_patients[1]
    med = medication(other, world.clinician)
    theirs = dose(med, timezone.now() - timedelta(minutes=5))
    assert login(world.patient_user).post(f"/portal/today/doses/{theirs.pk}/", {"status": "taken"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"


def test_api_marks_my_dose(world, api_login):
    d = _today_dose(world)
    api = api_login(world.patient_user)
    listed = api.get("/api/v1/me/doses/")
    assert listed.status_code == 200 and [x["id"] for x in listed.json()] == [str(d.pk)]
    assert api.get("/api/v1/me/doses/?date=yesterday").status_code == 400
    bad = api.post(f"/api/v1/me/doses/{d.pk}/", {"status": "maybe"}, format="json")
    assert bad.status_code == 400 and "status" in bad.json()
    naive = api.post(f"/api/v1/me/doses/{d.pk}/", {"status": "taken", "taken_at": "2026-01-01T08:00"}, format="json")
    assert naive.status_code == 400 and "taken_at" in naive.json()
    ok = api.post(f"/api/v1/me/doses/{d.pk}/", {"status": "skipped", "note": "felt sick"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "skipped"
    d.refresh_from_db()
    assert d.status == "skipped" and d.note == "felt sick"


def test_api_is_gated(world, api_login):
    from rest_framework.test import APIClient

    d = _today_dose(world)
    assert APIClient().post(f"/api/v1/me/doses/{d.pk}/", {"status": "taken"}, format="json").status_code in (401, 403)
    other = medication(world.cardiac_patients[1], world.clinician)
    theirs = dose(other, timezone.now() - timedelta(minutes=5))
    api = api_login(world.patient_user)
    assert api.post(f"/api/v1/me/doses/{theirs.pk}/", {"status": "taken"}, format="json").status_code == 404
    assert api_login(world.clinician).post(f"/api/v1/me/doses/{d.pk}/", {"status": "taken"},
                                           format="json").status_code == 404


def test_missed_critical_doses_raise_an_alert_through_the_rules_engine(world):
    from care.services import dose_rules
    from clinical import alerting
    from clinical.models import Alert, Observation

    patient = world.cardiac_patients[0]
    assert dose_rules.ensure_care_rules(world.cardiac) == 1 and dose_rules.ensure_care_rules(world.cardiac) == 0
    critical = medication(patient, world.clinician, name="Apixaban", times=[time(8)], critical=True)
    plain = medication(patient, world.clinician, name="Vitamin D", times=[time(8)])
    for med in (critical, plain):
        med.doses.all().delete()
    now = timezone.now()
    for d in (5, 4, 3):
        dose(plain, now - timedelta(days=d))
    dose(critical, now - timedelta(days=2))
    services.doses_mark_missed()
    obs = Observation.objects.get(patient=patient, metric=dose_rules.METRIC)
    assert obs.value == 1 and obs.details["medication"] == "Apixaban"
    alerting.evaluate_patient(patient)
    assert not Alert.objects.filter(code=dose_rules.RULE_CODE).exists()  # 1 missed: below the threshold
    dose(critical, now - timedelta(days=1))
    services.doses_mark_missed()
    assert Observation.objects.filter(patient=patient, metric=dose_rules.METRIC).order_by("-effective_at")[0].value == 2
    alerting.evaluate_patient(patient)
    alert = Alert.objects.get(code=dose_rules.RULE_CODE, patient=patient)
    assert alert.status == "active"
