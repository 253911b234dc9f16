"""Medications (Medications 004) and their scheduled doses (MedicationLogs 004, as one row per
scheduled dose so a dose nobody logged is visible as missed, not as nothing)."""

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Medication(models.Model):
    class Route(models.TextChoices):
        ORAL = "oral", "By mouth"
        SUBLINGUAL = "sublingual", "Under the tongue"
        INHALED = "inhaled", "Inhaled"
        SUBCUTANEOUS = "subcutaneous", "Injection under the skin"
        INTRAMUSCULAR = "intramuscular", "Injection into muscle"
        TOPICAL = "topical", "On the skin"
        TRANSDERMAL = "transdermal", "Patch"
        OPHTHALMIC = "ophthalmic", "Eye drops"
        NASAL = "nasal", "Nasal"
        RECTAL = "rectal", "Rectal"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ON_HOLD = "on_hold", "On hold"
        STOPPED = "stopped", "Stopped"
        COMPLETED = "completed", "Completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=200)
    dose = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    dose_unit = models.CharField(max_length=20, blank=True, help_text="mg, mL, puff, tablet…")
    route = models.CharField(max_length=16, choices=Route.choices, default=Route.ORAL)
    # RFC 5545 RRULE lines in the patient's wall clock (one per time of day, e.g.
    # "RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0"); empty for "as needed".
    schedule = models.TextField(blank=True)
    as_needed = models.BooleanField(default=False)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    prescriber_name = models.CharField(max_length=200, blank=True, help_text="An outside prescriber.")
    instructions = models.TextField(blank=True)
    reason = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Critical medications (anticoagulants, insulin…): missed doses raise an alert.
    critical = models.BooleanField(default=False)
    patient_reported = models.BooleanField(default=False, help_text="Added by the patient; to reconcile.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["status", "name"]
        indexes = [models.Index(fields=["patient", "status"], name="med_patient_status_idx")]

    def __str__(self):
        return f"{self.name} {self.dose_label}".strip()

    @property
    def dose_label(self) -> str:
        if self.dose is None:
            return ""
        return f"{self.dose.normalize():f} {self.dose_unit}".strip()


class MedicationDose(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Due"
        TAKEN = "taken", "Taken"
        SKIPPED = "skipped", "Skipped"
        MISSED = "missed", "Missed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="medication_doses")
    medication = models.ForeignKey(Medication, on_delete=models.CASCADE, related_name="doses")
    scheduled_at = models.DateTimeField(help_text="UTC; generated from the schedule in the patient's time zone.")
    local_date = models.DateField(help_text="The scheduled day in the patient's time zone.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    taken_at = models.DateTimeField(null=True, blank=True, help_text="When the patient says they took it.")
    logged_at = models.DateTimeField(null=True, blank=True, help_text="When it was marked.")
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["scheduled_at"]
        indexes = [models.Index(fields=["patient", "local_date"], name="dose_patient_day_idx"),
                   models.Index(fields=["status", "scheduled_at"], name="dose_status_time_idx")]
        constraints = [models.UniqueConstraint(fields=["medication", "scheduled_at"], name="uniq_dose_per_time")]

    def __str__(self):
        return f"{self.medication.name} {self.scheduled_at:%Y-%m-%d %H:%M}"
