"""Alerting services: dedupe, executions, notifications, transitions, escalation,
triggers (ingest signal, tasks, beat), default rules seeding."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from clinical import alerting
from clinical.default_rules import DEFAULT_RULES, ensure_default_rules
from clinical.models import Alert, ClinicalRule, RuleExecution
from clinical.tests.alert_helpers import NOW, ago, bp, default_rule, reading
from mahalo.models import AuditEvent, ProgramSetting, StaffMember
from messaging.models import Notification
from patients.care_team import care_team_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def crisis(world):
    """A cardiac patient with a crisis reading, the cardiac clinician on the care team."""
    patient = world.cardiac_patients[1]
    care_team_add(patient=patient, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    rule = default_rule(world.cardiac, "hypertensive_crisis")
    bp(patient, 190, 100, timezone.now() - timedelta(hours=2))
    return patient, rule


def alert_notifications(user=None):
    qs = Notification.objects.filter(event_type="alert_created")
    return qs.filter(recipient=user) if user else qs


# --- Dedupe ------------------------------------------------------------------------------

def test_second_evaluation_updates_the_open_alert(world, crisis):
    patient, rule = crisis
    first = alerting.evaluate_patient(patient, [rule])[0]
    assert first.created and first.alert.severity == "critical" and first.alert.status == "active"
    assert first.alert.evidence["readings"][0]["value"] == 190
    bp(patient, 195, 110, timezone.now() - timedelta(hours=1))
    second = alerting.evaluate_patient(patient, [rule])[0]
    assert not second.created and second.alert.pk == first.alert.pk
    alert = Alert.objects.get(patient=patient)
    assert alert.trigger_count == 2 and alert.last_triggered_at is not None
    alerting.evaluate_patient(patient, [rule])      # nothing new: evidence and count unchanged
    assert Alert.objects.get(pk=alert.pk).trigger_count == 2
    assert sorted(r["value"] for r in alert.evidence["readings"]) == [190, 195]
    assert RuleExecution.objects.filter(patient=patient, rule=rule, triggered=True).count() == 3
    assert RuleExecution.objects.filter(alert=alert).first().result["evidence"]


def test_after_resolve_only_new_data_opens_a_new_alert(world, crisis):
    patient, rule = crisis
    alert = alerting.evaluate_patient(patient, [rule])[0].alert
    alerting.alert_resolve(alert=alert, actor=world.clinician, note="Called, rechecked: 150/90")
    # Same readings again (the nightly run): nothing re-opens.
    outcome = alerting.evaluate_patient(patient, [rule])[0]
    assert outcome.result.fired and outcome.alert is None and outcome.suppressed
    assert Alert.objects.filter(patient=patient, status__in=Alert.OPEN).count() == 0
    bp(patient, 188, 100, timezone.now())
    outcome = alerting.evaluate_patient(patient, [rule])[0]
    assert outcome.created and outcome.alert.pk != alert.pk
    assert Alert.objects.filter(patient=patient).count() == 2


def test_a_reading_whose_ingest_straddled_the_closure_still_counts(world, crisis):
    from clinical.models import Observation

    patient, rule = crisis
    alert = alerting.evaluate_patient(patient, [rule])[0].alert
    alerting.alert_resolve(alert=alert, actor=world.clinician)
    bp(patient, 187, 99, timezone.now() - timedelta(minutes=10))
    # Its transaction began before the resolve: received (created_at) earlier than closed_at.
    Observation.objects.filter(patient=patient, value=187).update(created_at=alert.created_at)
    assert alerting.evaluate_patient(patient, [rule])[0].created


def test_the_integrity_error_race_updates_the_winner(world, crisis, monkeypatch):
    patient, rule = crisis
    winner = alerting.evaluate_patient(patient, [rule])[0].alert
    # Another worker's alert is invisible to our first look (it committed just after).
    real = alerting.Alert.objects.select_for_update

    calls = {"n": 0}

    def select_for_update(*args, **kwargs):
        calls["n"] += 1
        qs = real(*args, **kwargs)
        return qs.none() if calls["n"] == 1 else qs

    bp(patient, 191, 100, timezone.now() - timedelta(minutes=30))
    monkeypatch.setattr(alerting.Alert.objects, "select_for_update", select_for_update)
    monkeypatch.setattr(alerting, "is_news", lambda *a: True)
    outcome = alerting.evaluate_patient(patient, [rule])[0]
    assert not outcome.created and outcome.alert.pk == winner.pk
    assert Alert.objects.get(pk=winner.pk).trigger_count == 2
    assert Alert.objects.filter(patient=patient).count() == 1


def test_applicable_rules_program_copy_replaces_project_rule(world):
    patient = world.cardiac_patients[1]
    project_rule = ClinicalRule.objects.create(project=world.project, code="spo2_low", name="Project SpO2",
                                               metric="spo2", condition="<", threshold=92, priority=5)
    other = ClinicalRule.objects.create(project=world.project, code="project_only", name="Project only",
                                        metric="spo2", condition="<", threshold=85, priority=99)
    assert [r.pk for r in alerting.applicable_rules(patient)] == [other.pk, project_rule.pk]
    program_rule = default_rule(world.cardiac, "spo2_low")
    codes = [r.code for r in alerting.applicable_rules(patient)]
    assert codes.count("spo2_low") == 1 and program_rule in alerting.applicable_rules(patient)
    # Priority order, highest first.
    priorities = [r.priority for r in alerting.applicable_rules(patient)]
    assert priorities == sorted(priorities, reverse=True)
    # A disabled program copy opts the program out: the project rule does not come back.
    program_rule.enabled = False
    program_rule.save()
    assert "spo2_low" not in [r.code for r in alerting.applicable_rules(patient)]
    # Metabolic has no copy: it gets the project rule.
    assert project_rule in alerting.applicable_rules(world.metabolic_patients[0])


def test_program_override_of_a_threshold_changes_the_outcome(world):
    patient = world.cardiac_patients[1]
    rule = default_rule(world.cardiac, "spo2_low")
    rule.threshold_setting = "rules.spo2_low"
    rule.save()
    reading(patient, "spo2", 91, timezone.now() - timedelta(hours=1))
    assert not alerting.evaluate_patient(patient, [rule])[0].result.fired
    ProgramSetting.objects.create(program=world.cardiac, key="rules.spo2_low", value="92")
    assert alerting.evaluate_patient(patient, [rule])[0].created


def test_invalid_observations_raise_nothing(world):
    patient = world.cardiac_patients[1]
    ensure_default_rules(world.cardiac)
    reading(patient, "spo2", 30, timezone.now() - timedelta(hours=1))    # impossible: invalid
    bp(patient, 320, 100, timezone.now() - timedelta(hours=1))
    alerting.evaluate_patient(patient)
    assert not Alert.objects.filter(patient=patient).exists()


# --- Notifications ----------------------------------------------------------------------------

def test_new_critical_alert_notifies_the_care_team_once(world, crisis):
    patient, rule = crisis
    alerting.evaluate_patient(patient, [rule])
    rows = alert_notifications(world.clinician)
    assert rows.exists() and all(n.urgent for n in rows)
    count = alert_notifications().count()
    bp(patient, 199, 100, timezone.now())
    alerting.evaluate_patient(patient, [rule])
    assert alert_notifications().count() == count     # updates are silent


def test_warning_alert_does_not_notify_but_notify_action_does_once(world):
    patient = world.cardiac_patients[1]
    care_team_add(patient=patient, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    rule = default_rule(world.cardiac, "hypoglycemia_level_1")
    reading(patient, "glucose", 65, timezone.now() - timedelta(hours=1), context="fasting")
    assert alerting.evaluate_patient(patient, [rule])[0].created
    assert not alert_notifications().exists()
    Alert.objects.all().delete()
    rule.action = ClinicalRule.Action.NOTIFY
    rule.save()
    alerting.evaluate_patient(patient, [rule])
    first = alert_notifications(world.clinician).count()
    assert first >= 1 and not alert_notifications().filter(urgent=True).exists()
    alerting.evaluate_patient(patient, [rule])
    assert alert_notifications(world.clinician).count() == first


def test_no_care_team_falls_back_to_the_program_leads(world):
    patient = world.cardiac_patients[2]
    rule = default_rule(world.cardiac, "spo2_low")
    reading(patient, "spo2", 85, timezone.now() - timedelta(hours=1))
    alerting.evaluate_patient(patient, [rule])
    assert alert_notifications(world.lead).exists()
    assert not alert_notifications(world.other_clinician).exists()


def test_snoozed_alert_is_updated_silently(world, crisis):
    # A repeat of the same level (issue 21: a worse one wakes it, see test_safety_worsening.py).
    patient, rule = crisis
    alert = alerting.evaluate_patient(patient, [rule])[0].alert
    alerting.alert_snooze(alert=alert, actor=world.clinician, until=timezone.now() + timedelta(hours=4),
                          reason="Recheck after medication")
    before = alert_notifications().count()
    bp(patient, 186, 98, timezone.now())
    outcome = alerting.evaluate_patient(patient, [rule])[0]
    alert.refresh_from_db()
    assert outcome.alert.pk == alert.pk and alert.trigger_count == 2 and alert.snoozed_until is not None
    assert alert_notifications().count() == before


def test_assign_task_assigns_the_first_care_team_member(world, crisis):
    patient, rule = crisis
    rule.action = ClinicalRule.Action.ASSIGN_TASK
    rule.save()
    alert = alerting.evaluate_patient(patient, [rule])[0].alert
    assert alert.assignee == world.clinician and alert.title.startswith("Task:")
    Alert.objects.all().delete()
    rule.params = {**rule.params, "assignee": world.lead.email}
    rule.save()
    assert alerting.evaluate_patient(patient, [rule])[0].alert.assignee == world.lead
    Alert.objects.all().delete()
    rule.params = {**rule.params, "assignee": world.outsider.email}   # can't see the patient: ignored
    rule.save()
    assert alerting.evaluate_patient(patient, [rule])[0].alert.assignee == world.clinician


# --- Transitions ---------------------------------------------------------------------------------

@pytest.fixture
def alert(world, crisis):
    patient, rule = crisis
    return alerting.evaluate_patient(patient, [rule])[0].alert


def test_acknowledge_then_resolve(world, alert):
    a = alerting.alert_acknowledge(alert=alert, actor=world.clinician, note="Seen")
    assert a.status == "acknowledged" and a.acknowledged_by == world.clinician and a.acknowledged_note == "Seen"
    with pytest.raises(alerting.AlertError, match="Only an active alert"):
        alerting.alert_acknowledge(alert=a, actor=world.clinician)
    a = alerting.alert_resolve(alert=a, actor=world.lead, note="BP controlled")
    assert a.status == "resolved" and a.closed_by == world.lead and a.closed_note == "BP controlled"
    for service in (alerting.alert_resolve, alerting.alert_acknowledge):
        with pytest.raises(alerting.AlertError):
            service(alert=a, actor=world.clinician)
    with pytest.raises(alerting.AlertError):
        alerting.alert_dismiss(alert=a, actor=world.clinician, note="x")
    events = AuditEvent.objects.filter(resource="clinical.alert", object_id=str(alert.pk))
    assert {e.metadata["event"] for e in events} >= {"alert_opened", "acknowledged", "resolved"}


def test_dismiss_needs_a_note(world, alert):
    with pytest.raises(alerting.AlertError) as err:
        alerting.alert_dismiss(alert=alert, actor=world.clinician, note="  ")
    assert err.value.field == "note"
    assert Alert.objects.get(pk=alert.pk).status == "active"
    a = alerting.alert_dismiss(alert=alert, actor=world.clinician, note="Cuff was wrong size")
    assert a.status == "dismissed" and a.closed_note == "Cuff was wrong size"


def test_snooze_needs_a_reason_and_a_future_time(world, alert):
    now = timezone.now()
    with pytest.raises(alerting.AlertError) as err:
        alerting.alert_snooze(alert=alert, actor=world.clinician, until=now + timedelta(hours=1), reason="")
    assert err.value.field == "reason"
    with pytest.raises(alerting.AlertError) as err:
        alerting.alert_snooze(alert=alert, actor=world.clinician, until=now - timedelta(minutes=1), reason="x")
    assert err.value.field == "until"
    with pytest.raises(alerting.AlertError):
        alerting.alert_snooze(alert=alert, actor=world.clinician, until=now + timedelta(days=31), reason="x")
    a = alerting.alert_snooze(alert=alert, actor=world.clinician, until=now + timedelta(hours=2), reason="On a flight")
    assert a.snooze_reason == "On a flight" and a.status == "active"
    assert alerting.alert_unsnooze(alert=a, actor=world.clinician).snoozed_until is None


def test_assign_only_to_someone_who_can_see_the_patient(world, alert):
    with pytest.raises(alerting.AlertError):
        alerting.alert_assign(alert=alert, actor=world.lead, assignee=world.other_clinician)
    with pytest.raises(alerting.AlertError):
        alerting.alert_assign(alert=alert, actor=world.lead, assignee=world.outsider)
    assert alerting.alert_assign(alert=alert, actor=world.lead, assignee=world.clinician).assignee == world.clinician
    assert alerting.alert_assign(alert=alert, actor=world.lead, assignee=None).assignee is None
    assert world.clinician in alerting.assignable_users(alert)
    assert world.other_clinician not in alerting.assignable_users(alert)


# --- Escalation ------------------------------------------------------------------------------------

def _age(alert, minutes):
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))


def escalations(user=None):
    qs = Notification.objects.filter(idempotency_key__startswith="alert-escalated:")
    return qs.filter(recipient=user) if user else qs


def test_unacknowledged_critical_alert_escalates_to_leads_once(world, alert):
    _age(alert, 29)
    assert alerting.escalate_due() == 0
    _age(alert, 31)
    assert alerting.escalate_due() == 1
    assert escalations(world.lead).exists() and not escalations(world.clinician).exists()
    assert Alert.objects.get(pk=alert.pk).escalated_at is not None
    count = escalations().count()
    assert alerting.escalate_due(timezone.now() + timedelta(hours=3)) == 0
    assert escalations().count() == count


def test_acknowledged_or_snoozed_alerts_do_not_escalate(world, alert):
    _age(alert, 60)
    alerting.alert_snooze(alert=alert, actor=world.clinician, until=timezone.now() + timedelta(hours=1),
                          reason="Patient in clinic now")
    assert alerting.escalate_due() == 0
    alerting.alert_acknowledge(alert=alert, actor=world.clinician)
    assert alerting.escalate_due(timezone.now() + timedelta(hours=2)) == 0


def test_escalation_minutes_from_the_program_setting(world, alert):
    ProgramSetting.objects.create(program=world.cardiac, key="alerts.escalation_minutes", value="90")
    _age(alert, 60)
    assert alerting.escalate_due() == 0
    _age(alert, 91)
    assert alerting.escalate_due() == 1


def test_program_leads(world):
    assert alerting.program_leads(world.cardiac) == [world.lead]
    assert alerting.program_leads(world.other_program) == [world.outsider]   # no Clinical Lead: global admins


# --- Triggers ------------------------------------------------------------------------------------------

def test_ingest_signal_evaluates_the_patient(world, django_capture_on_commit_callbacks):
    from clinical import ingest

    patient = world.cardiac_patients[1]
    ensure_default_rules(world.cardiac)
    with django_capture_on_commit_callbacks(execute=True):
        ingest.store(patient, "withings", readings=[ingest.Reading(
            "blood_pressure", timezone.now() - timedelta(minutes=5), 186.0, 101.0, context="home")])
    alert = Alert.objects.get(patient=patient)
    assert alert.code == "hypertensive_crisis" and alert.severity == "critical"


def test_queue_evaluation_for_manual_entries(world, django_capture_on_commit_callbacks):
    from clinical.triggers import queue_evaluation

    patient = world.metabolic_patients[0]
    ensure_default_rules(world.metabolic)
    reading(patient, "glucose", 50, timezone.now() - timedelta(minutes=5), source="staff")
    with django_capture_on_commit_callbacks(execute=True):
        queue_evaluation(patient.pk)
    assert Alert.objects.get(patient=patient).code == "hypoglycemia_level_2"


def test_evaluate_all_runs_every_active_patient(world):
    from clinical.tasks import evaluate_all

    ensure_default_rules(world.cardiac)
    ensure_default_rules(world.metabolic)
    low, paused = world.metabolic_patients[0], world.metabolic_patients[1]
    reading(low, "glucose", 60, timezone.now() - timedelta(hours=1), context="random")
    reading(paused, "glucose", 60, timezone.now() - timedelta(hours=1), context="random")
    paused.status = "paused"
    paused.save()
    assert evaluate_all() == len(world.cardiac_patients) + len(world.metabolic_patients) - 1 + len(
        world.foreign_patients)
    assert Alert.objects.filter(patient=low).count() == 1
    assert not Alert.objects.filter(patient=paused).exists()


def test_beat_schedule_has_the_nightly_run_and_the_escalation_sweep(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"clinical.evaluate_all", "clinical.escalate_alerts"} <= tasks


# --- Default rules ------------------------------------------------------------------------------------

def test_default_rules_are_idempotent_and_keep_admin_edits(world):
    assert ensure_default_rules(world.metabolic) == len(DEFAULT_RULES)
    rule = ClinicalRule.objects.get(program=world.metabolic, code="spo2_low")
    rule.threshold, rule.enabled = 88, False
    rule.save()
    assert ensure_default_rules(world.metabolic) == 0
    rule.refresh_from_db()
    assert rule.threshold == 88 and rule.enabled is False
    codes = set(ClinicalRule.objects.filter(program=world.metabolic).values_list("code", flat=True))
    assert {"hypertensive_crisis", "bp_stage2_home", "bp_stage2_office", "spo2_low", "resting_hr_trend_up",
            "hrv_trend_down", "no_data_3d", "weight_gain_3d", "hypoglycemia_level_1",
            "hypoglycemia_level_2"} == codes


def test_new_program_gets_the_default_rules(world, django_capture_on_commit_callbacks):
    from patients.tests.factories import ProgramFactory

    with django_capture_on_commit_callbacks(execute=True):
        program = ProgramFactory(project=world.project, name="Cardiac Rehab West")
    # Apps above clinical add their own rules to a new program too (care's missed critical doses).
    defaults = ClinicalRule.objects.filter(program=program, code__in=[r["code"] for r in DEFAULT_RULES])
    assert defaults.count() == len(DEFAULT_RULES)
    assert ClinicalRule.objects.get(program=program, code="weight_gain_3d").enabled


def test_management_command(world, capsys):
    call_command("ensure_default_rules")
    assert ClinicalRule.objects.filter(program=world.cardiac).count() == len(DEFAULT_RULES)
    call_command("ensure_default_rules", "--program", str(world.cardiac.pk))
    assert "0 rule(s) created" in capsys.readouterr().out


def test_broken_rule_does_not_stop_the_others(world):
    patient = world.cardiac_patients[1]
    broken = ClinicalRule.objects.create(project=world.project, code="broken", name="Broken", metric="spo2",
                                         condition="<", threshold=90, params={"aggregate": "mean",
                                                                              "min_points": "x"}, priority=200)
    broken.condition = "nonsense"
    ClinicalRule.objects.filter(pk=broken.pk).update(condition="nonsense")
    good = default_rule(world.cardiac, "spo2_low")
    reading(patient, "spo2", 85, timezone.now() - timedelta(hours=1))
    outcomes = alerting.evaluate_patient(patient, [ClinicalRule.objects.get(pk=broken.pk), good])
    assert [o.rule.code for o in outcomes] == ["spo2_low"] and outcomes[0].created


def test_now_parameter_is_respected(world):
    patient = world.cardiac_patients[1]
    rule = default_rule(world.cardiac, "spo2_low")
    reading(patient, "spo2", 85, ago(days=1))
    assert alerting.evaluate_patient(patient, [rule], now=NOW)[0].created
    assert not alerting.evaluate_patient(patient, [rule], now=NOW + timedelta(days=5))[0].result.fired
