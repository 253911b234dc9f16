"""The task list through HTTP: rules make tasks, the lists and filters, complete / reassign / bulk,
the gate (another program's or tenant's task is a 404), the staff home's count and the chart fact."""

from datetime import timedelta

import pytest
from django.utils import timezone

from care.models import Task
from care.tests.factories import task
from clinical import alerting
from clinical.models import ClinicalRule
from clinical.tests.alert_helpers import bp, default_rule
from mahalo.models import AuditEvent, StaffMember
from patients.care_team import care_team_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule_task(world):
    """A cardiac patient, a crisis reading and the crisis rule set to assign a task."""
    patient = world.cardiac_patients[1]
    care_team_add(patient=patient, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    rule = default_rule(world.cardiac, "hypertensive_crisis")
    rule.action = ClinicalRule.Action.ASSIGN_TASK
    rule.params = {**rule.params, "task": "Phone the patient about their BP", "due_hours": 2}
    rule.save()
    bp(patient, 190, 100, timezone.now() - timedelta(hours=2))
    return patient, rule


def test_a_rules_assign_task_makes_one_real_task_in_my_tasks(world, rule_task, login):
    patient, rule = rule_task
    alert = alerting.evaluate_patient(patient, [rule])[0].alert
    t = Task.objects.get()
    assert (t.patient, t.assignee, t.source, t.source_id) == (patient, world.clinician, "rule", str(alert.pk))
    assert t.title == "Phone the patient about their BP" and t.priority == "urgent"
    assert timedelta(hours=1.9) < t.due_at - timezone.now() < timedelta(hours=2.1)
    bp(patient, 195, 105, timezone.now() - timedelta(minutes=5))
    alerting.evaluate_patient(patient, [rule])  # fires again: updates the open alert, no second task
    assert Task.objects.count() == 1
    page = login(world.clinician).get("/tasks/")
    assert page.status_code == 200 and b"Phone the patient about their BP" in page.content
    assert b"Phone the patient" not in login(world.other_clinician).get("/tasks/?view=team").content


def test_task_list_needs_a_login_and_a_staff_role(world, client, login):
    assert client.get("/tasks/").status_code == 302
    assert login(world.patient_user).get("/tasks/").status_code == 404


def test_views_and_filters(world, login):
    mine = task(world.cardiac_patients[0], assignee=world.clinician, title="Mine, due later")
    late = task(world.cardiac_patients[1], assignee=world.clinician, title="Mine, overdue", due_in_hours=-3)
    team = task(world.cardiac_patients[2], assignee=None, title="Nobody has it yet")
    c = login(world.clinician)
    body = c.get("/tasks/").content.decode()
    assert "Mine, due later" in body and "Mine, overdue" in body and "Nobody has it yet" not in body
    assert body.index("Mine, overdue") < body.index("Mine, due later")  # overdue first
    overdue = c.get("/tasks/?view=mine&due=overdue").content.decode()
    assert "Mine, overdue" in overdue and "Mine, due later" not in overdue
    assert "Nobody has it yet" in c.get("/tasks/?view=unassigned").content.decode()
    assert all(t.title in c.get("/tasks/?view=team").content.decode() for t in (mine, late, team))
    bad = c.get("/tasks/?status=whatever&due=yesterday")
    assert bad.status_code == 400 and b"Unknown status" in bad.content and b"Unknown due" in bad.content


def test_another_programs_or_tenants_task_is_404(world, login):
    t = task(world.cardiac_patients[0], assignee=world.clinician)
    foreign = task(world.foreign_patients[0], assignee=world.outsider)
    assert login(world.other_clinician).get(f"/tasks/{t.pk}/").status_code == 404
    assert login(world.other_clinician).post(f"/tasks/{t.pk}/complete/", {"outcome": "x"}).status_code == 404
    assert login(world.clinician).get(f"/tasks/{foreign.pk}/").status_code == 404
    assert login(world.clinician).get(f"/tasks/{t.pk}/").status_code == 200
    assert login(world.clinician).get("/tasks/not-a-uuid/").status_code == 404
    t.refresh_from_db()
    assert t.status == "open"
    assert AuditEvent.objects.filter(action="denied", object_id=str(t.pk)).exists()


def test_complete_needs_an_outcome_and_keeps_it(world, login):
    t = task(world.cardiac_patients[0], assignee=world.clinician)
    c = login(world.clinician)
    r = c.post(f"/tasks/{t.pk}/complete/", {"outcome": "  "})
    assert r.status_code == 400 and b"Say what was done" in r.content
    r = c.post(f"/tasks/{t.pk}/complete/", {"outcome": "Spoke to the patient; BP retaken 128/80."})
    assert r.status_code == 302
    t.refresh_from_db()
    assert (t.status, t.completed_by) == ("done", world.clinician)
    assert t.outcome == "Spoke to the patient; BP retaken 128/80."
    assert AuditEvent.objects.filter(resource="care.task", object_id=str(t.pk),
                                     metadata__event="task_completed").exists()
    again = c.post(f"/tasks/{t.pk}/complete/", {"outcome": "again"})
    assert again.status_code == 400 and b"already done" in again.content
    assert t.history.count() == 2


def test_reassign_only_to_someone_who_can_see_the_patient(world, login):
    t = task(world.cardiac_patients[0], assignee=world.clinician)
    c = login(world.clinician)
    r = c.post(f"/tasks/{t.pk}/reassign/", {"assignee": str(world.other_clinician.pk), "note": "keep me"})
    assert r.status_code == 400 and b"keep me" in r.content  # metabolic clinician: not in this program
    assert c.post(f"/tasks/{t.pk}/reassign/", {"assignee": str(world.lead.pk)}).status_code == 302
    t.refresh_from_db()
    assert t.assignee == world.lead


def test_a_dietitian_completes_their_own_task_but_not_others(world, login):
    patient = world.metabolic_patients[0]
    theirs = task(patient, assignee=world.dietitian)
    not_theirs = task(patient, assignee=world.other_clinician)
    c = login(world.dietitian)
    assert c.post(f"/tasks/{theirs.pk}/complete/", {"outcome": "Diet reviewed"}).status_code == 302
    r = c.post(f"/tasks/{not_theirs.pk}/complete/", {"outcome": "Diet reviewed"})
    assert r.status_code == 400 and b"Only its assignee" in r.content


def test_bulk_complete_and_reassign(world, login):
    a = task(world.cardiac_patients[0], assignee=world.clinician)
    b = task(world.cardiac_patients[1], assignee=world.clinician)
    foreign = task(world.foreign_patients[0], assignee=world.outsider)
    c = login(world.clinician)
    r = c.post("/tasks/bulk/", {"action": "complete", "task": [a.pk, b.pk]})
    assert r.status_code == 302
    assert Task.objects.filter(status="done").count() == 0  # no outcome: nothing changed
    c.post("/tasks/bulk/", {"action": "complete", "outcome": "Done in clinic", "task": [a.pk, foreign.pk]})
    a.refresh_from_db(), foreign.refresh_from_db()
    assert a.status == "done" and foreign.status == "open"
    c.post("/tasks/bulk/", {"action": "reassign", "assignee": str(world.lead.pk), "task": [b.pk]})
    b.refresh_from_db()
    assert b.assignee == world.lead


def test_new_task_from_the_chart(world, login):
    patient = world.cardiac_patients[0]
    c = login(world.clinician)
    assert c.get(f"/patients/{world.metabolic_patients[0].pk}/tasks/new/").status_code == 404
    r = c.post(f"/patients/{patient.pk}/tasks/new/", {"title": "", "description": "kept text", "priority": "high"})
    assert r.status_code == 400 and b"kept text" in r.content
    r = c.post(f"/patients/{patient.pk}/tasks/new/", {"title": "Book echo", "priority": "high",
                                                      "assignee": str(world.clinician.pk), "due_date": "2030-01-02"})
    assert r.status_code == 302
    t = Task.objects.get(title="Book echo")
    assert t.due_at.astimezone(patient.tz).hour == 17 and t.created_by == world.clinician
    overview = c.get(f"/patients/{patient.pk}/").content.decode()
    assert "Open tasks" in overview and f"/tasks/?view=team&amp;patient={patient.pk}" in overview


def test_staff_home_today_counts_my_tasks(world, login):
    task(world.cardiac_patients[0], assignee=world.clinician, due_in_hours=-1)
    task(world.cardiac_patients[1], assignee=world.clinician)
    home = login(world.clinician).get("/").content.decode()
    assert "My open tasks" in home and "Overdue tasks" in home
    from mahalo import shell

    items = {i["key"]: i["count"] for i in shell.today_items(world.clinician)}
    assert items["my_tasks"] == 2 and items["overdue_tasks"] == 1


def test_a_safety_answer_makes_an_urgent_task_completed_by_the_documented_outcome(world, login, api_login):
    from assessments import instruments
    from assessments.models import SafetyEvent
    from assessments.tests.factories import assign, phq9_answers

    care_team_add(patient=world.me, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    r = api_login(world.patient_user).post(f"/api/v1/me/assignments/{assign(world.me, instruments.PHQ9).pk}/response/",
                                           {"answers": phq9_answers([0] * 8 + [2])}, format="json")
    assert r.status_code == 201
    event = SafetyEvent.objects.get()
    t = Task.objects.get(source="safety")
    assert (t.assignee, t.priority, t.due_at, t.source_id) == (world.clinician, "urgent", event.due_at, str(event.pk))
    c = login(world.clinician)
    assert "contact the patient" in c.get("/tasks/").content.decode()
    c.post(f"/patients/{world.me.pk}/assessments/safety/{event.pk}/",
           {"outcome": "safety_plan", "note": "Called at 10:05; safety plan reviewed."})
    t.refresh_from_db()
    assert t.status == "done" and "safety plan reviewed" in t.outcome and t.completed_by == world.clinician
