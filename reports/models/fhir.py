"""FHIR Bulk Data export jobs (issue 18): one row per `$export` kick-off, so a job survives a worker
restart (the sweeper re-queues a stalled one) and its files can be found, served and expired."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class FhirExportJob(models.Model):
    class Kind(models.TextChoices):
        SYSTEM = "system", "System"
        GROUP = "group", "Group (program)"
        PATIENT = "patient", "Patient"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Group = program (DESIGN "Fixed points"); empty for system and Patient exports.
    program = models.ForeignKey("patients.Program", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Only the requester may poll and download (the files hold every exported patient's PHI).
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    types = models.JSONField(default=list, blank=True, help_text="_type: resource types asked for (empty = all).")
    since = models.DateTimeField(null=True, blank=True, help_text="_since: only resources changed after.")
    request_url = models.CharField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.CharField(max_length=200, blank=True)
    # [{"type", "name", "count"}]: one NDJSON file per resource type, under `folder`.
    output = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="fhirexport_status_expiry")]

    def __str__(self):
        return f"FHIR $export {self.kind} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def folder(self) -> str:
        return f"fhir_exports/{self.pk}"
