"""Care plans: templates offered to a patient, applying one (a dated plan, its goals and its
tasks, in one transaction), status changes draft → active → completed | revoked, goal progress.
Every change is audited and keeps field history with its reason (django-simple-history's
change reason: who, when, why)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from care.models import CarePlan, CarePlanTemplate, Goal, Task
from care.services import tasks as task_services
from mahalo import audit

TRANSITIONS = {
    CarePlan.Status.DRAFT: {CarePlan.Status.ACTIVE, CarePlan.Status.REVOKED},
    CarePlan.Status.ACTIVE: {CarePlan.Status.COMPLETED, CarePlan.Status.REVOKED},
    CarePlan.Status.COMPLETED: set(),
    CarePlan.Status.REVOKED: set(),
}
MAX_OCCURRENCES = 52  # per activity: a daily activity belongs in rehab, not in a staff task list


def templates_for(patient):
    return (CarePlanTemplate.objects.filter(project_id=patient.project_id, is_active=True)
            .filter(Q(program__isnull=True) | Q(program_id=patient.program_id)).order_by("name"))


def default_anchor(template: CarePlanTemplate, patient) -> date:
    if template.anchor == "surgery" and patient.surgery_date:
        return patient.surgery_date
    if template.anchor == "enrolment":
        enrolment = patient.enrollments.filter(ended_at__isnull=True).order_by("-started_at").first()
        if enrolment is not None:
            return enrolment.started_at.astimezone(patient.tz).date()
    return patient.today


def _dated_phases(template: CarePlanTemplate, start: date) -> list[dict]:
    out, cursor = [], start
    for phase in template.phases or []:
        weeks = max(1, int(phase.get("weeks") or 1))
        end = cursor + timedelta(weeks=weeks) - timedelta(days=1)
        out.append({"name": str(phase.get("name") or "Phase"), "start": cursor.isoformat(), "end": end.isoformat(),
                    "criteria": str(phase.get("criteria") or ""), "activities": phase.get("activities") or []})
        cursor = end + timedelta(days=1)
    return out


@transaction.atomic
def plan_apply(*, template: CarePlanTemplate, patient, actor, start: date | None = None, activate: bool = True,
               request=None, via: str = "") -> CarePlan:
    """Make a dated plan from a template: phases from the anchor, goals due at their week's end, and a
    task for each activity occurrence (every `every_days` within its phase; once at its start when 0),
    assigned to the person applying it, due at 17:00 local time. A plan anchored in the past (surgery
    five weeks ago) gets no backlog of recurring tasks whose dates passed; a one-off step that was
    due already (the intake) is due today."""
    if template.project_id != patient.project_id or (template.program_id and template.program_id != patient.program_id):
        raise ValidationError({"template": ["This template isn't offered for this patient's program."]})
    if not template.phases:
        raise ValidationError({"template": ["This template has no phases."]})
    start = start or default_anchor(template, patient)
    phases = _dated_phases(template, start)
    plan = CarePlan.objects.create(
        project_id=patient.project_id, program_id=patient.program_id, patient=patient, template=template,
        name=template.name, start_date=start, end_date=date.fromisoformat(phases[-1]["end"]),
        phases=[{k: v for k, v in p.items() if k != "activities"} for p in phases],
        status=CarePlan.Status.ACTIVE if activate else CarePlan.Status.DRAFT, created_by=actor)
    for spec in template.goals or []:
        week = int(spec.get("week") or template.weeks or 1)
        Goal.objects.create(project_id=patient.project_id, patient=patient, plan=plan,
                            title=str(spec.get("title") or "Goal")[:200], category=str(spec.get("category") or "")[:40],
                            target_value=spec.get("target"), baseline_value=spec.get("baseline"),
                            unit=str(spec.get("unit") or "")[:20], due_date=start + timedelta(weeks=week, days=-1))
    made = 0
    tz, today = patient.tz, patient.today
    for phase in phases:
        first, last = date.fromisoformat(phase["start"]), date.fromisoformat(phase["end"])
        for act in phase["activities"]:
            every = int(act.get("every_days") or 0)
            day, n = first, 0
            title, about = str(act.get("title") or "Activity")[:200], str(act.get("description") or "")
            priority = act.get("priority") if act.get("priority") in Task.Priority.values else Task.Priority.NORMAL
            while day <= last and n < MAX_OCCURRENCES:
                if day < today and every > 0:
                    day += timedelta(days=every)  # a recurring call whose date passed before the plan existed
                    continue
                Task.objects.create(project_id=patient.project_id, program_id=patient.program_id, patient=patient,
                                    title=title, description=about, assignee=actor,
                                    due_at=datetime.combine(max(day, today), time(17), tzinfo=tz), priority=priority,
                                    source=Task.Source.CARE_PLAN, care_plan=plan, created_by=actor)
                made += 1
                n += 1
                if every <= 0:
                    break
                day += timedelta(days=every)
    audit.record(action="write", request=request, actor=actor, resource="care.plan", patient=patient,
                 object_id=plan.pk, metadata={"event": "plan_applied", "template": str(template.pk), "via": via,
                                              "start": start.isoformat(), "tasks": made,
                                              "goals": len(template.goals or [])})
    return plan


@transaction.atomic
def plan_set_status(*, plan: CarePlan, actor, status: str, reason: str, request=None, via: str = "") -> CarePlan:
    plan = CarePlan.objects.select_for_update(of=("self",)).select_related("patient").get(pk=plan.pk)
    reason = (reason or "").strip()
    if status not in TRANSITIONS.get(plan.status, set()):
        raise ValidationError({"status": [f"A {plan.get_status_display().lower()} plan can't become {status}."]})
    if status == CarePlan.Status.REVOKED and not reason:
        raise ValidationError({"reason": ["Say why the plan is revoked."]})
    before = plan.status
    plan.status = status
    plan._change_reason = reason[:100] or None
    plan.save()
    if status in (CarePlan.Status.REVOKED, CarePlan.Status.COMPLETED):
        for task in plan.tasks.filter(status__in=Task.OPEN_STATES):
            task_services.task_cancel(task=task, actor=actor, reason=f"Care plan {plan.get_status_display().lower()}"
                                      + (f": {reason}" if reason else ""), request=request, via="plan")
    audit.record(action="update", request=request, actor=actor, resource="care.plan", patient=plan.patient,
                 object_id=plan.pk, metadata={"event": "plan_status", "from": before, "to": status, "reason": reason,
                                              "via": via})
    return plan


@transaction.atomic
def goal_update(*, goal: Goal, actor, current_value: float | None, status: str, reason: str = "", request=None,
                via: str = "") -> Goal:
    if status not in Goal.Status.values:
        raise ValidationError({"status": ["Unknown goal status."]})
    goal = Goal.objects.select_for_update(of=("self",)).select_related("patient").get(pk=goal.pk)
    before = {"current_value": goal.current_value, "status": goal.status}
    goal.current_value, goal.status = current_value, status
    goal._change_reason = (reason or "").strip()[:100] or None
    goal.save()
    audit.record(action="update", request=request, actor=actor, resource="care.goal", patient=goal.patient,
                 object_id=goal.pk, metadata={"event": "goal_updated", "before": before, "reason": reason, "via": via})
    return goal


def plan_view(plan: CarePlan, today: date, now) -> dict:
    """A plan for the chart: phases with their state, goals, what is due and what is overdue."""
    phases = []
    for p in plan.phases:
        start, end = date.fromisoformat(p["start"]), date.fromisoformat(p["end"])
        phases.append({**p, "start": start, "end": end,
                       "state": "done" if end < today else "current" if start <= today else "upcoming"})
    open_tasks = list(plan.tasks.filter(status__in=Task.OPEN_STATES).select_related("assignee").order_by("due_at"))
    return {"plan": plan, "phases": phases, "goals": list(plan.goals.all()),
            "overdue": [t for t in open_tasks if t.due_at and t.due_at < now],
            "due_soon": [t for t in open_tasks if t.due_at and now <= t.due_at < now + timedelta(days=7)],
            "later": sum(1 for t in open_tasks if t.due_at and t.due_at >= now + timedelta(days=7)),
            "done": plan.tasks.filter(status=Task.Status.DONE).count(),
            "history": list(plan.history.select_related("history_user").order_by("-history_date")[:20])}


def plans_for(patient) -> list[CarePlan]:
    return list(CarePlan.objects.filter(patient=patient).select_related("template", "created_by"))


DEFAULT_TEMPLATES = [
    {"name": "Cardiac rehab phase II, 12 weeks", "anchor": "surgery",
     "description": "Supervised outpatient cardiac rehabilitation after an event or surgery (AACVPR phase II).",
     "phases": [
         {"name": "Early outpatient (weeks 1–4)", "weeks": 4,
          "criteria": "Stable vitals at rest; tolerates 20 minutes of walking at RPE 11–13.",
          "activities": [{"title": "Intake: exercise test review and risk stratification", "every_days": 0,
                          "priority": "high"},
                         {"title": "Weekly check-in call (symptoms, BP log, medications)", "every_days": 7}]},
         {"name": "Progressive conditioning (weeks 5–8)", "weeks": 4,
          "criteria": "30 minutes of moderate exercise at RPE 12–14 without symptoms.",
          "activities": [{"title": "Weekly check-in call (symptoms, BP log, medications)", "every_days": 7}]},
         {"name": "Maintenance and discharge (weeks 9–12)", "weeks": 4,
          "criteria": "Independent home exercise plan; risk factors reviewed.",
          "activities": [{"title": "Discharge review and home exercise plan", "every_days": 0, "priority": "high"}]},
     ],
     "goals": [{"title": "Walk 150 minutes a week", "category": "activity", "target": 150, "baseline": 0,
                "unit": "min/week", "week": 12},
               {"title": "Home systolic BP under 130", "category": "blood pressure", "target": 130, "baseline": 150,
                "unit": "mmHg", "week": 12}]},
    {"name": "Type 2 diabetes coaching, 8 weeks", "anchor": "enrolment",
     "description": "Lifestyle coaching with glucose monitoring and medication review.",
     "phases": [
         {"name": "Foundations (weeks 1–4)", "weeks": 4, "criteria": "Logs glucose daily; meal plan agreed.",
          "activities": [{"title": "Medication reconciliation", "every_days": 0, "priority": "high"},
                         {"title": "Coaching call", "every_days": 14}]},
         {"name": "Habits (weeks 5–8)", "weeks": 4, "criteria": "Fasting glucose mostly in target.",
          "activities": [{"title": "Coaching call", "every_days": 14},
                         {"title": "Order HbA1c", "every_days": 0}]},
     ],
     "goals": [{"title": "Fasting glucose under 130 mg/dL", "category": "glucose", "target": 130, "baseline": 160,
                "unit": "mg/dL", "week": 8},
               {"title": "Lose 3 kg", "category": "weight", "target": 3, "baseline": 0, "unit": "kg", "week": 8}]},
]


def ensure_default_templates(project) -> int:
    made = 0
    for spec in DEFAULT_TEMPLATES:
        _, created = CarePlanTemplate.objects.get_or_create(project=project, program=None, name=spec["name"],
                                                            defaults={k: v for k, v in spec.items() if k != "name"})
        made += created
    return made
