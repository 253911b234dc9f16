"""Admin for messaging, behind the gate (mahalo.admin.GatedAdmin, resource "messaging").

Notification templates are editable (project-wide or per program). The outbox, delivery
logs, threads and messages are read-only records. Models with a patient or project FK are
scoped by the gate; the others are scoped here through their thread's or notification's
patient (or their user's project), since mahalo.admin.TENANT_PATHS doesn't know them.
"""

from django.contrib import admin
from django.db.models import Q

from mahalo import access
from mahalo.admin import GatedAdmin, ReadOnlyGatedAdmin
from messaging.models import (
    Attachment,
    DeliveryLog,
    Message,
    MessageReceipt,
    MessageRevision,
    Notification,
    NotificationPreference,
    NotificationSettings,
    NotificationTemplate,
    PushSubscription,
    Thread,
    ThreadParticipant,
)


class ReadOnlyAdmin(ReadOnlyGatedAdmin):
    gate_resource = "messaging"


class ThroughPatientAdmin(ReadOnlyAdmin):
    """Rows without their own patient/project FK: scoped through `patient_path`."""

    patient_path = ""

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.patient_path}__in": access.patients_for(request.user, "read", "messaging")})


class ThroughUserAdmin(ReadOnlyAdmin):
    """Per-user settings: the user's own tenant's staff and patients (superusers: all)."""

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return qs
        project = access.project_of(request.user)
        if project is None or access.staff_of(request.user) is None or not access.can(request.user, "messaging",
                                                                                        "read"):
            return qs.none()
        patients = access.patients_for(request.user, "read", "messaging")
        return qs.filter(Q(user__staff__project=project) | Q(user__in=patients.values("user"))).distinct()


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(GatedAdmin):
    # The tenant's own wording in its emails: a setting (settings:update), not a clinical action.
    gate_resource = "settings"
    list_display = ["event_type", "channel", "program", "subject", "is_active", "updated_at"]
    list_filter = ["event_type", "channel", "is_active", ("program", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["subject", "body"]
    fieldsets = [
        (None, {"fields": ["project", "program", "event_type", "channel", "is_active"]}),
        ("Wording", {"fields": ["subject", "body"], "description":
                     "Django template syntax over the event's fixed context, e.g. {{ sender }}, {{ when }}. "
                     "Values are escaped in HTML email; tags that reach outside the context "
                     "(include, load, debug, ...) are refused and the built-in wording is used instead."}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["project"] if obj is not None and not request.user.is_superuser else []


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "channel", "recipient", "status", "attempts", "next_attempt_at",
                    "seen_at"]
    list_filter = ["status", "channel", "event_type", "urgent"]
    search_fields = ["idempotency_key", "recipient__email"]
    date_hierarchy = "created_at"


@admin.register(DeliveryLog)
class DeliveryLogAdmin(ThroughPatientAdmin):
    patient_path = "notification__patient"
    list_display = ["at", "notification", "attempt", "status", "reason"]
    list_filter = ["status"]


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "patient", "kind", "assigned_to", "last_message_at"]
    list_filter = ["kind"]


@admin.register(ThreadParticipant)
class ThreadParticipantAdmin(ThroughPatientAdmin):
    patient_path = "thread__patient"
    list_display = ["thread", "user", "role", "joined_at", "last_read_at"]


@admin.register(Message)
class MessageAdmin(ThroughPatientAdmin):
    patient_path = "thread__patient"
    list_display = ["created_at", "thread", "sender_role", "kind", "status"]
    list_filter = ["kind", "status", "sender_role"]


@admin.register(MessageRevision)
class MessageRevisionAdmin(ThroughPatientAdmin):
    patient_path = "message__thread__patient"
    list_display = ["at", "message", "action", "by"]


@admin.register(MessageReceipt)
class MessageReceiptAdmin(ThroughPatientAdmin):
    patient_path = "message__thread__patient"
    list_display = ["message", "user", "delivered_at", "read_at"]


@admin.register(Attachment)
class AttachmentAdmin(ThroughPatientAdmin):
    patient_path = "message__thread__patient"
    list_display = ["original_name", "content_type", "size", "uploaded_by", "created_at"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ThroughUserAdmin):
    list_display = ["user", "event_type", "channel", "opted_out", "updated_at"]
    list_filter = ["event_type", "channel", "opted_out"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(ThroughUserAdmin):
    list_display = ["user", "quiet_start", "quiet_end", "updated_at"]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ThroughUserAdmin):
    list_display = ["user", "user_agent", "created_at"]
    exclude = ["p256dh", "auth"]
