"""Secure threads between a patient and their care team, and notifications.

Seeds: ma_message_threads, ma_messages, ma_notification_templates,
ma_notification_logs, ma_patient_notification_settings (000); conversations,
messages, message_attachments (001); MessageThread, Message (003).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

# Event types domain code may raise (messaging.notify.notify). Safety-critical
# staff events can't be switched off by preferences.
EVENT_TYPES = [
    ("new_message", "New message"),
    ("visit_reminder", "Visit reminder"),
    ("visit_booked", "Visit booked"),
    ("visit_cancelled", "Visit cancelled"),
    ("alert_created", "Clinical alert (staff)"),
    ("questionnaire_due", "Questionnaire due"),
    ("food_log_reminder", "Food log reminder"),
    ("device_reconsent", "Wearable needs re-connecting"),
    ("care_team_request", "Care-team request"),
    ("call_ringing", "Incoming video call"),
    ("call_scheduled", "Video call scheduled"),
    ("call_missed", "Missed video call"),
    ("call_cancelled", "Video call cancelled"),
    ("task_due_soon", "Task due soon (staff)"),
    ("task_overdue", "Task overdue (staff)"),
    ("excuse_note_issued", "Excuse note ready"),
    ("lab_results_released", "Lab results ready"),
    ("visit_summary_shared", "Visit summary ready"),
    ("report_shared", "Report shared"),
    ("weekly_summary", "Weekly summary"),
]
SAFETY_CRITICAL_EVENTS = frozenset({"alert_created"})
CHANNELS = [("in_app", "In the app"), ("email", "Email"), ("push", "Web push"), ("sms", "Text message")]


class Thread(models.Model):
    """A conversation about one patient, between the patient and care-team staff.

    kind=default: the one conversation of a patient–clinician pair (unique);
    kind=topic: any number of subject threads."""

    class Kind(models.TextChoices):
        DEFAULT = "default", "Conversation"
        TOPIC = "topic", "Topic"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="threads")
    program = models.ForeignKey("patients.Program", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TOPIC)
    subject = models.CharField(max_length=200, blank=True)
    # For kind=default: the clinician of the pair.
    pair_staff = models.ForeignKey("mahalo.StaffMember", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    # Who on the team owns answering it (the inbox's "assigned to me").
    assigned_to = models.ForeignKey("mahalo.StaffMember", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="assigned_threads")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_message_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "pair_staff"], condition=models.Q(kind="default"),
                                    name="one_default_thread_per_pair"),
        ]
        indexes = [
            models.Index(fields=["project", "-last_message_at"]),
            models.Index(fields=["patient", "-last_message_at"]),
        ]

    def __str__(self):
        return self.subject or f"Conversation with {self.patient}"


class ThreadParticipant(models.Model):
    class Role(models.TextChoices):
        PATIENT = "patient", "Patient"
        STAFF = "staff", "Staff"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="thread_memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    joined_at = models.DateTimeField(default=timezone.now)
    # Everything up to this time has been read by this participant (unread counts).
    last_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="uniq_thread_participant")]
        indexes = [models.Index(fields=["user", "thread"])]

    def __str__(self):
        return f"{self.user} in {self.thread}"


class Message(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        FILE = "file", "File"
        MIXED = "mixed", "Text and files"
        SYSTEM = "system", "System"

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    sender_role = models.CharField(max_length=10, choices=[("patient", "Patient"), ("staff", "Staff"),
                                                           ("system", "System")])
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    # Plain text, always: rendered escaped, with links made clickable.
    body = models.TextField(blank=True)
    # Rolled up from the receipts: read once every recipient has read it.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["thread", "created_at"])]

    def __str__(self):
        return f"{self.sender_role} message at {self.created_at:%Y-%m-%d %H:%M}"


class MessageRevision(models.Model):
    """What a message said before an edit or a delete (kept for the record)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="revisions")
    action = models.CharField(max_length=10, choices=[("edit", "Edited"), ("delete", "Deleted")])
    previous_body = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]


class MessageReceipt(models.Model):
    """Per recipient: when the message reached them and when they read it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="uniq_message_receipt")]
        indexes = [models.Index(fields=["user", "read_at"])]


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    # Detected from the bytes (magic numbers), never taken from the upload's name or header.
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.original_name


class NotificationTemplate(models.Model):
    """Wording per event type and channel; a program's template overrides the project's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey("patients.Program", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    event_type = models.CharField(max_length=40, choices=EVENT_TYPES)
    channel = models.CharField(max_length=10, choices=CHANNELS)
    # Django template syntax over a fixed context; autoescaped for HTML.
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_type", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["project", "event_type", "channel"],
                                    condition=models.Q(program__isnull=True), name="uniq_project_template"),
            models.UniqueConstraint(fields=["program", "event_type", "channel"],
                                    condition=models.Q(program__isnull=False), name="uniq_program_template"),
        ]

    def __str__(self):
        return f"{self.event_type} / {self.channel}"


class NotificationPreference(models.Model):
    """A user's opt-out for one event type on one channel (absent row: opted in)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=40, choices=EVENT_TYPES)
    channel = models.CharField(max_length=10, choices=CHANNELS)
    opted_out = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "event_type", "channel"],
                                               name="uniq_notification_preference")]


class NotificationSettings(models.Model):
    """Quiet hours, in the user's own timezone (a patient's program timezone)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="notification_settings")
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class Notification(models.Model):
    """The outbox: one row per recipient and channel, written in the same
    transaction as the event. Delivered by Celery with retries; a beat sweeper
    re-queues rows not done, so a broker outage delays notifications and loses none."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (opted out)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    event_type = models.CharField(max_length=40, choices=EVENT_TYPES)
    channel = models.CharField(max_length=10, choices=CHANNELS)
    # At most one delivery per channel: the event's key plus recipient and channel.
    idempotency_key = models.CharField(max_length=200, unique=True)
    urgent = models.BooleanField(default=False, help_text="Ignores quiet hours.")
    template = models.ForeignKey(NotificationTemplate, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Not before this time (quiet hours, retry backoff).
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["recipient", "channel", "seen_at"]),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.recipient} ({self.channel}, {self.status})"


class DeliveryLog(models.Model):
    """Every delivery attempt (seed ma_notification_logs): delivered or failed, and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="logs")
    attempt = models.PositiveSmallIntegerField()
    # "sending": committed before the provider call (at most once per call, messaging/delivery.py);
    # "unknown": that call was interrupted (a killed worker) and its outcome can't be known.
    status = models.CharField(max_length=10, choices=[("delivered", "Delivered"), ("failed", "Failed"),
                                                      ("skipped", "Skipped"), ("sending", "Sending"),
                                                      ("unknown", "Interrupted, outcome unknown")])
    reason = models.TextField(blank=True)
    # The provider call's own reference, recorded before it: the email's Message-ID, the SMS key.
    provider_ref = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]


class PushSubscription(models.Model):
    """A browser's Web Push endpoint for a user (VAPID)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=500, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
