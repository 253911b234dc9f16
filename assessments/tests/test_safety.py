"""The safety pathway end to end through HTTP: PHQ-9 item 9 answered above "not at all"
raises, in the same request, a critical alert assigned to the care team, urgent
safety-critical notifications that opt-outs and quiet hours can't silence, a safety event
with a due time, and the patient's crisis resources; staff close it with an outcome."""

import datetime as dt

import pytest
from django.utils import timezone

from assessments import instruments, services
from assessments.models import Response, SafetyEvent
from assessments.tests.factories import assign, phq9_answers
from clinical.models import Alert, Observation
from mahalo.models import ProgramSetting, StaffMember
from messaging.models import Notification, NotificationPreference, NotificationSettings
from patients.care_team import care_team_add

pytestmark = pytest.mark.django_db


def _answer(api, assignment, scores):
    return api.post(f"/api/v1/me/assignments/{assignment.pk}/response/", {"answers": phq9_answers(scores)},
                    format="json")


@pytest.fixture
def team(world):
    """The portal patient's care team: the cardiac clinician, who has opted out of alert emails
    and is inside quiet hours all day."""
    staff = StaffMember.objects.get(user=world.clinician)
    care_team_add(patient=world.me, staff=staff, actor=world.lead)
    for channel in ("email", "in_app"):
        NotificationPreference.objects.create(user=world.clinician, event_type="alert_created", channel=channel,
                                              opted_out=True)
    NotificationSettings.objects.create(user=world.clinician, quiet_start=dt.time(0, 0), quiet_end=dt.time(23, 59))
    return world.clinician


def test_item_9_above_not_at_all_alerts_the_care_team_at_once_whatever_the_total(world, api_login, team):
    assignment = assign(world.me, instruments.PHQ9)
    r = _answer(api_login(world.patient_user), assignment, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert r.status_code == 201, r.content
    body = r.json()
    # Total 1 is "minimal": the safety answer counts whatever the total.
    assert body["total"] == 1 and body["severity"] == "minimal"
    assert body["safety"] is True
    assert [c["href"] for c in body["crisis_resources"]] == ["tel:988", "tel:911"]
    assert "988" in body["message"]

    alert = Alert.objects.get(patient=world.me, code=services.SAFETY_RULE_CODE)
    assert alert.severity == "critical" and alert.status == "active"
    assert alert.assignee == team  # assign_task: the first care-team member
    event = SafetyEvent.objects.get(patient=world.me)
    assert event.alert_id == alert.pk and event.answer_display == "Several days" and event.score == 1
    response = Response.objects.get()
    assert abs((event.due_at - response.submitted_at) - dt.timedelta(minutes=60)) < dt.timedelta(seconds=1)
    # Opted out and in quiet hours, yet the safety-critical alert reaches the clinician at once.
    sent = Notification.objects.filter(recipient=team, event_type="alert_created", urgent=True)
    assert {n.channel for n in sent} >= {"in_app", "email"}
    assert all(n.status != "skipped" for n in sent if n.channel in ("in_app", "email"))
    assert all(n.next_attempt_at <= timezone.now() for n in sent)
    assert Observation.objects.get(patient=world.me, metric="safety_answer").value == 1


@pytest.mark.parametrize("score", [1, 2, 3])
def test_every_positive_answer_to_item_9_is_a_safety_event(world, api_login, score):
    assignment = assign(world.me, instruments.PHQ9)
    assert _answer(api_login(world.patient_user), assignment, [0] * 8 + [score]).json()["safety"] is True
    assert SafetyEvent.objects.get().score == score


def test_not_at_all_on_item_9_is_no_safety_event_even_with_a_severe_total(world, api_login):
    assignment = assign(world.me, instruments.PHQ9)
    body = _answer(api_login(world.patient_user), assignment, [3] * 8 + [0]).json()
    assert body["total"] == 24 and body["severity"] == "severe" and body["safety"] is False
    assert body["crisis_resources"] is None
    assert not SafetyEvent.objects.exists()
    assert not Alert.objects.filter(code=services.SAFETY_RULE_CODE).exists()


def test_without_a_care_team_the_program_leads_are_told(world, api_login):
    assignment = assign(world.me, instruments.PHQ9)
    _answer(api_login(world.patient_user), assignment, [0] * 8 + [2])
    assert Notification.objects.filter(recipient=world.lead, event_type="alert_created", urgent=True).exists()


def test_a_second_positive_answer_while_the_alert_is_open_notifies_again(world, api_login, team):
    api = api_login(world.patient_user)
    _answer(api, assign(world.me, instruments.PHQ9), [0] * 8 + [1])
    before = Notification.objects.filter(recipient=team, event_type="alert_created").count()
    second = assign(world.me, instruments.PHQ9)
    assert _answer(api, second, [0] * 8 + [3]).status_code == 201
    assert Alert.objects.filter(code=services.SAFETY_RULE_CODE, status="active").count() == 1
    assert Notification.objects.filter(recipient=team, event_type="alert_created").count() > before
    assert SafetyEvent.objects.count() == 2


def test_the_due_time_and_crisis_resources_follow_the_program(world, api_login):
    ProgramSetting.objects.create(program=world.cardiac, key=services.SAFETY_MINUTES_KEY, value="15")
    ProgramSetting.objects.create(program=world.cardiac, key=services.CRISIS_KEY, value=(
        '[{"label": "Hawaii CARES", "detail": "Call 1-800-753-6879", "href": "tel:18007536879"}]'))
    body = _answer(api_login(world.patient_user), assign(world.me, instruments.PHQ9), [0] * 8 + [1]).json()
    assert [c["label"] for c in body["crisis_resources"]] == ["Hawaii CARES"]
    event = SafetyEvent.objects.get()
    assert abs((event.due_at - event.response.submitted_at) - dt.timedelta(minutes=15)) < dt.timedelta(seconds=1)


def test_portal_submit_shows_crisis_resources_and_the_chart_shows_the_answer(world, login, team):
    assignment = assign(world.me, instruments.PHQ9)
    services.draft_save(assignment=assignment, answers=phq9_answers([0] * 8 + [2]), actor=world.patient_user)
    client = login(world.patient_user)
    done = client.post(f"/portal/questionnaires/{assignment.pk}/", {"go": "submit", "step": "10"}, follow=True)
    assert done.status_code == 200
    html = done.content.decode()
    assert "988" in html and "911" in html and "tel:988" in html
    assert "care team" in html and "Saved" not in html

    chart = login(team).get(f"/patients/{world.me.pk}/assessments/")
    page = chart.content.decode()
    assert "Safety answer" in page and "More than half the days" in page
    assert "Thoughts that you would be better off dead" in page


def test_the_alert_is_resolved_only_with_a_documented_outcome(world, login, api_login, team):
    _answer(api_login(world.patient_user), assign(world.me, instruments.PHQ9), [0] * 8 + [1])
    event = SafetyEvent.objects.get()
    client = login(team)
    url = f"/patients/{world.me.pk}/assessments/safety/{event.pk}/"
    bad = client.post(url, {"outcome": "contacted", "note": ""})
    assert bad.status_code == 400
    assert Alert.objects.get(pk=event.alert_id).status == "active"
    ok = client.post(url, {"outcome": "safety_plan", "note": "Called at 10:05; safety plan reviewed with Kai."})
    assert ok.status_code == 302
    event.refresh_from_db()
    assert event.outcome == "safety_plan" and event.outcome_by == team
    alert = Alert.objects.get(pk=event.alert_id)
    assert alert.status == "resolved" and "safety plan" in alert.closed_note.lower()


def test_an_outcome_for_another_programs_patient_is_404(world, login, api_login):
    _answer(api_login(world.patient_user), assign(world.me, instruments.PHQ9), [0] * 8 + [1])
    event = SafetyEvent.objects.get()
    r = login(world.other_clinician).post(f"/patients/{world.me.pk}/assessments/safety/{event.pk}/",
                                          {"outcome": "no_risk", "note": "x"})
    assert r.status_code == 404
    event.refresh_from_db()
    assert event.outcome == ""


def test_unacknowledged_safety_alert_escalates_to_the_leads(world, api_login, team):
    from clinical.alerting import escalate_due

    _answer(api_login(world.patient_user), assign(world.me, instruments.PHQ9), [0] * 8 + [1])
    assert escalate_due(now=timezone.now() + dt.timedelta(minutes=31)) == 1
    assert Notification.objects.filter(recipient=world.lead, idempotency_key__startswith="alert-escalated:").exists()
