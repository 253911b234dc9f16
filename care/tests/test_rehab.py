"""Cardiac rehab through HTTP (issue 17): Karvonen zones and Borg words (CLINICAL.md), prescribing
on the Rehab tab, Today on the portal (one-tap done, a detailed log, sleep, calendar events), chest
pain and heart rate above the prescribed maximum raising an alert through the rules engine at once,
device workouts matched to the day's prescription, sessions of 36, phases, activities, goals, the gate."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from care.demo import ensure_library
from care.models import ExerciseLog, ExercisePrescription, Goal, PhaseProgress, RehabSession, SleepLog, TherapyPhase
from care.services import rehab
from clinical.ingest import Reading, store
from clinical.models import Alert
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def kai(world):
    patient = world.me
    patient.resting_heart_rate, patient.max_heart_rate = 70, 150
    patient.surgery_date = patient.today - timedelta(days=40)  # 5 whole weeks
    patient.save()
    ensure_library(world.project)
    return patient


def walking(world):
    return rehab.exercises_for(world.me).get(name="Walking")


def prescribe(patient, actor, exercise, **kw):
    data = dict(exercise=exercise, minutes=20, sessions_per_week=4, hrr_low=Decimal("0.34"),
                hrr_high=Decimal("0.50"), rpe_low=12, rpe_high=14, start_date=patient.today - timedelta(days=3))
    data.update(kw)
    return rehab.prescription_create(patient=patient, actor=actor, data=rehab.PrescriptionIn(**data), via="test")


# --- Numbers (CLINICAL.md: resting + k x (max - resting); Borg 6-20, 11-14 moderate) -----------

def test_karvonen_and_borg_match_clinical_md():
    assert rehab.karvonen(70, 150, Decimal("0.4")) == 102  # 70 + 0.4 x 80
    assert rehab.karvonen(70, 150, Decimal("0.8")) == 134
    assert rehab.karvonen(60, 160, 0.5) == 110
    assert rehab.borg_word(6) == "no exertion at all" and rehab.borg_word(13) == "somewhat hard"
    assert rehab.borg_word(14) == "somewhat hard" and rehab.borg_word(20) == "maximal exertion"
    assert rehab.borg_words(11, 14) == "light to somewhat hard"


def test_plain_words_and_progression(world, kai):
    rx = prescribe(kai, world.clinician, walking(world),
                   progression=[{"week": 2, "minutes": 30, "sessions_per_week": 5}])
    # 70 + 0.34 x 80 = 97.2 -> 97; 70 + 0.5 x 80 = 110
    assert rehab.plain_words(rx, rx.start_date) == ("Walking 20 minutes, 4 days a week, heart rate 97–110, "
                                                    "feels light to somewhat hard")
    assert rehab.dose_on(rx, rx.start_date + timedelta(days=7)) == (30, 5)
    assert rehab.parse_progression("3 30 5\n\n6 40") == [{"week": 3, "minutes": 30, "sessions_per_week": 5},
                                                          {"week": 6, "minutes": 40, "sessions_per_week": None}]
    with pytest.raises(ValueError):
        rehab.parse_progression("three")


# --- Staff: the Rehab tab ---------------------------------------------------------------------

def test_prescribe_on_the_tab_and_see_progression(world, kai, login):
    c = login(world.clinician)
    page = c.get(f"/patients/{kai.pk}/rehab/")
    assert page.status_code == 200 and b"Phase and progression" in page.content
    r = c.post(f"/patients/{kai.pk}/rehab/", {
        "exercise": str(walking(world).pk), "minutes": "20", "sessions_per_week": "4", "hrr_low": "0.34",
        "hrr_high": "0.50", "rpe_low": "12", "rpe_high": "14", "start_date": kai.today.isoformat(),
        "progression": "3 30 5"})
    assert r.status_code == 302, r.content.decode()[:2000]
    rx = ExercisePrescription.objects.get(patient=kai)
    assert (rx.resting_hr, rx.max_hr, rehab.hr_zone(rx)) == (70, 150, (97, 110)) and rx.prescriber == world.clinician
    tab = c.get(f"/patients/{kai.pk}/rehab/").content.decode()
    assert "Walking 20 minutes, 4 days a week, heart rate 97–110, feels light to somewhat hard" in tab
    assert "Phase II: supervised rehab" in tab  # post-op week 5, Phase I exit not recorded -> held
    assert "Held" in tab
    assert AuditEvent.objects.filter(resource="care.exercise_prescription", metadata__event="prescribed").exists()


def test_prescription_bad_input_is_400_and_kept(world, kai, login):
    c = login(world.clinician)
    r = c.post(f"/patients/{kai.pk}/rehab/", {
        "exercise": str(walking(world).pk), "minutes": "20", "sessions_per_week": "4", "hrr_low": "0.70",
        "hrr_high": "0.50", "rpe_low": "15", "rpe_high": "12", "start_date": kai.today.isoformat(),
        "progression": "week three"})
    body = r.content.decode()
    assert r.status_code == 400
    assert "write week, minutes and days a week as numbers" in body
    assert not ExercisePrescription.objects.exists()
    r = c.post(f"/patients/{kai.pk}/rehab/", {
        "exercise": str(walking(world).pk), "minutes": "20", "sessions_per_week": "4", "hrr_low": "0.70",
        "hrr_high": "0.50", "rpe_low": "15", "rpe_high": "12", "start_date": kai.today.isoformat()})
    body = r.content.decode()
    assert r.status_code == 400 and "The upper fraction is at least the lower." in body
    assert "The upper RPE is at least the lower." in body and 'value="0.70"' in body


def test_gate_other_program_and_tenant_404_patient_403_staff(world, kai, login):
    rx = prescribe(kai, world.clinician, walking(world))
    other = login(world.other_clinician)  # metabolic program only
    assert other.get(f"/patients/{kai.pk}/rehab/").status_code == 404
    assert other.post(f"/patients/{kai.pk}/rehab/prescriptions/{rx.pk}/status/",
                      {"status": "discontinued"}).status_code == 404
    outsider = login(world.outsider)
    assert outsider.get(f"/patients/{kai.pk}/rehab/").status_code == 404
    rx.refresh_from_db()
    assert rx.status == "active"
    # a prescription of another patient through this patient's URL
    mine = login(world.clinician)
    other_rx = prescribe(world.cardiac_patients[1], world.clinician, walking(world), resting_hr=60, max_hr=160)
    assert mine.post(f"/patients/{kai.pk}/rehab/prescriptions/{other_rx.pk}/status/",
                     {"status": "discontinued"}).status_code == 404
    # the patient's login has no staff pages
    patient_client = login(world.patient_user)
    assert patient_client.get(f"/patients/{kai.pk}/rehab/").status_code in (403, 404)


def test_login_required(world, kai, client):
    for url in (f"/patients/{kai.pk}/rehab/", "/portal/today/"):
        r = client.get(url)
        assert r.status_code == 302 and "login" in r["Location"]
    assert client.post("/portal/today/sleep/", {"quality": "3"}).status_code == 302
    assert not SleepLog.objects.exists()


def test_sessions_count_toward_36_and_phase_and_activity(world, kai, login):
    prescribe(kai, world.clinician, walking(world))
    c = login(world.clinician)
    r = c.post(f"/patients/{kai.pk}/rehab/sessions/", {"day": kai.today.isoformat(), "at": "00:01",
                                                        "status": "attended", "minutes": "55", "avg_hr": "100",
                                                        "max_hr": "108", "rpe": "13"})
    assert r.status_code == 302
    s = RehabSession.objects.get(patient=kai)
    assert s.status == "attended" and s.log.source == "session" and s.log.prescription is not None
    assert rehab.session_counts(kai)["attended"] == 1 and rehab.session_counts(kai)["covered"] == 36
    assert "1</span> of 36 covered sessions attended" in c.get(f"/patients/{kai.pk}/rehab/").content.decode()
    future = (kai.today + timedelta(days=3)).isoformat()
    r = c.post(f"/patients/{kai.pk}/rehab/sessions/", {"day": future, "at": "09:00", "status": "attended"})
    assert r.status_code == 400 and b"can&#x27;t have been attended" in r.content
    phase1 = TherapyPhase.objects.get(project=world.project, order=1)
    r = c.post(f"/patients/{kai.pk}/rehab/phases/{phase1.pk}/", {"criteria": phase1.exit_criteria})
    assert r.status_code == 302
    assert PhaseProgress.objects.get(patient=kai, phase=phase1).completed_on == kai.today
    view = rehab.phase_view(kai)
    assert view["week"] == 5 and view["current"].order == 2 and not view["held"]
    assert c.post(f"/patients/{kai.pk}/rehab/phases/{phase1.pk}/", {"criteria": ["made up"]}).status_code == 400
    activity = rehab.activities_for(kai)[0]["activity"]
    assert c.post(f"/patients/{kai.pk}/rehab/activities/{activity.pk}/", {"cleared": "yes"}).status_code == 302
    assert rehab.activities_for(kai)[0]["cleared"] is True
    assert c.post(f"/patients/{kai.pk}/rehab/activities/{activity.pk}/", {"cleared": "maybe"}).status_code == 400


def test_routine_apply(world, kai, login):
    c = login(world.clinician)
    routine = TherapyPhase.objects.get(project=world.project, order=2).routines.first()
    r = c.post(f"/patients/{kai.pk}/rehab/routines/{routine.pk}/apply/")
    assert r.status_code == 302
    rx = ExercisePrescription.objects.get(patient=kai)
    assert (rx.minutes, rx.sessions_per_week, rx.routine_id) == (30, 5, routine.pk)


# --- Portal: Today ----------------------------------------------------------------------------

def test_today_one_tap_done_and_detailed_log(world, kai, login):
    rx = prescribe(kai, world.clinician, walking(world))
    c = login(world.patient_user)
    page = c.get("/portal/today/").content.decode()
    assert "Walking 20 minutes, 4 days a week, heart rate 97–110" in page and "Today's score" in page
    assert c.post(f"/portal/today/exercise/{rx.pk}/done/").status_code == 302
    log = ExerciseLog.objects.get(patient=kai)
    assert (log.duration_min, log.prescription, log.source, log.local_date) == (20, rx, "manual", kai.today)
    assert "✓ Done today" in c.get("/portal/today/").content.decode()
    r = c.post("/portal/today/exercise/", {"prescription": str(rx.pk), "duration_min": "25", "avg_hr": "104",
                                           "max_hr": "109", "rpe": "13", "notes": "felt fine"})
    assert r.status_code == 302
    assert ExerciseLog.objects.filter(patient=kai, rpe=13, avg_hr=104).count() == 1
    assert not Alert.objects.filter(patient=kai).exists()  # in the zone, no symptom


def test_log_bad_input_is_400_with_what_was_typed(world, kai, login):
    rx = prescribe(kai, world.clinician, walking(world))
    c = login(world.patient_user)
    r = c.post("/portal/today/exercise/", {"prescription": str(rx.pk), "duration_min": "25", "avg_hr": "140",
                                           "max_hr": "120", "rpe": "13", "notes": "keep me"})
    body = r.content.decode()
    assert r.status_code == 400 and "The maximum is at least the average." in body and "keep me" in body
    assert not ExerciseLog.objects.exists()


def test_portal_cannot_log_on_another_patients_prescription(world, kai, login):
    other_rx = prescribe(world.cardiac_patients[1], world.clinician, walking(world), resting_hr=60, max_hr=160)
    c = login(world.patient_user)
    assert c.post(f"/portal/today/exercise/{other_rx.pk}/done/").status_code == 404
    assert c.post("/portal/today/exercise/", {"prescription": str(other_rx.pk), "duration_min": "20"}
                  ).status_code == 404
    assert not ExerciseLog.objects.exists()
    staff = login(world.clinician)  # staff have no portal
    assert staff.post("/portal/today/sleep/", {"quality": "3", "interruptions": "0"}).status_code == 404


def test_chest_pain_raises_an_alert_at_once(world, kai, login):
    rx = prescribe(kai, world.clinician, walking(world))
    c = login(world.patient_user)
    r = c.post("/portal/today/exercise/", {"prescription": str(rx.pk), "duration_min": "10", "rpe": "15",
                                           "symptoms": ["chest_pain", "dizziness"]}, follow=True)
    assert r.status_code == 200 and "your care team has been alerted" in r.content.decode()
    alert = Alert.objects.get(patient=kai)
    assert alert.rule.code == rehab.CHEST_PAIN_RULE and alert.severity == "critical" and alert.status == "active"
    log = ExerciseLog.objects.get(patient=kai)
    assert log.symptomatic and log.symptoms == ["chest_pain", "dizziness"]
    staff = login(world.clinician)
    assert "Chest pain or pressure" in staff.get(f"/patients/{kai.pk}/rehab/").content.decode()


def test_heart_rate_above_prescribed_max_raises_an_alert(world, kai, login):
    rx = prescribe(kai, world.clinician, walking(world))  # zone 97-110
    c = login(world.patient_user)
    assert c.post("/portal/today/exercise/", {"prescription": str(rx.pk), "duration_min": "20", "avg_hr": "105",
                                              "max_hr": "110"}).status_code == 302
    assert not Alert.objects.filter(patient=kai).exists()  # at the maximum is not above it
    assert c.post("/portal/today/exercise/", {"prescription": str(rx.pk), "duration_min": "20", "avg_hr": "112",
                                              "max_hr": "131"}).status_code == 302
    alert = Alert.objects.get(patient=kai)
    assert alert.rule.code == rehab.HR_OVER_RULE and alert.severity == "warning"


def test_device_workout_lands_on_the_days_prescription(world, kai, django_capture_on_commit_callbacks):
    walk = prescribe(kai, world.clinician, walking(world))
    bike = prescribe(kai, world.clinician, rehab.exercises_for(kai).get(name="Stationary cycling"), minutes=15)
    # Late evening in Honolulu is the next UTC day: the local day decides.
    at = datetime.combine(kai.today - timedelta(days=1), time(21, 30), tzinfo=kai.tz)
    with django_capture_on_commit_callbacks(execute=True):
        store(kai, "apple_health", [Reading("workout", at, 32.5, end_at=at + timedelta(minutes=33),
                                            context="Walking", device="Apple Watch",
                                            details={"activity": "Walking", "distance_km": 2.6}),
                                    Reading("workout", at - timedelta(hours=3), 18.0, device="Polar",
                                            details={"sport": "CYCLING", "average_heart_rate": 101,
                                                     "max_heart_rate": 109})])
    logs = {log.prescription_id: log for log in ExerciseLog.objects.filter(patient=kai, source="device")}
    assert set(logs) == {walk.pk, bike.pk}
    assert logs[walk.pk].local_date == kai.today - timedelta(days=1) and logs[walk.pk].distance_km == 2.6
    assert (logs[bike.pk].avg_hr, logs[bike.pk].max_hr) == (101, 109)
    assert rehab.match_device_workouts(kai) == 0  # idempotent
    assert ExerciseLog.objects.filter(patient=kai).count() == 2


def test_device_workout_above_max_alerts(world, kai, django_capture_on_commit_callbacks):
    prescribe(kai, world.clinician, walking(world))
    at = datetime.combine(kai.today, time(0, 5), tzinfo=kai.tz)
    with django_capture_on_commit_callbacks(execute=True):
        store(kai, "strava", [Reading("workout", at, 30.0, details={"sport_name": "walk", "max_heart_rate": 140})])
    assert Alert.objects.get(patient=kai).rule.code == rehab.HR_OVER_RULE


def test_sleep_log_beside_device_sleep(world, kai, login):
    from wearables.models import DailyMetric

    DailyMetric.objects.create(project=world.project, patient=kai, program=kai.program, date=kai.today,
                               source="oura", sleep_hours=6.4)
    c = login(world.patient_user)
    assert c.post("/portal/today/sleep/", {"quality": "4", "interruptions": "2", "notes": "ok"}).status_code == 302
    log = SleepLog.objects.get(patient=kai)
    assert (log.quality, log.interruptions, log.night) == (4, 2, kai.today)
    page = c.get("/portal/today/").content.decode()
    assert "4/5, woke 2 times" in page and "6.4 h" in page  # both shown, not merged
    r = c.post("/portal/today/sleep/", {"quality": "9", "interruptions": "1", "notes": "typed"})
    assert r.status_code == 400 and "typed" in r.content.decode()
    assert SleepLog.objects.get(patient=kai).quality == 4


def test_calendar_event_done_and_skipped(world, kai, login):
    from scheduling import calendars
    from scheduling.models import CalendarEvent

    cal = calendars.default_calendar(user=world.patient_user, patient=kai)
    start = datetime.combine(kai.today - timedelta(days=2), time(23, 0), tzinfo=kai.tz)
    event = calendars.event_create(calendar=cal, actor=world.patient_user, title="Evening walk", starts_at=start,
                                   duration_minutes=30, rrule="FREQ=DAILY", tz=str(kai.tz))
    c = login(world.patient_user)
    page = c.get("/portal/today/").content.decode()
    assert "Evening walk" in page
    today_start = datetime.combine(kai.today, time(23, 0), tzinfo=kai.tz)
    stamp = today_start.astimezone(tz=None).strftime("%Y%m%dT%H%M%SZ") if False else \
        today_start.astimezone(__import__("datetime").UTC).strftime("%Y%m%dT%H%M%SZ")
    assert c.post(f"/portal/today/events/{event.pk}/", {"occurrence": stamp, "status": "done"}).status_code == 302
    override = CalendarEvent.objects.get(parent=event)
    assert override.status == "completed" and override.done_at is not None
    assert "✓ Done" in c.get("/portal/today/").content.decode()
    assert c.post(f"/portal/today/events/{event.pk}/", {"occurrence": stamp, "status": "maybe"}).status_code == 400
    wrong = "20000101T000000Z"
    assert c.post(f"/portal/today/events/{event.pk}/", {"occurrence": wrong, "status": "skipped"}).status_code == 400
    other = login(world.clinician)  # not their event: 404 (staff have no portal either)
    assert other.post(f"/portal/today/events/{event.pk}/", {"occurrence": stamp, "status": "done"}).status_code == 404


def test_goal_progress_from_the_data(world, kai):
    rx = prescribe(kai, world.clinician, walking(world))
    goal = Goal.objects.create(project=world.project, patient=kai, title="Walk 150 minutes a week", kind="therapy",
                               metric="exercise_minutes", target_value=150, baseline_value=0, unit="min")
    for d in range(3):
        rehab.exercise_log(patient=kai, actor=world.patient_user, data=rehab.LogIn(
            duration_min=25, prescription=rx, performed_at=datetime.combine(kai.today - timedelta(days=d), time(0, 1),
                                                                            tzinfo=kai.tz)))
    row = next(r for r in rehab.goals_view(kai) if r["goal"].pk == goal.pk)
    assert row["computed"] and row["goal"].current_value == 75 and row["progress"] == 50


def test_rehab_tab_queries_do_not_grow_with_data(world, kai, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rx = prescribe(kai, world.clinician, walking(world))
    c = login(world.clinician)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(f"/patients/{kai.pk}/rehab/").status_code == 200
        return len(ctx)

    rehab.exercise_log(patient=kai, actor=world.patient_user, data=rehab.LogIn(duration_min=20, prescription=rx,
                                                                              avg_hr=100))
    count()  # warm (first-use rows: the daily score)
    few = count()
    prescribe(kai, world.clinician, rehab.exercises_for(kai).get(name="Calf stretch"))
    for d in range(1, 12):
        rehab.exercise_log(patient=kai, actor=world.patient_user, data=rehab.LogIn(
            duration_min=20, prescription=rx, avg_hr=100 + d, symptoms=["dizziness"] if d % 4 == 0 else [],
            performed_at=datetime.combine(kai.today - timedelta(days=d), time(0, 30), tzinfo=kai.tz)))
    assert count() == few  # constant: nothing is read per log or per prescription
