"""Clinical data. Observation is the one narrow table for every reading
(DESIGN.md): Measurement, VitalReading, HRVReading, BMIReading (003),
VitalsSamples (004) and health_realtime (001) all become rows here.

The clinical-monitoring issue adds classification, vitals entry, labs, rules and
alerts on top of it; wearables write into it through `wearables.ingest`.
"""

import uuid

from django.conf import settings
from django.db import models

from clinical.metrics import HRV_METHODS, METRIC_CHOICES


class Source(models.TextChoices):
    """Where a value came from: a wearable provider, a phone, or a person."""

    WHOOP = "whoop", "WHOOP"
    OURA = "oura", "Oura"
    WITHINGS = "withings", "Withings"
    GARMIN = "garmin", "Garmin"
    GOOGLE_HEALTH = "google_health", "Google Health (Fitbit)"
    POLAR = "polar", "Polar"
    STRAVA = "strava", "Strava"
    APPLE_HEALTH = "apple_health", "Apple Health"
    SAMSUNG_HEALTH = "samsung_health", "Samsung Health"
    HEALTH_CONNECT = "health_connect", "Health Connect"
    PATIENT = "patient", "Entered by patient"
    STAFF = "staff", "Entered by staff"


class Observation(models.Model):
    """One reading. BP is one row: `value` systolic, `value2` diastolic.

    Idempotency key: (patient, source, metric, effective_at) - a provider that
    sends the same sample again updates it instead of adding a row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="observations")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    metric = models.CharField(max_length=32, choices=METRIC_CHOICES)
    value = models.FloatField()
    value2 = models.FloatField(null=True, blank=True, help_text="Second component (diastolic for BP).")
    unit = models.CharField(max_length=16)
    effective_at = models.DateTimeField(help_text="When it was measured (start, for sessions).")
    end_at = models.DateTimeField(null=True, blank=True, help_text="End of a session (sleep, workout).")
    source = models.CharField(max_length=20, choices=Source.choices)
    device = models.CharField(max_length=200, blank=True)
    # HRV: rmssd | sdnn. Stored with every value so trends never mix methods.
    method = models.CharField(max_length=16, blank=True, choices=[("", "")] + list(HRV_METHODS))
    # Where or how: sleep/rest/workout (HRV), home/office/cuffless (BP), fasting/post_meal/random (glucose).
    context = models.CharField(max_length=20, blank=True)
    external_id = models.CharField(max_length=100, blank=True, help_text="The provider's own record id.")
    details = models.JSONField(null=True, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "source", "metric", "effective_at"],
                                    name="uniq_observation_per_source_time"),
        ]
        indexes = [models.Index(fields=["patient", "metric", "effective_at"], name="obs_patient_metric_time")]

    def __str__(self):
        if self.value2 is not None:
            return f"{self.get_metric_display()} {self.value:g}/{self.value2:g} {self.unit}"
        return f"{self.get_metric_display()} {self.value:g} {self.unit}"
