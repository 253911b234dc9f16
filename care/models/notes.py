"""Visit notes: one per visit (scheduling.Visit) or free-standing, written from a template per visit
type (SOAP by default). A note is a draft until it is signed; signing locks it (name and time are
stored as they were), after which only addenda are added. Signed notes marked shareable are the
patient's visit summaries in the portal."""

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class VisitNote(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="visit_notes")
    # Null for a free-standing note (a phone call, a chart review).
    visit = models.ForeignKey("scheduling.Visit", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="care_notes")
    template = models.CharField(max_length=20, default="soap")
    title = models.CharField(max_length=200)
    # {section key: text}, in the template's order (care.services.notes.TEMPLATES).
    sections = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    shareable = models.BooleanField(default=False, help_text="Shown to the patient in the portal once signed.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    # The signer's name as it was when they signed (a later rename does not rewrite the record).
    signed_name = models.CharField(max_length=200, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "status"], name="visitnote_patient_status")]

    def __str__(self):
        return self.title

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED


class NoteAddendum(models.Model):
    """Text added to a signed note; never edited."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    note = models.ForeignKey(VisitNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_name = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
