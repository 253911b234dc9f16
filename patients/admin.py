from django.contrib import admin

from mahalo.admin import GatedAdmin
from patients.models import Patient, PatientUserObjectPermission, Program


@admin.register(Program)
class ProgramAdmin(GatedAdmin):
    list_display = ["name", "project", "timezone", "is_active", "created_at"]
    list_filter = ["is_active", "project", "timezone"]
    search_fields = ["name", "description"]


@admin.register(Patient)
class PatientAdmin(GatedAdmin):
    gate_resource = "patients"
    list_display = ["last_name", "first_name", "mrn", "date_of_birth", "program", "status", "email", "phone",
                    "updated_at"]
    list_display_links = ["last_name", "first_name"]
    list_filter = ["status", "program", "sex"]
    search_fields = ["first_name", "last_name", "preferred_name", "mrn", "email", "phone"]
    list_select_related = ["program"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        ("Identity", {"fields": ["mrn", "first_name", "last_name", "preferred_name", "date_of_birth", "sex"]}),
        ("Enrollment", {"fields": ["project", "program", "status", "user"]}),
        ("Contact", {"fields": ["email", "phone", "preferred_contact_method", "street_address", "city", "state",
                                "postal_code", "country"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        # PHI is archived, never hard-deleted from the UI.
        return False


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
