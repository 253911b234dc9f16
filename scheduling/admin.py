"""Admin for scheduling, behind the gate (mahalo.admin, resource "scheduling").

Visits, slots, requests and video sessions are written by the services (locks,
overlap rules, notifications): read-only here. Availability, calendars and
templates are editable by platform operators only (staff use the schedule pages).
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from mahalo.admin import GatedAdmin, ReadOnlyGatedAdmin
from scheduling.models import (
    Availability,
    Calendar,
    CalendarEvent,
    CalendarFeedToken,
    EventTemplate,
    Slot,
    VirtualVisitSession,
    Visit,
    VisitRequest,
)


class SchedulingAdmin(GatedAdmin):
    """Availability, calendars and templates: platform operators edit here; staff edit through the
    schedule pages, whose services check overlaps, ownership and program scope (issue 12)."""

    gate_resource = "scheduling"

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class SchedulingReadOnly(ReadOnlyGatedAdmin):
    gate_resource = "scheduling"


@admin.register(Availability)
class AvailabilityAdmin(SchedulingAdmin):
    list_display = ["staff", "program", "rrule", "starts_on", "ends_on", "start_time", "end_time", "slot_minutes",
                    "mode", "status"]
    list_filter = ["status", "mode", ("program", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["staff__user", "staff__role", "program"]
    search_fields = ["staff__user__full_name", "location"]


@admin.register(Slot)
class SlotAdmin(SchedulingReadOnly):
    list_display = ["staff", "starts_at", "ends_at", "mode", "status", "held_until"]
    list_filter = ["status", "mode"]
    list_select_related = ["staff__user", "staff__role"]
    date_hierarchy = "starts_at"


@admin.register(Visit)
class VisitAdmin(SchedulingReadOnly, SimpleHistoryAdmin):
    list_display = ["starts_at", "patient", "staff", "visit_type", "mode", "status", "patient_initiated"]
    list_filter = ["status", "mode", "visit_type", "patient_initiated"]
    list_select_related = ["patient", "staff__user", "staff__role"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "reason"]
    date_hierarchy = "starts_at"


@admin.register(VisitRequest)
class VisitRequestAdmin(SchedulingReadOnly, SimpleHistoryAdmin):
    list_display = ["created_at", "patient", "request_type", "mode", "severity", "status", "hold_expires_at"]
    list_filter = ["status", "severity", "request_type", "mode"]
    list_select_related = ["patient"]
    search_fields = ["patient__last_name", "patient__first_name", "reason"]


@admin.register(VirtualVisitSession)
class VirtualVisitSessionAdmin(SchedulingReadOnly):
    list_display = ["visit", "provider", "room_name", "status", "call_status", "recording_enabled", "started_at"]
    list_filter = ["provider", "status", "call_status", "recording_enabled"]
    list_select_related = ["visit__patient", "visit__staff__user"]


@admin.register(Calendar)
class CalendarAdmin(SchedulingAdmin):
    list_display = ["name", "owner", "patient", "is_default", "is_visible"]
    raw_id_fields = ["owner", "patient"]


@admin.register(CalendarEvent)
class CalendarEventAdmin(SchedulingAdmin):
    list_display = ["title", "owner", "starts_at", "category", "rrule", "status"]
    list_filter = ["category", "status"]
    raw_id_fields = ["calendar", "owner", "patient", "parent", "template"]


@admin.register(EventTemplate)
class EventTemplateAdmin(SchedulingAdmin):
    list_display = ["name", "category", "duration_minutes", "default_rrule", "owner", "is_active"]
    list_filter = ["category", "is_active"]


@admin.register(CalendarFeedToken)
class CalendarFeedTokenAdmin(SchedulingReadOnly):
    list_display = ["user", "hint", "label", "created_at", "last_used_at", "revoked_at"]
    exclude = ["token_hash"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "token_hash"]
