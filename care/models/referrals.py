"""Referrals and excuse notes (Referral, ExcuseNote 003), with the seed's enum values exactly.

A referral goes to a specialty or an outside provider; each status change keeps its date, and a
care.Task says who must act next. An excuse note is drafted by staff and issued as a PDF that is
stored as issued (what it said is what it says); revoking one ends it (status EXPIRED, with
`revoked_at`), since the seed's statuses have no "revoked"."""

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Referral(models.Model):
    class Priority(models.TextChoices):
        ROUTINE = "ROUTINE", "Routine"
        URGENT = "URGENT", "Urgent"
        STAT = "STAT", "Stat (immediately)"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SENT = "SENT", "Sent"
        ACCEPTED = "ACCEPTED", "Accepted"
        COMPLETED = "COMPLETED", "Completed"
        CANCELLED = "CANCELLED", "Cancelled"

    OPEN = (Status.PENDING, Status.SENT, Status.ACCEPTED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="referrals")
    visit = models.ForeignKey("scheduling.Visit", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="referrals")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 help_text="The referring clinician.")
    specialty = models.CharField(max_length=120)
    referred_to = models.CharField(max_length=200, blank=True, help_text="Provider or clinic referred to.")
    reason = models.TextField()
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    notes = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["patient", "status"], name="referral_patient_status"),
            models.Index(fields=["provider", "status"], name="referral_provider_status"),
            models.Index(fields=["status", "created_at"], name="referral_status_created"),
        ]

    def __str__(self):
        return f"{self.specialty} referral"


class ReferralAttachment(models.Model):
    """A file sent with a referral (checked by messaging's attachment rules: type from the bytes)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="referrals/%Y/%m/")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class ExcuseNote(models.Model):
    class Type(models.TextChoices):
        WORK = "WORK", "Work"
        SCHOOL = "SCHOOL", "School"
        GENERAL = "GENERAL", "General"

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        SENT = "SENT", "Issued"
        EXPIRED = "EXPIRED", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="excuse_notes")
    visit = models.ForeignKey("scheduling.Visit", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="excuse_notes")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 help_text="The issuing clinician.")
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.WORK)
    start_date = models.DateField()
    end_date = models.DateField()
    reason = models.TextField()
    restrictions = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The document as issued: the patient downloads these bytes, not a re-rendering.
    issued_html = models.TextField(blank=True)
    issued_pdf = models.BinaryField(blank=True, null=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    revoke_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "issued_pdf", "issued_html"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["patient", "status"], name="excuse_patient_status"),
            models.Index(fields=["provider", "status"], name="excuse_provider_status"),
            models.Index(fields=["status", "created_at"], name="excuse_status_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="excuse_end_after_start"),
        ]

    def __str__(self):
        return f"{self.get_type_display()} note"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
