"""Wearables: connections to providers, their sync logs, and daily summaries.

Seeds: ma_device_integrations and ma_daily_metrics (000), health_aggregated
(001), DeviceConnection (003), DeviceConnections, DeviceSyncLogs, SleepLogs (004).
Fine-grained readings go to clinical.Observation; sleep nights to DailyMetric
(hours and stages) and Observation (sleep_session with start and end).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinical.models import Source
from mahalo import crypto


class Provider(models.TextChoices):
    """Providers a patient connects with OAuth (cloud APIs)."""

    WHOOP = "whoop", "WHOOP"
    OURA = "oura", "Oura"
    WITHINGS = "withings", "Withings"
    GARMIN = "garmin", "Garmin"
    GOOGLE_HEALTH = "google_health", "Google Health (Fitbit)"
    POLAR = "polar", "Polar"
    STRAVA = "strava", "Strava"


class Connection(models.Model):
    class Status(models.TextChoices):
        LINKED = "linked", "Linked"
        NEEDS_RECONSENT = "needs_reconsent", "Needs re-consent"
        ERROR = "error", "Error"
        DISCONNECTED = "disconnected", "Disconnected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="wearable_connections")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    external_user_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.LINKED)
    # Encrypted with mahalo.crypto (MultiFernet); read through the properties below.
    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=500, blank=True)
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    connected_at = models.DateTimeField(auto_now_add=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Not before this time (a provider's Retry-After longer than we wait inline).
    retry_after = models.DateTimeField(null=True, blank=True)
    # A sync holds the lease until it ends; a killed worker's lease simply expires.
    lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider"]
        constraints = [
            # One live connection per patient and provider; disconnected ones stay as history.
            models.UniqueConstraint(fields=["patient", "provider"], condition=~Q(status="disconnected"),
                                    name="uniq_live_connection_per_provider"),
        ]

    def __str__(self):
        return f"{self.get_provider_display()} ({self.get_status_display()})"

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted) if self.access_token_encrypted else ""

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value) if value else ""

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted) if self.refresh_token_encrypted else ""

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value) if value else ""


class SyncLog(models.Model):
    """One sync attempt (DeviceSyncLogs, 004). Written before the work starts, so a
    queued or killed run is visible and the sweeper can re-queue it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        PARTIAL = "partial", "Partial (some records skipped)"
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned (worker stopped)"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        CONNECT = "connect", "First sync after connecting"
        COMMAND = "command", "Operator command"
        MANUAL = "manual", "Sync now"
        WEBHOOK = "webhook", "Provider push"
        UPLOAD = "upload", "File upload"
        DEVICE_API = "device_api", "Companion app"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="wearable_sync_logs")
    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="sync_logs")
    source = models.CharField(max_length=20, choices=Source.choices)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    records = models.PositiveIntegerField(default=0, help_text="Readings and daily values stored.")
    skipped = models.PositiveIntegerField(default=0, help_text="Malformed records skipped (see failures).")
    requests = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="synclog_patient_recent"),
                   models.Index(fields=["status", "created_at"], name="synclog_status_age")]

    def __str__(self):
        return f"{self.get_source_display()} sync {self.get_status_display()}"


class SyncFailure(models.Model):
    """A record or page that could not be read, with the raw body kept for diagnosis."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sync_log = models.ForeignKey(SyncLog, on_delete=models.CASCADE, related_name="failures")
    endpoint = models.CharField(max_length=200)
    error = models.TextField()
    raw = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class DailyMetric(models.Model):
    """One day's summary per patient and source (ma_daily_metrics, health_aggregated).

    `date` is the local date in the program's time zone, or the provider's own day
    where it dates a night by the morning it ends. Several sources can report the
    same day; `wearables.daily.preferred` picks one value per metric."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="daily_metrics")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    date = models.DateField()
    source = models.CharField(max_length=20, choices=Source.choices)
    hrv_ms = models.FloatField(null=True, blank=True)
    hrv_method = models.CharField(max_length=8, blank=True, choices=[("", ""), ("rmssd", "RMSSD"),
                                                                     ("sdnn", "SDNN")])
    resting_hr = models.FloatField(null=True, blank=True, help_text="bpm")
    sleep_hours = models.FloatField(null=True, blank=True)
    sleep_deep_hours = models.FloatField(null=True, blank=True)
    sleep_light_hours = models.FloatField(null=True, blank=True)
    sleep_rem_hours = models.FloatField(null=True, blank=True)
    sleep_awake_hours = models.FloatField(null=True, blank=True)
    steps = models.PositiveIntegerField(null=True, blank=True)
    recovery_score = models.FloatField(null=True, blank=True, help_text="Recovery (WHOOP) or readiness (Oura), 0-100.")
    spo2 = models.FloatField(null=True, blank=True, help_text="%")
    respiratory_rate = models.FloatField(null=True, blank=True, help_text="breaths/min")
    active_energy_kcal = models.FloatField(null=True, blank=True)
    device = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["patient", "date", "source"], name="uniq_daily_per_source")]


# The value columns a provider may fill (wearables.ingest merges them field by field).
DAILY_FIELDS = ("hrv_ms", "hrv_method", "resting_hr", "sleep_hours", "sleep_deep_hours", "sleep_light_hours",
                "sleep_rem_hours", "sleep_awake_hours", "steps", "recovery_score", "spo2", "respiratory_rate",
                "active_energy_kcal", "device")


def _upload_path(instance, filename):
    return f"wearables/apple_health/{instance.project_id}/{instance.id}.{filename.rsplit('.', 1)[-1].lower()}"


class AppleHealthImport(models.Model):
    """An uploaded Apple Health export.zip/export.xml, parsed by a Celery task."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="apple_health_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    related_name="+")
    file = models.FileField(upload_to=_upload_path)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    bytes_read = models.PositiveBigIntegerField(default=0)
    records_seen = models.PositiveIntegerField(default=0)
    records_stored = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    sync_log = models.ForeignKey(SyncLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(self.bytes_read * 100 / self.size)) if self.size else 0


class DeviceBatch(models.Model):
    """A batch of readings from a companion phone app (Samsung Health, Health
    Connect). The app's own batch id makes a re-sent batch a no-op."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=20, choices=Source.choices)
    client_batch_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    readings = models.PositiveIntegerField(default=0)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                     related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "source", "client_batch_id"],
                                               name="uniq_device_batch")]


class WebhookEvent(models.Model):
    """A provider push (Garmin), stored verbatim before it is processed, so a
    worker outage delays it and loses nothing."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Processed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    summary_type = models.CharField(max_length=40, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at"]
        indexes = [models.Index(fields=["status", "received_at"], name="webhook_status_age")]
