"""Care plans through HTTP: applying a template makes a dated plan with goals and tasks (in "My
tasks"), status changes keep their reason in the history, goals update, the gate holds."""

from datetime import date, timedelta

import pytest

from care.models import CarePlan, CarePlanTemplate, Goal, Task
from care.services import plans
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def templates(world):
    plans.ensure_default_templates(world.project)
    plans.ensure_default_templates(world.other_project)
    return CarePlanTemplate.objects.filter(project=world.project)


def _rehab(world):
    return CarePlanTemplate.objects.get(project=world.project, name__startswith="Cardiac rehab")


def test_applying_a_template_makes_a_dated_plan_with_tasks_and_goals(world, templates, login):
    patient = world.cardiac_patients[0]
    patient.surgery_date = patient.today - timedelta(days=30)
    patient.save()
    c = login(world.clinician)
    page = c.get(f"/patients/{patient.pk}/care-plan/")
    assert page.status_code == 200 and b"Cardiac rehab phase II, 12 weeks" in page.content
    r = c.post(f"/patients/{patient.pk}/care-plan/apply/", {"template": str(_rehab(world).pk)})
    assert r.status_code == 302
    plan = CarePlan.objects.get(patient=patient)
    assert plan.status == "active" and plan.start_date == patient.surgery_date  # anchored on surgery
    assert plan.end_date == plan.start_date + timedelta(weeks=12, days=-1)
    assert [p["start"] for p in plan.phases] == [(plan.start_date + timedelta(weeks=w)).isoformat() for w in (0, 4, 8)]
    tasks = Task.objects.filter(care_plan=plan)
    # intake (past: due today), weekly calls from today on (days 35, 42, 49), discharge; no backlog
    assert tasks.count() == 1 + 3 + 1
    assert min(t.due_at for t in tasks).astimezone(patient.tz).date() == patient.today
    assert set(tasks.values_list("assignee", flat=True)) == {world.clinician.pk}
    goals = Goal.objects.filter(plan=plan)
    assert goals.count() == 2 and {g.due_date for g in goals} == {plan.end_date}
    tab = c.get(f"/patients/{patient.pk}/care-plan/").content.decode()
    assert "Early outpatient (weeks 1–4)" in tab and "Overdue" in tab and "Walk 150 minutes a week" in tab
    assert "Intake: exercise test review" in tab  # 30 days ago: overdue, listed
    mine = c.get("/tasks/?view=mine&source=care_plan").content.decode()
    assert "Weekly check-in call" in mine
    assert AuditEvent.objects.filter(resource="care.plan", metadata__event="plan_applied").exists()


def test_apply_bad_input_is_400(world, templates, login):
    patient = world.cardiac_patients[0]
    c = login(world.clinician)
    assert c.post(f"/patients/{patient.pk}/care-plan/apply/", {"template": "nope"}).status_code == 400
    foreign = CarePlanTemplate.objects.filter(project=world.other_project).first()
    r = c.post(f"/patients/{patient.pk}/care-plan/apply/", {"template": str(foreign.pk)})
    assert r.status_code == 400 and b"Choose a template" in r.content
    r = c.post(f"/patients/{patient.pk}/care-plan/apply/", {"template": str(_rehab(world).pk), "start": "soon"})
    assert r.status_code == 400 and b"start date" in r.content
    assert not CarePlan.objects.exists()


def test_status_changes_keep_the_reason_and_cancel_open_tasks(world, templates, login):
    patient = world.cardiac_patients[0]
    plan = plans.plan_apply(template=_rehab(world), patient=patient, actor=world.clinician, start=date(2026, 1, 5))
    c = login(world.clinician)
    r = c.post(f"/patients/{patient.pk}/care-plan/{plan.pk}/status/", {"status": "revoked", "reason": ""})
    assert r.status_code == 400 and b"Say why" in r.content
    assert c.post(f"/patients/{patient.pk}/care-plan/{plan.pk}/status/", {"status": "draft"}).status_code == 400
    r = c.post(f"/patients/{patient.pk}/care-plan/{plan.pk}/status/",
               {"status": "revoked", "reason": "Transferred to another centre"})
    assert r.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "revoked"
    assert plan.history.first().history_change_reason == "Transferred to another centre"
    assert not plan.tasks.filter(status__in=Task.OPEN_STATES).exists()
    assert b"Transferred to another centre" in c.get(f"/patients/{patient.pk}/care-plan/").content


def test_goal_progress(world, templates, login):
    patient = world.cardiac_patients[0]
    plan = plans.plan_apply(template=_rehab(world), patient=patient, actor=world.clinician)
    goal = plan.goals.get(title__startswith="Walk")
    c = login(world.clinician)
    r = c.post(f"/patients/{patient.pk}/care-plan/goals/{goal.pk}/", {"current_value": "lots", "status": "active"})
    assert r.status_code == 400 and b"isn" in r.content
    r = c.post(f"/patients/{patient.pk}/care-plan/goals/{goal.pk}/",
               {"current_value": "90", "status": "active", "reason": "Week 6 log"})
    assert r.status_code == 302
    goal.refresh_from_db()
    assert goal.current_value == 90 and goal.progress == 60
    assert goal.history.first().history_change_reason == "Week 6 log"


def test_care_plan_pages_are_gated(world, templates, login, client):
    patient = world.cardiac_patients[0]
    plan = plans.plan_apply(template=_rehab(world), patient=patient, actor=world.clinician)
    goal = plan.goals.first()
    assert client.get(f"/patients/{patient.pk}/care-plan/").status_code == 302
    other = login(world.other_clinician)
    assert other.get(f"/patients/{patient.pk}/care-plan/").status_code == 404
    assert other.post(f"/patients/{patient.pk}/care-plan/apply/",
                      {"template": str(_rehab(world).pk)}).status_code == 404
    assert other.post(f"/patients/{patient.pk}/care-plan/{plan.pk}/status/",
                      {"status": "revoked", "reason": "x"}).status_code == 404
    assert other.post(f"/patients/{patient.pk}/care-plan/goals/{goal.pk}/", {"current_value": "1"}).status_code == 404
    assert login(world.outsider).get(f"/patients/{patient.pk}/care-plan/").status_code == 404
    # a plan id under another (visible) patient's URL is a 404 too
    mine = world.cardiac_patients[1]
    assert login(world.clinician).post(f"/patients/{mine.pk}/care-plan/{plan.pk}/status/",
                                       {"status": "completed"}).status_code == 404
    plan.refresh_from_db()
    assert plan.status == "active"
    # a dietitian reads but can't change a plan
    assert login(world.dietitian).post(f"/patients/{world.metabolic_patients[0].pk}/care-plan/apply/",
                                       {"template": str(_rehab(world).pk)}).status_code == 403
