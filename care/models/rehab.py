"""Cardiac rehab (seed 004: Exercises, ExercisePrescriptions, ExerciseLogs, PhysicalTherapyPhases,
TherapyRoutines, Activities): the exercise library, a patient's prescriptions with their heart-rate
zone (Karvonen) and Borg RPE range, exercise logs (manual, from a device workout, or a supervised
session), supervised sessions with attendance (Medicare counts 36), therapy phases with entry/exit
criteria and a patient's progress through them, routines (a set of prescriptions for a phase) and
daily-living activities cleared or not yet cleared."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Exercise(models.Model):
    """The library: the tenant's (program empty) and a clinic's own additions (program set)."""

    class Category(models.TextChoices):
        AEROBIC = "aerobic", "Aerobic"
        STRENGTH = "strength", "Strength"
        FLEXIBILITY = "flexibility", "Flexibility"
        BALANCE = "balance", "Balance"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", help_text="Empty: offered to every program of the tenant.")
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=12, choices=Category.choices, default=Category.AEROBIC)
    equipment = models.CharField(max_length=120, blank=True)
    instructions = models.TextField(blank=True)
    contraindications = models.TextField(blank=True)
    media_url = models.URLField("video or image link", blank=True)
    # Words a device's activity name contains when it is this exercise ("walk", "cycl"): matching.
    device_keywords = models.CharField(max_length=200, blank=True,
                                       help_text="Comma-separated words of a device's workout type, e.g. walk,hike.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "program", "name"], name="uniq_exercise_name")]

    def __str__(self):
        return self.name


class ExercisePrescription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        DISCONTINUED = "discontinued", "Discontinued"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="exercise_prescriptions")
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="prescriptions")
    minutes = models.PositiveSmallIntegerField(help_text="Per session.")
    sessions_per_week = models.PositiveSmallIntegerField(default=3)
    # The heart rates the zone was computed from, as they were when prescribed (Karvonen).
    resting_hr = models.PositiveSmallIntegerField()
    max_hr = models.PositiveSmallIntegerField()
    hrr_low = models.DecimalField("lower fraction of heart-rate reserve", max_digits=3, decimal_places=2)
    hrr_high = models.DecimalField("upper fraction of heart-rate reserve", max_digits=3, decimal_places=2)
    rpe_low = models.PositiveSmallIntegerField(default=11)
    rpe_high = models.PositiveSmallIntegerField(default=13)
    # [{"week": n, "minutes": m, "sessions_per_week": s}]: from week n of the prescription.
    progression = models.JSONField(default=list, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    routine = models.ForeignKey("care.TherapyRoutine", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    notes = models.TextField(blank=True)
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["status", "-start_date"]
        indexes = [models.Index(fields=["patient", "status"], name="rx_patient_status_idx")]

    def __str__(self):
        return f"{self.exercise} {self.minutes} min × {self.sessions_per_week}/week"


class ExerciseLog(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", "Logged by the patient"
        DEVICE = "device", "Device workout"
        SESSION = "session", "Supervised session"
        STAFF = "staff", "Entered by staff"

    class Symptom(models.TextChoices):
        CHEST_PAIN = "chest_pain", "Chest pain or pressure"
        DIZZINESS = "dizziness", "Dizziness or light-headedness"
        BREATHLESS = "breathless", "Unusual shortness of breath"
        PALPITATIONS = "palpitations", "Palpitations"
        FATIGUE = "fatigue", "Unusual fatigue"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="exercise_logs")
    prescription = models.ForeignKey(ExercisePrescription, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="logs")
    exercise = models.ForeignKey(Exercise, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    activity = models.CharField(max_length=80, blank=True, help_text="A device's workout type, as it sent it.")
    performed_at = models.DateTimeField()
    local_date = models.DateField()
    duration_min = models.FloatField()
    distance_km = models.FloatField(null=True, blank=True)
    avg_hr = models.PositiveSmallIntegerField(null=True, blank=True)
    max_hr = models.PositiveSmallIntegerField(null=True, blank=True)
    rpe = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Borg 6-20")
    symptoms = models.JSONField(default=list, blank=True)
    symptomatic = models.BooleanField(default=False, help_text="Any symptom logged (registry filter).")
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    observation = models.OneToOneField("clinical.Observation", on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="+", help_text="The device workout this log is.")
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-performed_at"]
        indexes = [models.Index(fields=["patient", "local_date"], name="exlog_patient_day_idx")]

    def __str__(self):
        return f"{self.duration_min:g} min on {self.local_date}"

    def symptom_labels(self) -> list[str]:
        names = dict(self.Symptom.choices)
        return [names.get(s, s) for s in self.symptoms or []]


class RehabSession(models.Model):
    """A supervised (centre-based) rehab session and its attendance: attended ones count toward the
    program's covered sessions (Medicare: 36)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        ATTENDED = "attended", "Attended"
        ABSENT = "absent", "Did not attend"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="rehab_sessions")
    starts_at = models.DateTimeField()
    local_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    log = models.OneToOneField(ExerciseLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="session")
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["patient", "status", "local_date"], name="rehab_session_idx")]


class TherapyPhase(models.Model):
    """A rehab phase (PhysicalTherapyPhases): post-op weeks, goals, restrictions, and the criteria
    to enter and leave it (lists of short statements a clinician ticks)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+")
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=1)
    week_start = models.PositiveSmallIntegerField(help_text="Post-op week (whole weeks since surgery).")
    week_end = models.PositiveSmallIntegerField()
    description = models.TextField(blank=True)
    goals = models.TextField(blank=True)
    restrictions = models.TextField(blank=True)
    entry_criteria = models.JSONField(default=list, blank=True)
    exit_criteria = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["order", "week_start"]

    def __str__(self):
        return self.name


class PhaseProgress(models.Model):
    """Which exit criteria of a phase a clinician has recorded as met for a patient."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="phase_progress")
    phase = models.ForeignKey(TherapyPhase, on_delete=models.CASCADE, related_name="progress")
    criteria_met = models.JSONField(default=list, blank=True)
    completed_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "phase"], name="uniq_phase_progress")]


class TherapyRoutine(models.Model):
    """A set of prescriptions for a phase: applying it prescribes each item to a patient."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    phase = models.ForeignKey(TherapyPhase, on_delete=models.CASCADE, related_name="routines")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    frequency = models.CharField(max_length=80, blank=True)
    # [{"exercise": "<uuid>", "minutes", "sessions_per_week", "hrr_low", "hrr_high", "rpe_low", "rpe_high"}]
    items = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["phase__order", "name"]

    def __str__(self):
        return self.name


class Activity(models.Model):
    """A daily-living activity that needs clearance after surgery (driving, lifting > 5 kg)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    usual_week = models.PositiveSmallIntegerField(null=True, blank=True,
                                                  help_text="Post-op week it is usually cleared from.")
    order = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "activities"

    def __str__(self):
        return self.name


class ActivityClearance(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="activity_clearances")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="clearances")
    cleared = models.BooleanField(default=False)
    decided_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "activity"], name="uniq_activity_clearance")]
