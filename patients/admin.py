from django.contrib import admin

from mahalo import access
from mahalo.admin import GatedAdmin, ReadOnlyGatedAdmin
from patients import services
from patients.forms import SECTIONS
from patients.models import (
    CareTeamLink,
    Patient,
    PatientFlag,
    PatientImport,
    PatientUserObjectPermission,
    Program,
    ProgramEnrollment,
)


@admin.register(Program)
class ProgramAdmin(GatedAdmin):
    list_display = ["name", "project", "timezone", "is_active", "created_at"]
    list_filter = ["is_active", ("project", admin.RelatedOnlyFieldListFilter), "timezone"]
    search_fields = ["name", "description"]


class FlagInline(admin.TabularInline):
    model = PatientFlag
    extra = 0
    fields = ["flag", "added_at"]
    readonly_fields = ["added_at"]

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "patients", "read")

    def has_change_permission(self, request, obj=None):
        return access.can(request.user, "patients", "update")

    has_add_permission = has_delete_permission = has_change_permission


class EnrollmentInline(admin.TabularInline):
    """The program history is written by the move service only."""

    model = ProgramEnrollment
    extra = 0
    fields = ["program", "started_at", "ended_at", "enrolled_by", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "patients", "read")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Patient)
class PatientAdmin(GatedAdmin):
    gate_resource = "patients"
    list_display = ["last_name", "first_name", "mrn", "date_of_birth", "program", "status", "email", "phone",
                    "updated_at"]
    list_display_links = ["last_name", "first_name"]
    list_filter = ["status", ("program", admin.RelatedOnlyFieldListFilter), "sex", "flags__flag"]
    search_fields = ["first_name", "last_name", "preferred_name", "mrn", "email", "phone"]
    list_select_related = ["program"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at", "last_data_at"]
    inlines = [FlagInline, EnrollmentInline]
    fieldsets = [
        ("Enrollment", {"fields": ["project", "program", "status", "user"]}),
        *[(title, {"fields": [f for f in fields if f not in ("program", "move_reason", "flags")]})
          for title, fields in SECTIONS if title != "Enrollment"],
        ("Record", {"fields": ["last_data_at", "created_at", "updated_at"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        # PHI is archived, never hard-deleted from the UI.
        return False

    def save_model(self, request, obj, form, change):
        """Program and status changes go through their services (enrollment history, audit)."""
        if not change:
            super().save_model(request, obj, form, change)
            ProgramEnrollment.objects.create(patient=obj, program=obj.program, enrolled_by=request.user,
                                             reason="Added in admin")
            return
        stored = Patient.objects.get(pk=obj.pk)
        new_program, new_status = obj.program, obj.status
        obj.program, obj.status = stored.program, stored.status
        obj._history_user = request.user
        super().save_model(request, obj, form, change)
        services.patient_move_program(patient=obj, program=new_program, actor=request.user,
                                      reason="Changed in admin", request=request, via="admin")
        services.patient_set_status(patient=obj, status=new_status, actor=request.user, request=request,
                                    via="admin")


@admin.register(CareTeamLink)
class CareTeamLinkAdmin(ReadOnlyGatedAdmin):
    """Read-only here: transitions must go through patients.care_team so access grants follow them."""

    gate_resource = "patients"
    list_display = ["patient", "staff", "status", "created_at", "activated_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["patient__last_name", "staff__user__email"]
    list_select_related = ["patient", "staff__user", "staff__role"]


@admin.register(PatientImport)
class PatientImportAdmin(ReadOnlyGatedAdmin):
    gate_resource = "patients"
    list_display = ["original_name", "project", "created_by", "status", "total_rows", "valid_rows",
                    "imported_rows", "created_at"]
    list_filter = ["status"]
    list_select_related = ["project", "created_by"]


@admin.register(PatientUserObjectPermission)
class PatientGrantAdmin(admin.ModelAdmin):
    """Per-patient grants (care-team links create and remove them). Operators only."""

    list_display = ["user", "permission", "content_object"]
    list_select_related = ["user", "permission", "content_object"]
    search_fields = ["user__email", "content_object__last_name"]
    raw_id_fields = ["user", "content_object"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    has_change_permission = has_add_permission = has_delete_permission = has_view_permission
