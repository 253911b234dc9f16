"""Issue 21 item 1: new data after an acknowledgement or a snooze re-opens attention.
Through HTTP: readings posted to the API (patient and staff), the clinician acknowledges
and snoozes on the pages and the API, the queue and the notifications are checked."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinical import alerting
from clinical.default_rules import ensure_default_rules
from clinical.models import Alert
from clinical.tests.alert_helpers import reading
from mahalo.models import StaffMember
from messaging.models import Notification
from patients.care_team import care_team_add

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/observations/"


@pytest.fixture
def team(world):
    """The portal patient, the cardiac clinician on their care team, the default rules."""
    care_team_add(patient=world.me, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    ensure_default_rules(world.cardiac)
    return world.me


def bp(sys, dia, minutes_ago, context="home"):
    return {"metric": "blood_pressure", "value": sys, "value2": dia, "unit": "mmHg", "context": context,
            "effective_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()}


def post_reading(api, data, url=ME, django_capture_on_commit_callbacks=None):
    r = api.post(url, data, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def worsened_notes(user=None):
    qs = Notification.objects.filter(idempotency_key__startswith="alert-worsened:", channel="in_app")
    return qs.filter(recipient=user) if user else qs


def crisis_alert(patient) -> Alert:
    return Alert.objects.get(patient=patient, code="hypertensive_crisis")


def test_a_crisis_reading_after_acknowledgement_returns_the_alert_to_the_queue(world, team, api_login, login):
    patient_api = api_login(world.patient_user)
    post_reading(patient_api, bp(188, 126, 60))
    alert = crisis_alert(team)
    assert alert.status == "active"
    clinician = login(world.clinician)
    r = clinician.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "Called: will recheck after meds"})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    queue = clinician.get("/alerts/").content.decode()
    assert f'id="alert-{alert.pk}"' not in queue or "Worsened" not in queue

    # The patient enters 188/126 again: the alert comes back, worsened, and people are told.
    body = post_reading(patient_api, bp(188, 126, 20))
    alert.refresh_from_db()
    assert alert.status == "active" and alert.worsened_at is not None and alert.worsened_count == 1
    assert alert.acknowledged_by == world.clinician        # the earlier acknowledgement stays on the record
    note = worsened_notes(world.clinician).get()
    assert note.urgent and "WORSENED" in note.body and note.link == f"/alerts/{alert.pk}/"
    assert body["crisis"]["care_team_told"] and body["crisis"]["care_team_status"] == "alert_raised"
    queue = clinician.get("/alerts/").content.decode()
    assert f'id="alert-{alert.pk}"' in queue and "Worsened after acknowledgement" in queue
    detail = clinician.get(f"/alerts/{alert.pk}/").content.decode()
    assert "back in the queue" in detail and "Worsened: back in the queue" in detail


def test_staff_reading_after_an_api_acknowledgement_reopens_too(world, team, api_login):
    post_reading(api_login(world.patient_user), bp(188, 126, 90))
    alert = crisis_alert(team)
    staff_api = api_login(world.clinician)
    r = staff_api.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "seen"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    post_reading(staff_api, bp(196, 124, 10, context="office"), url=f"/api/v1/patients/{team.pk}/observations/")
    alert.refresh_from_db()
    assert alert.status == "active" and alert.worsened_count == 1
    listed = staff_api.get("/api/v1/alerts/?status=active").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [a["id"] for a in rows if a["code"] == "hypertensive_crisis"] == [str(alert.pk)]


def test_the_same_data_re_evaluated_never_reopens(world, team, api_login, login):
    post_reading(api_login(world.patient_user), bp(188, 126, 60))
    alert = crisis_alert(team)
    login(world.clinician).post(f"/alerts/{alert.pk}/acknowledge/", {"note": ""})
    before = Notification.objects.count()
    alerting.evaluate_patient(team)        # the nightly run: nothing new
    alerting.evaluate_patient(team)
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.worsened_count == 0
    assert Notification.objects.count() == before


def test_escalation_restarts_after_worsening(world, team, api_login, login):
    post_reading(api_login(world.patient_user), bp(188, 126, 60))
    alert = crisis_alert(team)
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert alerting.escalate_due() == 1                        # nobody acknowledged for 2 hours
    login(world.clinician).post(f"/alerts/{alert.pk}/acknowledge/", {"note": ""})
    post_reading(api_login(world.patient_user), bp(190, 128, 5))
    alert.refresh_from_db()
    assert alert.escalated_at is None and alert.status == "active"
    assert alerting.escalate_due() == 0                        # the clock restarted at the worsening
    Alert.objects.filter(pk=alert.pk).update(worsened_at=timezone.now() - timedelta(minutes=31))
    assert alerting.escalate_due() == 1
    keys = set(Notification.objects.filter(idempotency_key__startswith=f"alert-escalated:{alert.pk}",
                                           recipient=world.lead, channel="in_app")
               .values_list("idempotency_key", flat=True))
    assert len(keys) == 2                                      # one escalation per episode


def test_a_snooze_hides_the_same_level_but_never_a_worse_one(world, team, api_login, login):
    patient_api = api_login(world.patient_user)
    post_reading(patient_api, bp(190, 100, 90))
    alert = crisis_alert(team)
    clinician = login(world.clinician)
    until = (timezone.now() + timedelta(hours=4)).astimezone(team.program.tz).strftime("%Y-%m-%dT%H:%M")
    r = clinician.post(f"/alerts/{alert.pk}/snooze/", {"until": until, "reason": "Recheck after medication"})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.snoozed_until is not None

    # A repeat at the same level: hidden (still snoozed, nobody notified again).
    same = post_reading(patient_api, bp(186, 98, 60))
    alert.refresh_from_db()
    assert alert.snoozed_until is not None and alert.worsened_count == 0 and not worsened_notes().exists()
    assert same["crisis"]["care_team_told"] and same["crisis"]["care_team_status"] == "alert_open"
    assert f'id="alert-{alert.pk}"' not in clinician.get("/alerts/").content.decode()

    # Worse: wakes it, notifies, and it is back in the default queue.
    post_reading(patient_api, bp(204, 112, 30))
    alert.refresh_from_db()
    assert alert.snoozed_until is None and alert.worsened_count == 1 and alert.status == "active"
    assert worsened_notes(world.clinician).exists()
    assert f'id="alert-{alert.pk}"' in clinician.get("/alerts/").content.decode()


def test_acknowledged_warning_alert_reopens_only_when_worse(world, team, api_login):
    patient = world.cardiac_patients[1]
    care_team_add(patient=patient, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    reading(patient, "glucose", 65, timezone.now() - timedelta(hours=3), context="fasting")
    alert = [o for o in alerting.evaluate_patient(patient) if o.alert][0].alert
    assert alert.code == "hypoglycemia_level_1" and alert.severity == "warning"
    staff_api = api_login(world.clinician)
    assert staff_api.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {}, format="json").status_code == 200
    url = f"/api/v1/patients/{patient.pk}/observations/"
    glucose = {"metric": "glucose", "unit": "mg/dL", "context": "fasting"}
    post_reading(staff_api, {**glucose, "value": 66, "effective_at": (timezone.now() - timedelta(hours=2)).isoformat()},
                 url=url)
    alerting.evaluate_patient(patient)
    alert.refresh_from_db()
    assert alert.status == "acknowledged"             # same level, not critical: stays acknowledged
    post_reading(staff_api, {**glucose, "value": 57, "effective_at": (timezone.now() - timedelta(hours=1)).isoformat()},
                 url=url)
    alerting.evaluate_patient(patient)
    alert.refresh_from_db()
    assert alert.status == "active" and alert.worsened_count == 1


def test_is_worse_by_condition(world):
    from clinical.models import ClinicalRule
    from clinical.rules import RuleResult

    rule = ClinicalRule(condition=">", metric="blood_pressure")
    seen = {"readings": [{"id": "a", "at": "t1", "value": 190, "value2": 100, "interpretation": "critical"}]}

    def result(*readings, **numbers):
        return RuleResult(rule_id="x", code="c", fired=True, evidence=list(readings), numbers=numbers)

    old = seen["readings"][0]
    assert not alerting.is_worse(rule, seen, result(old))                                   # nothing new
    assert not alerting.is_worse(rule, seen, result(old, {"id": "b", "at": "t2", "value": 185, "value2": 99}))
    assert alerting.is_worse(rule, seen, result(old, {"id": "b", "at": "t2", "value": 185, "value2": 121}))
    assert alerting.is_worse(rule, seen, result(old, {"id": "b", "at": "t2", "value": 191, "value2": 90}))
    low = ClinicalRule(condition="<", metric="spo2")
    seen = {"readings": [{"id": "a", "at": "t1", "value": 88}]}
    assert alerting.is_worse(low, seen, result({"id": "b", "at": "t2", "value": 86}))
    assert not alerting.is_worse(low, seen, result({"id": "b", "at": "t2", "value": 89}))
    mean = ClinicalRule(condition=">=", metric="blood_pressure")
    seen = {"readings": [{"id": "a", "at": "t1", "value": 140}], "numbers": {"mean": 140, "mean2": 88}}
    assert alerting.is_worse(mean, seen, result({"id": "b", "at": "t2", "value": 150}, mean=145, mean2=88))
    assert not alerting.is_worse(mean, seen, result({"id": "b", "at": "t2", "value": 138}, mean=139, mean2=87))
    missing = ClinicalRule(condition="missing", metric="device")
    assert not alerting.is_worse(missing, {}, result({"id": "b", "at": "t2", "value": 1}))
