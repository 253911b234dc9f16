"""Django admin, behind the same gate as every page.

Superusers see everything. A tenant's own admins and clinicians (is_staff) see
their project only: querysets, foreign-key choices and the add/change/delete
buttons all come from mahalo/access.py through GatedAdmin.
"""

from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q

from mahalo import access, audit, db
from mahalo.exports import stream_csv
from mahalo.models import (
    AuditEvent,
    FeatureFlag,
    ProgramAssignment,
    ProgramSetting,
    Project,
    ProjectSetting,
    Role,
    RolePermission,
    StaffMember,
    User,
)

# How to reach the tenant from each tenant-owned model (for the scoped querysets).
TENANT_PATHS = {
    RolePermission: "role__project",
    # (models with a `patient` FK are scoped through the gate's patients_for)
    ProgramAssignment: "staff__project",
    ProgramSetting: "program__project",
}


def tenant_filter(user, queryset, resource: str, action: str = "read"):
    """The rows of queryset's model that `user` may `action`, from the gate's own scoping functions:
    patients by program (and care-team grant), rows tied to a program by the user's programs, imports as
    the import pages list them, per-user rows through the person they belong to."""
    model = queryset.model
    from patients.models import Patient, PatientImport

    if model is Patient:
        return access.patients_for(user, action, resource).order_by(*model._meta.ordering)
    if model is PatientImport:
        return queryset.filter(pk__in=access.imports_for(user).values("pk")) if access.can(
            user, resource, action) else queryset.none()
    path = TENANT_PATHS.get(model)
    if path is None:
        return program_filter(user, access.scoped(user, queryset, resource, action))
    if not access.can(user, resource, action):
        return queryset.none()
    if user.is_superuser:
        return queryset
    project = access.project_of(user)
    return queryset.filter(**{path: project}) if project and access.staff_of(user) else queryset.none()


def program_filter(user, queryset):
    """Rows tied to one program (rules, availability, templates, menus) follow the program scope, as
    the pages do; rows with no program are the tenant's and stay visible to its staff."""
    names = {f.name for f in queryset.model._meta.get_fields()}
    if not user.is_superuser and "program" in names and "patient" not in names:
        queryset = queryset.filter(Q(program__isnull=True) | Q(program__in=access.programs_for(user)))
    if not user.is_superuser and "user" in names and "patient" not in names:
        # Per-user rows (feed tokens...): one's own, a colleague's, or a patient's in scope.
        project = access.project_of(user)
        queryset = queryset.filter(Q(user=user) | Q(user__staff__project=project)
                                   | Q(user__patient__in=access.patients_for(user))).distinct()
    return queryset


def related_scope(user, model):
    """The rows of `model` a non-superuser may pick in an admin form (foreign keys, raw-id fields):
    labels are looked up and ids validated only in this scope."""
    from patients.models import Patient, PatientImport, Program

    project = access.project_of(user)
    if model is Patient:
        return access.patients_for(user)
    if model is Program:
        return access.programs_for(user)
    if model is Project:
        return Project.objects.filter(pk=getattr(project, "pk", None))
    if model is User:
        return User.objects.filter(Q(staff__project=project) | Q(patient__in=access.patients_for(user))).distinct()
    if model is PatientImport:
        return access.imports_for(user)
    names = {f.name for f in model._meta.get_fields()}
    if "patient" in names:
        return model._default_manager.filter(patient__in=access.patients_for(user))
    if "project" in names:
        return program_filter(user, model._default_manager.filter(Q(project=project) | Q(project__isnull=True))
                              if model._meta.get_field("project").null else
                              model._default_manager.filter(project=project))
    if model in TENANT_PATHS:
        return model._default_manager.filter(**{TENANT_PATHS[model]: project})
    for path in ("thread__patient", "message__thread__patient"):
        if path.split("__")[0] in names:
            return model._default_manager.filter(**{f"{path}__in": access.patients_for(user)})
    return None  # a platform-wide table (food categories...): nothing tenant-specific to hide


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id field whose label is looked up only in the actor's scope: a foreign id typed into the
    field shows nothing, rather than echoing another tenant's record."""

    def __init__(self, rel, admin_site, queryset, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.scope = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            if not self.scope.filter(**{key: value}).exists():
                return "", ""
        except (ValueError, TypeError, ValidationError):
            return "", ""
        return super().label_and_url_for_value(value)


class GatedAdminMixin:
    gate_resource = "settings"

    def _can(self, request, action, obj: Model | None = None) -> bool:
        return access.can(request.user, self.gate_resource, action, obj if _has_tenant(obj) else None)

    def get_queryset(self, request):
        return tenant_filter(request.user, super().get_queryset(request), self.gate_resource)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff and self._can(request, "read")

    def has_view_permission(self, request, obj=None):
        return self._can(request, "read", obj)

    def has_change_permission(self, request, obj=None):
        return self._can(request, "update", obj)

    def has_add_permission(self, request, *args):
        return self._can(request, "write")

    def has_delete_permission(self, request, obj=None):
        return self._can(request, "delete", obj)

    def get_changelist_form(self, request, **kwargs):
        # A list_editable input sits in a table cell with no <label>: name it after its column
        # and its row, or a screen reader hears "checkbox, not checked" fifty times.
        base = super().get_changelist_form(request, **kwargs)

        class Labelled(base):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                for name, field in self.fields.items():
                    if name != self._meta.model._meta.pk.name:
                        field.widget.attrs.setdefault("aria-label", f"{field.label}: {self.instance}")

        Labelled.__name__ = base.__name__
        return Labelled

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices and raw ids are data too: a form offers, labels and accepts only rows in the actor's
        # scope, so a foreign id fails validation like a missing one and no write can cross a tenant.
        if not request.user.is_superuser and "queryset" not in kwargs:
            scope = related_scope(request.user, db_field.related_model)
            if scope is not None:
                kwargs["queryset"] = scope
                if db_field.name in self.raw_id_fields:
                    kwargs["widget"] = ScopedRawIdWidget(db_field.remote_field, self.admin_site, scope,
                                                         using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if not request.user.is_superuser and "queryset" not in kwargs:
            scope = related_scope(request.user, db_field.related_model)
            if scope is not None:
                kwargs["queryset"] = scope
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            if not change and hasattr(obj, "project_id") and not obj.project_id:
                obj.project = access.project_of(request.user)
            # Whatever the form said, the row must land inside the actor's scope.
            scope = related_scope(request.user, type(obj))
            if obj.pk is not None and scope is not None and change and not scope.filter(pk=obj.pk).exists():
                raise PermissionDenied
            if not _lands_in_scope(request.user, obj):
                raise PermissionDenied
        super().save_model(request, obj, form, change)

    # Admin writes land in the audit trail as well as Django's LogEntry.
    def log_addition(self, request, obj, message):
        _audit_admin(request, "write", obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        _audit_admin(request, "update", obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            _audit_admin(request, "delete", obj)
        return super().log_deletions(request, queryset)


def _lands_in_scope(user, obj) -> bool:
    from patients.models import Patient

    project = access.project_of(user)
    if getattr(obj, "project_id", None) not in (None, getattr(project, "pk", None)):
        return False
    patient_id = obj.pk if isinstance(obj, Patient) else getattr(obj, "patient_id", None)
    if patient_id is not None and not isinstance(obj, Patient):
        return access.patients_for(user).filter(pk=patient_id).exists()
    program_id = getattr(obj, "program_id", None)
    if program_id is not None:
        return access.programs_for(user).filter(pk=program_id).exists()
    return True


def _has_tenant(obj) -> bool:
    return obj is not None and (hasattr(obj, "patient") or hasattr(obj, "project_id") or isinstance(obj, Project))


def _audit_admin(request, action, obj, message=None):
    from patients.models import Patient

    patient = obj if isinstance(obj, Patient) else getattr(obj, "patient", None)
    project = getattr(obj, "project", None) if not isinstance(obj, Project) else obj
    audit.record(request=request, action=action, resource=obj._meta.label_lower, patient=patient,
                 project=project if isinstance(project, Project) else None, object_id=obj.pk,
                 metadata={"via": "admin", "change": str(message)[:500] if message else ""})


class GatedAdmin(GatedAdminMixin, admin.ModelAdmin):
    list_per_page = 50


class ReadOnlyGatedAdmin(GatedAdmin):
    """Records written only by services (audit, outbox, care-team links...): view, filter, export."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class GatedInline(admin.TabularInline):
    extra = 0

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "settings", "read")

    def has_change_permission(self, request, obj=None):
        return access.can(request.user, "settings", "update")

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Logins are managed by platform operators only."""

    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "is_superuser", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]
    filter_horizontal: list[str] = []

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    has_change_permission = has_add_permission = has_delete_permission = has_view_permission


@admin.register(Project)
class ProjectAdmin(GatedAdmin):
    list_display = ["name", "slug", "brand_name", "brand_color", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "brand_name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return qs
        project = access.project_of(request.user)
        return qs.filter(pk=project.pk) if project and access.can(request.user, "settings", "read") else qs.none()

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class RolePermissionInline(GatedInline):
    model = RolePermission


@admin.register(Role)
class RoleAdmin(GatedAdmin):
    list_display = ["name", "project", "scope", "description"]
    list_filter = ["scope", ("project", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description"]
    inlines = [RolePermissionInline]


class ProgramAssignmentInline(GatedInline):
    model = ProgramAssignment

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "program" and not request.user.is_superuser:
            kwargs["queryset"] = access.programs_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(StaffMember)
class StaffMemberAdmin(GatedAdmin):
    list_display = ["user", "project", "role", "title", "license_number", "is_verified", "telehealth_enabled",
                    "is_active"]
    list_filter = [("project", admin.RelatedOnlyFieldListFilter), "role__scope", "is_active", "telehealth_enabled",
                   "is_verified"]
    search_fields = ["user__email", "user__full_name", "license_number"]
    list_select_related = ["user", "project", "role"]
    raw_id_fields = ["user"]
    inlines = [ProgramAssignmentInline]
    # Verification is set only by the actions below (who and when are recorded), never typed in.
    readonly_fields = ["is_verified", "verified_at", "verified_by"]
    actions = ["verify_credentials", "withdraw_verification"]

    def save_model(self, request, obj, form, change):
        # New credentials haven't been checked: a changed licence or certification clears the badge.
        if change and obj.is_verified and {"license_number", "certifications"} & set(form.changed_data):
            from mahalo.services import staff_unverify

            super().save_model(request, obj, form, change)
            staff_unverify(staff=obj, actor=request.user, reason="credentials changed", request=request)
            self.message_user(request, "Credentials changed: verify them again.", level="warning")
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Verify licence and certification (uses each profile's verification note)")
    def verify_credentials(self, request, queryset):
        from django.core.exceptions import PermissionDenied, ValidationError

        from mahalo.services import staff_verify

        done = 0
        for staff in queryset.select_related("user", "project"):
            try:
                staff_verify(staff=staff, actor=request.user, note=staff.verification_note, request=request)
                done += 1
            except (ValidationError, PermissionDenied) as exc:
                detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{staff.user}: {detail}", level="error")
        if done:
            self.message_user(request, f"Verified {done} clinician(s).")

    @admin.action(description="Withdraw verification")
    def withdraw_verification(self, request, queryset):
        from mahalo.services import staff_unverify

        if not access.can(request.user, "settings", "update"):
            self.message_user(request, "Your role can't change verifications.", level="error")
            return
        for staff in queryset:
            staff_unverify(staff=staff, actor=request.user, reason="withdrawn by an administrator", request=request)


@admin.register(ProgramAssignment)
class ProgramAssignmentAdmin(GatedAdmin):
    list_display = ["staff", "program", "created_at"]
    list_filter = [("program", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["staff__user__email", "program__name"]
    list_select_related = ["staff__user", "staff__role", "program"]


@admin.register(ProjectSetting)
class ProjectSettingAdmin(GatedAdmin):
    list_display = ["key", "value", "project", "updated_at"]
    list_filter = [("project", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["key", "value"]


@admin.register(ProgramSetting)
class ProgramSettingAdmin(GatedAdmin):
    list_display = ["key", "value", "program", "updated_at"]
    list_filter = [("program", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["key", "value"]


@admin.register(FeatureFlag)
class FeatureFlagAdmin(GatedAdmin):
    list_display = ["name", "enabled", "project", "created_at"]
    list_filter = ["enabled", ("project", admin.RelatedOnlyFieldListFilter)]
    list_editable = ["enabled"]
    search_fields = ["name"]


@admin.action(description="Export selected events as CSV")
def export_audit_csv(modeladmin, request, queryset):
    audit.record(request=request, action="export", resource="audit", metadata={"via": "admin",
                                                                                 "count": queryset.count()})
    rows = ([e.at.isoformat(), e.actor_email, e.actor_role, e.action, e.resource, e.patient_id or "",
             e.object_id, e.ip or "", e.path, e.metadata] for e in db.iterate(queryset))
    return stream_csv(["at", "actor_email", "actor_role", "action", "resource", "patient_id", "object_id", "ip",
                       "path", "metadata"], rows, "audit-events.csv")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyGatedAdmin):
    """Append-only: filter, read and export; never add, change or delete."""

    gate_resource = "audit"
    list_display = ["at", "actor_email", "actor_role", "action", "resource", "patient", "ip"]
    list_filter = ["action", "resource", "actor_role", "at"]
    search_fields = ["actor_email", "object_id", "patient__last_name", "patient__first_name", "path"]
    date_hierarchy = "at"
    list_select_related = ["patient"]
    actions = [export_audit_csv]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


# allauth's EmailAddress admin lets a non-superuser staff see every login's
# address; keep it for platform operators only.
class EmailAddressAdmin(admin.ModelAdmin):
    list_display = ["email", "user", "primary", "verified"]
    search_fields = ["email"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    has_change_permission = has_add_permission = has_delete_permission = has_view_permission


if admin.site.is_registered(EmailAddress):
    admin.site.unregister(EmailAddress)
admin.site.register(EmailAddress, EmailAddressAdmin)
