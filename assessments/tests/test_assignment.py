"""Triggers (PHQ-2 >= 3 assigns a PHQ-9 carrying the answers), schedules in the patient's
time zone, expiry and reminders."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from assessments import instruments, services
from assessments.models import Assignment, Questionnaire
from assessments.tests.factories import assign, phq2_answers
from messaging.models import Notification

pytestmark = pytest.mark.django_db


def test_a_positive_phq2_assigns_a_phq9_at_once_with_the_two_answers(world, api_login):
    api = api_login(world.patient_user)
    r = api.post(f"/api/v1/me/assignments/{assign(world.me, instruments.PHQ2).pk}/response/",
                 {"answers": phq2_answers(2, 1)}, format="json")
    assert r.status_code == 201 and len(r.json()["triggered"]) == 1
    follow_up = Assignment.objects.get(pk=r.json()["triggered"][0])
    assert follow_up.questionnaire.code == instruments.PHQ9 and follow_up.source == "trigger"
    assert follow_up.status == "in_progress"
    assert follow_up.draft == {"/44250-9": "LA6570-1", "/44255-8": "LA6569-3"}
    mine = api.get("/api/v1/me/assignments/").json()["results"]
    assert any(a["id"] == str(follow_up.pk) for a in mine)


def test_a_negative_phq2_assigns_nothing(world, api_login):
    r = api_login(world.patient_user).post(
        f"/api/v1/me/assignments/{assign(world.me, instruments.PHQ2).pk}/response/",
        {"answers": phq2_answers(1, 1)}, format="json")
    assert r.json()["triggered"] == []
    assert not Assignment.objects.filter(questionnaire__code=instruments.PHQ9).exists()


def test_an_assignment_that_opens_now_reminds_the_patient(world):
    assignment = assign(world.me, instruments.GAD7, actor=world.clinician)
    sent = Notification.objects.filter(recipient=world.patient_user, event_type="questionnaire_due")
    assert sent.exists() and all(f"questionnaire-due:{assignment.pk}" in n.idempotency_key for n in sent)


def test_a_schedule_fires_in_the_patients_time_zone(world):
    phq9 = services.resolve(world.project, instruments.PHQ9)
    # Every 2 weeks at 09:00 in Honolulu (UTC-10), three times.
    schedule = services.schedule_create(questionnaire=phq9, actor=world.lead, rrule="FREQ=WEEKLY;INTERVAL=2;COUNT=3",
                                        starts_on=dt.date(2030, 3, 4), local_time=dt.time(9, 0), patient=world.me)
    assert not Assignment.objects.exists()  # nothing is due yet
    first = dt.datetime(2030, 3, 4, 19, 0, tzinfo=dt.UTC)  # 09:00 HST
    assert services.generate_due(now=first - dt.timedelta(minutes=1)) == 0
    assert services.generate_due(now=first + dt.timedelta(minutes=1)) == 1
    assert services.generate_due(now=first + dt.timedelta(minutes=2)) == 0  # idempotent
    made = Assignment.objects.get(schedule=schedule)
    assert made.available_at == first
    assert made.available_at.astimezone(ZoneInfo("Pacific/Honolulu")).hour == 9
    assert made.expires_at == first + dt.timedelta(hours=72)
    assert services.generate_due(now=first + dt.timedelta(days=14, minutes=1)) == 1


def test_a_program_schedule_reaches_every_active_patient_of_the_program(world):
    gad7 = services.resolve(world.project, instruments.GAD7)
    services.schedule_create(questionnaire=gad7, actor=world.lead, rrule="FREQ=DAILY;COUNT=1",
                             starts_on=dt.date(2030, 1, 1), local_time=dt.time(8, 0), program=world.metabolic)
    services.generate_due(now=dt.datetime(2030, 1, 1, 16, 30, tzinfo=dt.UTC))  # 08:30 in Los Angeles
    assert {a.patient_id for a in Assignment.objects.all()} == {p.pk for p in world.metabolic_patients}


def test_a_bad_rrule_is_refused(world):
    from django.core.exceptions import ValidationError

    phq9 = services.resolve(world.project, instruments.PHQ9)
    for rule in ("FREQ=SOMETIMES", "FREQ=WEEKLY"):
        with pytest.raises(ValidationError):
            services.schedule_create(questionnaire=phq9, actor=world.lead, rrule=rule, starts_on=dt.date(2030, 1, 1),
                                     local_time=dt.time(9), patient=world.me)


def test_expiry_and_the_reminder_before_it(world):
    now = timezone.now()
    assignment = assign(world.me, instruments.GAD7, due=now + dt.timedelta(hours=1),
                        expires_at=now + dt.timedelta(hours=20), available_at=now - dt.timedelta(hours=2), now=now)
    services.expire_and_remind(now=now)
    assert Notification.objects.filter(idempotency_key__startswith=f"questionnaire-expiring:{assignment.pk}").exists()
    services.expire_and_remind(now=now + dt.timedelta(hours=21))
    assignment.refresh_from_db()
    assert assignment.status == "expired"


def test_an_expired_assignment_cant_be_answered(world, api_login):
    now = timezone.now()
    assignment = assign(world.me, instruments.GAD7, available_at=now - dt.timedelta(days=4),
                        expires_at=now - dt.timedelta(hours=1), now=now - dt.timedelta(days=4))
    r = api_login(world.patient_user).post(f"/api/v1/me/assignments/{assignment.pk}/response/",
                                           {"answers": {}}, format="json")
    assert r.status_code == 400 and "assignment" in r.json()


def test_published_versions_keep_their_answers(world, api_login):
    """A response points at the version asked, even after a new version is published."""
    import json
    from pathlib import Path

    assignment = assign(world.me, instruments.PHQ9)
    data = json.loads((Path(__file__).parent / "fixtures" / "loinc_phq9.json").read_text())
    api_login(world.lead).post("/api/v1/questionnaires/import/", data, format="json")
    assert Questionnaire.objects.filter(project=world.project, code=instruments.PHQ9).count() == 2
    assignment.refresh_from_db()
    assert assignment.questionnaire.version == 1
