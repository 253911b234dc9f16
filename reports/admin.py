"""Reports in admin, through the gate (resource "reports")."""

from django.contrib import admin

from mahalo.admin import GatedAdmin, ReadOnlyGatedAdmin
from reports.models import Report, ReportExport, ReportTemplate, WeeklySummary


# Generated reports, exports, weekly summaries (issue 18): templates are edited here; reports, exports
# and summaries are written by reports' services and shown read-only.
@admin.register(ReportTemplate)
class ReportTemplateAdmin(GatedAdmin):
    gate_resource = "reports"
    list_display = ("name", "audience", "default_days", "builtin", "is_active")
    list_filter = ("audience", "is_active")
    search_fields = ("name",)


@admin.register(Report)
class ReportAdmin(ReadOnlyGatedAdmin):
    gate_resource = "reports"
    list_display = ("title", "patient", "period_start", "period_end", "status", "progress", "created_at")
    list_filter = ("status",)
    list_select_related = ("patient",)
    exclude = ("html", "snapshot")


@admin.register(ReportExport)
class ReportExportAdmin(ReadOnlyGatedAdmin):
    gate_resource = "reports"
    list_display = ("kind", "patient", "recipient", "created_at", "expires_at", "revoked_at", "open_count")
    list_filter = ("kind",)
    list_select_related = ("patient",)
    exclude = ("token_hash",)


@admin.register(WeeklySummary)
class WeeklySummaryAdmin(ReadOnlyGatedAdmin):
    gate_resource = "reports"
    list_display = ("week_start", "patient", "delivered_at")
    list_select_related = ("patient",)
