"""Wearables in Django admin: behind the gate (resource "wearables"), read-only.

Everything here is written by the sync engine, the importers and the companion
app API; admin is for looking, never for editing. OAuth tokens are never shown:
the encrypted columns are left out of every form, list and search.
Rows carry `patient`, so mahalo.admin's GatedAdmin scopes them through the gate's
patients_for (program scope included); nothing is reachable across tenants.
"""

from django.contrib import admin

from mahalo import access
from mahalo.admin import ReadOnlyGatedAdmin
from wearables.models import AppleHealthImport, Connection, DailyMetric, DeviceBatch, SyncFailure, SyncLog, WebhookEvent

SECRET_FIELDS = ("access_token_encrypted", "refresh_token_encrypted")


class WearablesReadOnlyAdmin(ReadOnlyGatedAdmin):
    gate_resource = "wearables"
    hidden_fields: tuple[str, ...] = ()
    exclude = ()

    def get_exclude(self, request, obj=None):
        return list(self.hidden_fields)

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f not in self.hidden_fields]


@admin.register(Connection)
class ConnectionAdmin(WearablesReadOnlyAdmin):
    hidden_fields = SECRET_FIELDS
    list_display = ["patient", "provider", "status", "last_success_at", "last_attempt_at", "short_error",
                    "has_tokens"]
    list_filter = ["provider", "status"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "external_user_id"]
    list_select_related = ["patient"]
    date_hierarchy = "connected_at"

    @admin.display(description="Last error")
    def short_error(self, obj):
        return (obj.last_error[:120] + "…") if len(obj.last_error) > 120 else obj.last_error

    @admin.display(boolean=True, description="Tokens stored")
    def has_tokens(self, obj):
        # Whether a token exists, never the token (nor its ciphertext).
        return bool(obj.access_token_encrypted)


class SyncFailureInline(admin.TabularInline):
    model = SyncFailure
    extra = 0
    can_delete = False
    fields = ["created_at", "endpoint", "error", "raw"]
    readonly_fields = fields
    show_change_link = False

    # The parent SyncLog is already gated; the inline follows it, read-only.
    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "wearables", "read", obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SyncLog)
class SyncLogAdmin(WearablesReadOnlyAdmin):
    list_display = ["created_at", "patient", "source", "trigger", "status", "records", "skipped", "short_error"]
    list_filter = ["status", "source", "trigger"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "error"]
    list_select_related = ["patient"]
    date_hierarchy = "created_at"
    inlines = [SyncFailureInline]

    @admin.display(description="Error")
    def short_error(self, obj):
        return (obj.error[:120] + "…") if len(obj.error) > 120 else obj.error


@admin.register(DailyMetric)
class DailyMetricAdmin(WearablesReadOnlyAdmin):
    list_display = ["date", "patient", "source", "hrv_ms", "hrv_method", "resting_hr", "sleep_hours", "steps",
                    "recovery_score", "device"]
    list_filter = ["source", "hrv_method"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn"]
    list_select_related = ["patient"]
    date_hierarchy = "date"
    show_full_result_count = False  # years of days for thousands of patients


@admin.register(AppleHealthImport)
class AppleHealthImportAdmin(WearablesReadOnlyAdmin):
    # The uploaded file is PHI and is only served through permission-checked views: no link here.
    hidden_fields = ("file",)
    list_display = ["created_at", "patient", "original_name", "size", "status", "percent", "records_stored",
                    "finished_at"]
    list_filter = ["status"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "original_name"]
    list_select_related = ["patient"]
    date_hierarchy = "created_at"


@admin.register(DeviceBatch)
class DeviceBatchAdmin(WearablesReadOnlyAdmin):
    list_display = ["received_at", "patient", "source", "client_batch_id", "readings"]
    list_filter = ["source"]
    search_fields = ["patient__last_name", "patient__first_name", "patient__mrn", "client_batch_id"]
    list_select_related = ["patient"]
    date_hierarchy = "received_at"


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """Provider pushes arrive before we know the tenant (the body names the provider's
    user), so no tenant can be shown them: platform operators only, read-only."""

    list_display = ["received_at", "provider", "summary_type", "status", "attempts", "processed_at"]
    list_filter = ["provider", "status"]
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
