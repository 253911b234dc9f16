"""WeeklySummary (seed 003): one per patient per program week, composed from the report sections and
delivered to the patient and the care team. Like a report, a snapshot: it never changes once sent."""

from __future__ import annotations

import uuid

from django.db import models


class WeeklySummary(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="weekly_summaries")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    week_start = models.DateField(help_text="Monday of the week, in the program's time zone.")
    snapshot = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start"]
        constraints = [models.UniqueConstraint(fields=["patient", "week_start"], name="uniq_weekly_summary")]

    def __str__(self):
        return f"Week of {self.week_start}"
