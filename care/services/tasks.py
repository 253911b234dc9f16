"""The staff task list: create (by hand, from a rule's assign_task, from other apps' events),
start, complete with an outcome, cancel, reassign, comment; the one filter shared by the page
and the API; the counts on the staff home.

Who may act on a task: staff whose role may update clinical data for its patient, or its
assignee (a dietitian with clinical:read completes the task given to them). Everything is
audited through `mahalo.audit` and keeps field history (django-simple-history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from care.models import Task, TaskComment
from mahalo import access, audit

RESOURCE = "clinical"  # care data is clinical data for the gate (no separate role resource yet)

# Rule severity -> task priority and how soon it is due (hours) when the rule says nothing.
SEVERITY_PRIORITY = {"critical": Task.Priority.URGENT, "warning": Task.Priority.HIGH, "info": Task.Priority.NORMAL}
SEVERITY_DUE_HOURS = {"critical": 4, "warning": 24, "info": 72}


# --- Who ----------------------------------------------------------------------------------

def may_act(user, task: Task) -> bool:
    if task.assignee_id == user.pk and access.can(user, RESOURCE, "read", task.patient):
        return True
    return access.can(user, RESOURCE, "update", task.patient)


def assignable_staff(user, patient=None) -> list:
    """Active colleagues in the user's tenant who can read clinical data (of `patient` if given)."""
    from mahalo.models import StaffMember

    project = access.project_of(user)
    if project is None:
        return []
    staff = (StaffMember.objects.filter(project=project, is_active=True, user__is_active=True,
                                        role__permissions__resource=RESOURCE, role__permissions__action="read")
             .select_related("user", "role").distinct().order_by("user__full_name", "user__email"))
    users = [s.user for s in staff]
    if patient is not None:
        users = [u for u in users if access.can(u, RESOURCE, "read", patient)]
    return users


# --- Writes -------------------------------------------------------------------------------

def _source_key(source_obj) -> tuple[ContentType | None, str]:
    if source_obj is None:
        return None, ""
    return ContentType.objects.get_for_model(source_obj), str(source_obj.pk)


@transaction.atomic
def task_create(*, patient, title: str, actor=None, assignee=None, assignee_role=None, due_at: datetime | None = None,
                priority: str = Task.Priority.NORMAL, source: str = Task.Source.MANUAL, source_obj=None,
                description: str = "", request=None, via: str = "") -> Task:
    """Create a task, or return the open task already made for the same source (idempotent)."""
    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = ["Say what needs doing."]
    if priority not in Task.Priority.values:
        errors["priority"] = ["Unknown priority."]
    if due_at is not None and timezone.is_naive(due_at):
        errors["due_at"] = ["A due time needs a time zone."]
    if assignee is not None and not access.can(assignee, RESOURCE, "read", patient):
        errors["assignee"] = ["This person can't see this patient's record."]
    if errors:
        raise ValidationError(errors)
    source_type, source_id = _source_key(source_obj)
    if source_id:
        existing = Task.objects.filter(source_type=source_type, source_id=source_id,
                                       status__in=Task.OPEN_STATES).first()
        if existing is not None:
            return existing
    task = Task(project_id=patient.project_id, program_id=patient.program_id, patient=patient, title=title[:200],
                description=description, assignee=assignee, assignee_role=assignee_role, due_at=due_at,
                priority=priority, source=source, source_type=source_type, source_id=source_id,
                created_by=actor if getattr(actor, "is_authenticated", False) else None)
    try:
        with transaction.atomic():
            task.save()
    except IntegrityError:  # a concurrent creator for the same source won
        return Task.objects.get(source_type=source_type, source_id=source_id, status__in=Task.OPEN_STATES)
    audit.record(action="write", request=request, actor=actor, resource="care.task", patient=patient,
                 object_id=task.pk, metadata={"event": "task_created", "source": source, "via": via,
                                              "assignee": str(assignee.pk) if assignee else None})
    return task


def _locked(task: Task) -> Task:
    return Task.objects.select_for_update().select_related("patient").get(pk=task.pk)


def _check_may_act(actor, task):
    if not may_act(actor, task):
        raise ValidationError({"__all__": ["Only its assignee or staff who may update this patient's care can "
                                           "change this task."]})


@transaction.atomic
def task_start(*, task: Task, actor, request=None, via: str = "") -> Task:
    task = _locked(task)
    _check_may_act(actor, task)
    if task.status != Task.Status.OPEN:
        raise ValidationError({"status": [f"A task that is {task.get_status_display().lower()} can't be started."]})
    task.status = Task.Status.IN_PROGRESS
    if task.assignee_id is None:
        task.assignee = actor  # starting an unassigned (team) task takes it
    task.save()
    audit.record(action="update", request=request, actor=actor, resource="care.task", patient=task.patient,
                 object_id=task.pk, metadata={"event": "task_started", "via": via})
    return task


@transaction.atomic
def task_complete(*, task: Task, actor, outcome: str, request=None, via: str = "") -> Task:
    task = _locked(task)
    _check_may_act(actor, task)
    outcome = (outcome or "").strip()
    if not task.is_open:
        raise ValidationError({"status": [f"This task is already {task.get_status_display().lower()}."]})
    if not outcome:
        raise ValidationError({"outcome": ["Say what was done (the outcome is part of the record)."]})
    task.status, task.outcome = Task.Status.DONE, outcome
    task.completed_at, task.completed_by = timezone.now(), actor
    task.save()
    audit.record(action="update", request=request, actor=actor, resource="care.task", patient=task.patient,
                 object_id=task.pk, metadata={"event": "task_completed", "via": via})
    return task


@transaction.atomic
def task_cancel(*, task: Task, actor, reason: str, request=None, via: str = "") -> Task:
    task = _locked(task)
    _check_may_act(actor, task)
    reason = (reason or "").strip()
    if not task.is_open:
        raise ValidationError({"status": [f"This task is already {task.get_status_display().lower()}."]})
    if not reason:
        raise ValidationError({"outcome": ["Say why the task is cancelled."]})
    task.status, task.outcome = Task.Status.CANCELLED, reason
    task.completed_at, task.completed_by = timezone.now(), actor
    task.save()
    audit.record(action="update", request=request, actor=actor, resource="care.task", patient=task.patient,
                 object_id=task.pk, metadata={"event": "task_cancelled", "via": via})
    return task


@transaction.atomic
def task_reassign(*, task: Task, actor, assignee, note: str = "", request=None, via: str = "") -> Task:
    task = _locked(task)
    _check_may_act(actor, task)
    if not task.is_open:
        raise ValidationError({"status": ["Only an open task can be reassigned."]})
    if assignee is None or not access.can(assignee, RESOURCE, "read", task.patient):
        raise ValidationError({"assignee": ["Choose a colleague who can see this patient's record."]})
    before = task.assignee_id
    task.assignee = assignee
    task.save()
    if note.strip():
        TaskComment.objects.create(task=task, author=actor, body=note.strip())
    audit.record(action="update", request=request, actor=actor, resource="care.task", patient=task.patient,
                 object_id=task.pk, metadata={"event": "task_reassigned", "via": via,
                                              "from": str(before) if before else None, "to": str(assignee.pk)})
    return task


@transaction.atomic
def task_comment(*, task: Task, actor, body: str, request=None, via: str = "") -> TaskComment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write a comment."]})
    if not access.can(actor, RESOURCE, "read", task.patient):
        raise ValidationError({"__all__": ["You can't see this patient's record."]})
    comment = TaskComment.objects.create(task=task, author=actor, body=body[:5000])
    audit.record(action="write", request=request, actor=actor, resource="care.task", patient=task.patient,
                 object_id=task.pk, metadata={"event": "task_comment", "via": via})
    return comment


# --- The rules engine's assign_task (registered with clinical in CareConfig.ready) --------

def on_rule_assign_task(*, alert, rule, patient) -> Task:
    """A rule whose action is assign_task opened an alert: make the task it asks for.
    params: "assignee" (clinical resolved it onto the alert), "due_hours", "priority", "task"
    (the task's title; default the rule's name)."""
    params = rule.params or {}
    severity = str(alert.severity)
    try:
        hours = float(params.get("due_hours", SEVERITY_DUE_HOURS.get(severity, 24)))
    except (TypeError, ValueError):
        hours = SEVERITY_DUE_HOURS.get(severity, 24)
    priority = params.get("priority")
    if priority not in Task.Priority.values:
        priority = SEVERITY_PRIORITY.get(severity, Task.Priority.NORMAL)
    return task_create(patient=patient, title=str(params.get("task") or rule.name), description=alert.body,
                       assignee=alert.assignee, due_at=timezone.now() + timedelta(hours=hours), priority=priority,
                       source=Task.Source.RULE, source_obj=alert, via="rule")


# --- Other apps' events (assessments' safety pathway calls these: it sits above care) ------

def task_for_safety(*, event, patient, title: str, description: str, assignee, due_at) -> Task:
    """The task a safety answer makes: urgent, due when the program says someone must have acted."""
    return task_create(patient=patient, title=title, description=description, assignee=assignee, due_at=due_at,
                       priority=Task.Priority.URGENT, source=Task.Source.SAFETY, source_obj=event, via="safety")


def complete_for_sources(*, model, ids, actor, outcome: str, request=None) -> int:
    """Complete the open tasks made for these rows (e.g. a response's safety events once its
    outcome is documented). The outcome is the source's own documentation."""
    ct = ContentType.objects.get_for_model(model)
    done = 0
    for task in Task.objects.filter(source_type=ct, source_id__in=[str(i) for i in ids], status__in=Task.OPEN_STATES):
        task.status, task.outcome = Task.Status.DONE, outcome
        task.completed_at, task.completed_by = timezone.now(), actor
        task.save()
        audit.record(action="update", request=request, actor=actor, resource="care.task", patient=task.patient,
                     object_id=task.pk, metadata={"event": "task_completed", "via": "source"})
        done += 1
    return done


# --- Reading: the one filter for the page and the API ---------------------------------------

VIEWS = {"mine": "Assigned to me", "team": "My team", "unassigned": "Unassigned"}
STATUSES = {"open": "Open or in progress", "done": "Done", "cancelled": "Cancelled", "all": "Any status"}
DUES = {"overdue": "Overdue", "today": "Due today", "week": "Due in 7 days", "none": "No due date"}


@dataclass
class TaskFilter:
    view: str = "mine"
    status: str = "open"
    priority: str = ""
    due: str = ""
    source: str = ""
    patient: str = ""
    errors: dict = field(default_factory=dict)

    def as_params(self) -> dict:
        return {k: v for k, v in {"view": self.view, "status": self.status, "priority": self.priority,
                                  "due": self.due, "source": self.source, "patient": self.patient}.items() if v}


def parse_filter(params) -> TaskFilter:
    f = TaskFilter()
    checks = {"view": VIEWS, "status": STATUSES, "priority": Task.Priority.values, "due": DUES,
              "source": Task.Source.values}
    for name, allowed in checks.items():
        value = (params.get(name) or "").strip()
        if not value:
            continue
        if value not in allowed:
            f.errors[name] = f"Unknown {name} {value!r}."
        else:
            setattr(f, name, value)
    patient = (params.get("patient") or "").strip()
    if patient:
        import uuid

        try:
            f.patient = str(uuid.UUID(patient))
        except ValueError:
            f.errors["patient"] = "Not a patient id."
    return f


def visible_tasks(user) -> QuerySet[Task]:
    return access.scoped(user, Task.objects.all(), RESOURCE).select_related(
        "patient", "patient__program", "assignee", "assignee_role")


def filter_tasks(user, f: TaskFilter, now: datetime | None = None) -> QuerySet[Task]:
    now = now or timezone.now()
    qs = visible_tasks(user)
    if f.view == "mine":
        qs = qs.filter(assignee=user)
    elif f.view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if f.status == "open":
        qs = qs.filter(status__in=Task.OPEN_STATES)
    elif f.status in ("done", "cancelled"):
        qs = qs.filter(status=f.status)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if f.source:
        qs = qs.filter(source=f.source)
    if f.patient:
        qs = qs.filter(patient_id=f.patient)
    if f.due == "overdue":
        qs = qs.filter(status__in=Task.OPEN_STATES, due_at__lt=now)
    elif f.due == "today":
        # The day in the active time zone (the user's program, set by the middleware).
        start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        qs = qs.filter(status__in=Task.OPEN_STATES, due_at__gte=start, due_at__lt=start + timedelta(days=1))
    elif f.due == "week":
        qs = qs.filter(due_at__lt=now + timedelta(days=7))
    elif f.due == "none":
        qs = qs.filter(due_at__isnull=True)
    rank = Case(*[When(priority=p, then=Value(r)) for p, r in Task.PRIORITY_RANK.items()], output_field=IntegerField())
    # Overdue and urgent first; a task with no due date after those with one.
    return qs.annotate(prio_rank=rank).order_by(
        Case(When(due_at__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()),
        "due_at", "prio_rank", "-created_at")


def open_count(user) -> int:
    return visible_tasks(user).filter(assignee=user, status__in=Task.OPEN_STATES).count()


def overdue_count(user) -> int:
    return visible_tasks(user).filter(assignee=user, status__in=Task.OPEN_STATES, due_at__lt=timezone.now()).count()


def patient_task_facts(patient) -> dict:
    """The chart's Overview fact: open and overdue tasks about this patient."""
    rows = Task.objects.filter(patient=patient, status__in=Task.OPEN_STATES)
    return {"open": rows.count(), "overdue": rows.filter(due_at__lt=timezone.now()).count(),
            "next": rows.exclude(due_at__isnull=True).order_by("due_at").first()}


def task_history(task: Task) -> list:
    return list(task.history.select_related("history_user").order_by("-history_date")[:30])

