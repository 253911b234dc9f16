"""Report templates, generated reports and their exports (seeds ma_report_templates,
ma_generated_reports, ma_report_exports; DESIGN.md "Where the seed tables go").

A `Report` is a row first (queued), then a task fills it: the sections' data snapshot (JSON), the
HTML rendered from that snapshot and the PDF rendered from that HTML. Nothing re-reads the clinical
data afterwards: what a report said is what it says forever.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from reports.sections import SECTIONS

AUDIENCES = [("clinician", "Clinician"), ("patient", "Patient"), ("payer", "Payer")]


class ReportTemplate(models.Model):
    """A tenant's report layout: which sections, in which order, over how many days by default."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    # {"sections": ["patient_header", "vitals", ...]}: keys of reports.sections.SECTIONS, in order.
    layout = models.JSONField(default=dict)
    default_days = models.PositiveIntegerField(default=30)
    audience = models.CharField(max_length=10, choices=AUDIENCES, default="clinician")
    builtin = models.CharField(max_length=40, blank=True, help_text="The built-in layout this row was made from.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="uniq_report_template_name")]

    def __str__(self):
        return self.name

    @property
    def sections(self) -> list[str]:
        return list((self.layout or {}).get("sections", []))

    def clean(self):
        keys = (self.layout or {}).get("sections") if isinstance(self.layout, dict) else None
        if not isinstance(keys, list) or not keys:
            raise ValidationError({"layout": 'Give the sections in order: {"sections": ["patient_header", ...]}.'})
        unknown = [k for k in keys if k not in SECTIONS]
        if unknown:
            raise ValidationError({"layout": f"Unknown sections {unknown}; known: {sorted(SECTIONS)}."})


class Report(models.Model):
    """One generated report of one patient over one period."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RENDERING = "rendering", "Rendering"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="reports")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    template = models.ForeignKey(
        ReportTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    title = models.CharField(max_length=160)
    audience = models.CharField(max_length=10, choices=AUDIENCES, default="clinician")
    sections = models.JSONField(default=list, help_text="The section keys, copied from the template when asked.")
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=80, blank=True, help_text="What the task is doing (shown with the %).")
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    snapshot = models.JSONField(default=dict, blank=True)
    html = models.TextField(blank=True)
    pdf = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    pdf_bytes = models.PositiveIntegerField(default=0)
    pdf_pages = models.PositiveIntegerField(default=0)
    render_seconds = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "created_at"], name="report_patient_created")]

    def __str__(self):
        return f"{self.title} ({self.period_start} – {self.period_end})"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RENDERING)


class ReportExport(models.Model):
    """One way a report left the chart: a download (pdf), a link e-mailed to someone (email) or a web
    share link (web). Links are tokens whose hash alone is stored; they expire and can be revoked, and
    every open is counted here and audited."""

    class Kind(models.TextChoices):
        PDF = "pdf", "Download"
        EMAIL = "email", "E-mailed link"
        WEB = "web", "Web link"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="report_exports")
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    recipient = models.CharField(max_length=254, blank=True, help_text="Who the link was e-mailed to.")
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    open_count = models.PositiveIntegerField(default=0)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.report_id}"

    @property
    def is_link(self) -> bool:
        return self.kind in (self.Kind.EMAIL, self.Kind.WEB)

    def is_live(self, now) -> bool:
        return self.is_link and self.revoked_at is None and self.expires_at is not None and self.expires_at > now
