"""Patient-reported sleep (SleepLogs 004) and the daily score (DailyScores 004). Device sleep stays in
`wearables.DailyMetric`: both are shown side by side, never merged. A daily score keeps its components
(each with its weight, score and the facts behind it), so it is never a black box."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class SleepLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="sleep_logs")
    night = models.DateField(help_text="The morning the patient woke up (local date).")
    quality = models.PositiveSmallIntegerField(help_text="1 (very poor) to 5 (very good)")
    interruptions = models.PositiveSmallIntegerField(default=0)
    hours = models.FloatField(null=True, blank=True)
    notes = models.TextField(blank=True)
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    logged_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-night"]
        constraints = [models.UniqueConstraint(fields=["patient", "night"], name="uniq_sleep_log_night")]


class DailyScore(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="daily_scores")
    date = models.DateField()
    overall = models.PositiveSmallIntegerField(null=True, blank=True)
    # [{"key", "label", "weight", "score" (0-100 or None: no data, not counted), "detail"}]
    components = models.JSONField(default=list)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["patient", "date"], name="uniq_daily_score")]
