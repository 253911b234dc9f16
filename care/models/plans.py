"""Care plans (CarePlan 003, PhysicalTherapyPhases 004): a template per program (phases with their
weeks and criteria, goals, recurring staff activities) applied to a patient as a dated plan with its
goals and tasks. Templates hold their structure as JSON (the seed's shape: phases with durationWeeks
and tasks); a plan keeps its own dated copy, so editing a template never rewrites a patient's plan."""

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class CarePlanTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", help_text="Empty: offered to every program of the tenant.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # [{"name", "weeks", "criteria", "activities": [{"title", "description", "every_days", "priority"}]}]
    phases = models.JSONField(default=list)
    # [{"title", "category", "target", "unit", "week"}]: due at the end of that week of the plan
    goals = models.JSONField(default=list, blank=True)
    anchor = models.CharField(max_length=12, default="enrolment",
                              choices=[("enrolment", "Enrolment date"), ("surgery", "Surgery date"),
                                       ("start", "Chosen date")])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "program", "name"], name="uniq_plan_template")]

    def __str__(self):
        return self.name

    @property
    def weeks(self) -> int:
        return sum(int(p.get("weeks") or 0) for p in self.phases or [])


class CarePlan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="care_plans")
    template = models.ForeignKey(CarePlanTemplate, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="plans")
    name = models.CharField(max_length=200)
    start_date = models.DateField()
    end_date = models.DateField()
    # Dated copy: [{"name", "start", "end", "criteria"}] (ISO dates)
    phases = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-created_at"]
        indexes = [models.Index(fields=["patient", "status"], name="plan_patient_status_idx")]

    def __str__(self):
        return self.name


class Goal(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "In progress"
        ACHIEVED = "achieved", "Achieved"
        NOT_ACHIEVED = "not_achieved", "Not achieved"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="care_goals")
    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, null=True, blank=True, related_name="goals")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # 004 TherapyGoals and 002 wellness goals are this one table; `kind` says which program work it is.
    kind = models.CharField(max_length=10, default="care", choices=[("care", "Care plan"), ("therapy", "Therapy"),
                                                                     ("wellness", "Wellness")])
    category = models.CharField(max_length=40, blank=True, help_text="activity, blood pressure, weight, diet…")
    # A goal naming a metric has its current value computed from the data (care/services/rehab.py).
    metric = models.CharField(max_length=20, blank=True, choices=[
        ("", "None (entered by staff)"), ("steps", "Steps per day (7-day average)"),
        ("exercise_minutes", "Minutes of exercise (last 7 days)"), ("weight", "Weight (latest)"),
        ("sodium", "Sodium per day (7-day average)")])
    target_value = models.FloatField(null=True, blank=True)
    current_value = models.FloatField(null=True, blank=True)
    baseline_value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.ACTIVE)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "title"]

    def __str__(self):
        return self.title

    @property
    def progress(self) -> int | None:
        """Percent of the way from baseline (or 0) to target; None without numbers."""
        if self.target_value is None or self.current_value is None:
            return None
        start = self.baseline_value if self.baseline_value is not None else 0.0
        span = self.target_value - start
        if span == 0:
            return 100
        return max(0, min(100, round(100 * (self.current_value - start) / span)))
