"""Due-soon and overdue task notifications (issue 16), through `messaging.notify`.

The beat sweeper (`care.notify_due_tasks`, every 5 minutes) finds open tasks whose assignee has not been
told yet and raises one event per task and due time. Idempotent twice over: the task's
`*_notified_at` stamp keeps the sweep cheap, and the notification key carries the due time, so a
retried or concurrent sweep writes nothing new while a task given a new due time is announced again.
A team task (no assignee, a role) goes to the active staff holding that role who can see the patient."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from care.models import Task
from mahalo import access
from messaging.notify import notify

DUE_SOON = timedelta(hours=24)  # "due soon" = due within the next day
BATCH = 500


def _recipients(task: Task) -> list:
    if task.assignee_id:
        return [task.assignee]
    if task.assignee_role_id:
        from mahalo.models import StaffMember

        staff = StaffMember.objects.filter(role_id=task.assignee_role_id, is_active=True,
                                           user__is_active=True).select_related("user")
        return [s.user for s in staff if access.can(s.user, "clinical", "read", task.patient)]
    return []


def _when(task: Task) -> str:
    tz = task.patient.tz if task.patient_id else timezone.get_current_timezone()
    return f"{timezone.localtime(task.due_at, tz):%a %d %b %H:%M}"


def _raise(task: Task, event_type: str, stamp_field: str, now: datetime) -> bool:
    with transaction.atomic():
        # Re-read under a lock: a concurrent sweep or a completed task changes nothing.
        locked = (Task.objects.select_for_update(of=("self",))
                  .select_related("patient__program", "patient__project", "assignee")
                  .filter(pk=task.pk, status__in=Task.OPEN_STATES, **{f"{stamp_field}__isnull": True}).first())
        if locked is None or locked.due_at is None:
            return False
        recipients = _recipients(locked)
        if recipients:
            notify(event_type=event_type, recipients=recipients, patient=locked.patient,
                   context={"task": locked.title, "due": _when(locked), "priority": locked.get_priority_display()},
                   key=f"{event_type}:{locked.pk}:{locked.due_at.isoformat()}", link=f"/tasks/{locked.pk}/",
                   urgent=event_type == "task_overdue" and locked.priority == Task.Priority.URGENT, now=now)
        Task.objects.filter(pk=locked.pk).update(**{stamp_field: now})
    return bool(recipients)


def notify_due_tasks(now: datetime | None = None) -> dict:
    """Tell assignees about tasks due within DUE_SOON and tasks now overdue. Returns counts."""
    now = now or timezone.now()
    open_tasks = Task.objects.filter(status__in=Task.OPEN_STATES, due_at__isnull=False)
    sent = {"task_overdue": 0, "task_due_soon": 0}
    overdue = open_tasks.filter(due_at__lt=now, overdue_notified_at__isnull=True).order_by("due_at")[:BATCH]
    for task in overdue:
        sent["task_overdue"] += _raise(task, "task_overdue", "overdue_notified_at", now)
    # A task already overdue is not also "due soon".
    soon = open_tasks.filter(due_at__gte=now, due_at__lt=now + DUE_SOON,
                             due_soon_notified_at__isnull=True).order_by("due_at")[:BATCH]
    for task in soon:
        sent["task_due_soon"] += _raise(task, "task_due_soon", "due_soon_notified_at", now)
    return sent
