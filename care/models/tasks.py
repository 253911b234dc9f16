"""Tasks: the one list of work for staff (rules' assign_task, safety events, referrals, care
plans, manual). A task belongs to a patient so the gate scopes it like the patient's other data."""

import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Task(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        RULE = "rule", "Clinical rule"
        SAFETY = "safety", "Safety event"
        REFERRAL = "referral", "Referral"
        CARE_PLAN = "care_plan", "Care plan"
        MEDICATION = "medication", "Medication"

    OPEN_STATES = (Status.OPEN, Status.IN_PROGRESS)
    PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="care_tasks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="care_tasks")
    # A task for "whoever holds this role in the patient's program" until someone takes it.
    assignee_role = models.ForeignKey("mahalo.Role", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    due_at = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    # What made the task (an alert, a safety event, a referral...): generic, because the sources live in
    # apps below and above care; the id is text so UUID and integer keys both fit.
    source_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source_id = models.CharField(max_length=64, blank=True)
    care_plan = models.ForeignKey("care.CarePlan", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="tasks", help_text="The plan whose activity this is.")
    outcome = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    # When the assignee was told the task is due soon / overdue (care.services.task_notify): the
    # sweeper's "not yet" filter; the notification key carries the due time, so a new due time tells again.
    due_soon_notified_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["due_soon_notified_at", "overdue_notified_at"])

    class Meta:
        ordering = ["due_at", "-created_at"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_status_idx"),
            models.Index(fields=["patient", "status"], name="task_patient_status_idx"),
            models.Index(fields=["project", "status", "due_at"], name="task_project_status_idx"),
        ]
        constraints = [
            # A rule firing twice, or a retried task, never makes a second open task for one source.
            models.UniqueConstraint(fields=["source_type", "source_id"],
                                    condition=Q(status__in=["open", "in_progress"]) & ~Q(source_id=""),
                                    name="uniq_open_task_per_source"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATES

    def is_overdue(self, now=None) -> bool:
        from django.utils import timezone

        return self.is_open and self.due_at is not None and self.due_at < (now or timezone.now())


class TaskComment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
