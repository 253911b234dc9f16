"""Core models: users, tenants (Project), staff, roles and permissions,
program assignments, audit, settings and feature flags.

Seeds: ma_admins, ma_roles, ma_role_permissions, ma_program_assignments,
ma_project_settings, ma_program_settings, ma_feature_flags, ma_users_audit
(000); Clinic, Provider, User (003); therapist users (004); doctor profiles (001).
"""

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

RESOURCES = [
    "patients",
    "clinical",
    "scheduling",
    "messaging",
    "nutrition",
    "wearables",
    "reports",
    "settings",
    "audit",
]
ACTIONS = ["read", "write", "update", "delete"]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. Staff have a StaffMember row; patients a Patient with user=this."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May open Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return (self.full_name or self.email).split(" ")[0]

    def _get_session_auth_hash(self, secret=None):
        # Sessions end when a credential changes, not only the password: the login deactivated, the staff
        # role ended or changed (mahalo/credentials.py). Two-factor changes end API tokens; a staff
        # session without two-factor is held at enrolment by StaffMFARequiredMiddleware.
        from django.utils.crypto import salted_hmac

        from mahalo.credentials import stamp

        return salted_hmac("mahalo.User.get_session_auth_hash", stamp(self, authenticators=False), secret=secret,
                           algorithm="sha256").hexdigest()


class Project(models.Model):
    """A tenant: one organisation running programs on Mahalo."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    # Branding shown in the shell for this tenant's users.
    brand_name = models.CharField(max_length=200, blank=True)
    brand_color = models.CharField(
        max_length=7, default="#0f766e", help_text="Accent colour as #rrggbb."
    )
    logo = models.ImageField(upload_to="branding/", blank=True)
    support_email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def display_name(self):
        return self.brand_name or self.name

    def clean(self):
        import re

        if not re.fullmatch(r"#[0-9a-fA-F]{6}", self.brand_color or ""):
            raise ValidationError({"brand_color": "Use a colour like #0f766e."})


class Role(models.Model):
    SCOPE_PROGRAM = "program"
    SCOPE_GLOBAL = "global"
    SCOPES = [(SCOPE_PROGRAM, "Program: assigned programs only"), (SCOPE_GLOBAL, "Global: whole project")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    scope = models.CharField(max_length=10, choices=SCOPES, default=SCOPE_PROGRAM)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="uniq_role_name_per_project")]

    def __str__(self):
        return f"{self.name} ({self.get_scope_display().split(':')[0]})"


class RolePermission(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions")
    resource = models.CharField(max_length=20, choices=[(r, r) for r in RESOURCES])
    action = models.CharField(max_length=10, choices=[(a, a) for a in ACTIONS])

    class Meta:
        ordering = ["resource", "action"]
        constraints = [
            models.UniqueConstraint(fields=["role", "resource", "action"], name="uniq_role_permission")
        ]

    def __str__(self):
        return f"{self.resource}:{self.action}"


class StaffMember(models.Model):
    """A clinician, coach or admin working in one project."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="staff")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="staff")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="members")
    title = models.CharField(max_length=100, blank=True, help_text="e.g. RN, MD, RD")
    specialties = models.JSONField(default=list, blank=True)
    license_number = models.CharField(max_length=60, blank=True)
    # Seed 001's doctor profile: certification(s), e.g. ["ABIM Cardiovascular Disease", "ACLS"].
    certifications = models.JSONField(default=list, blank=True)
    # Set only by an admin with settings:update (mahalo.staff_profiles.verify), never by the clinician;
    # patients see "verified" on care-team cards. Editing the licence or certifications clears it.
    is_verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verification_note = models.TextField(blank=True, help_text="Evidence checked, e.g. state board lookup")
    telehealth_enabled = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__full_name"]

    def __str__(self):
        return f"{self.user} · {self.role.name}"

    def clean(self):
        if self.role_id and self.project_id and self.role.project_id != self.project_id:
            raise ValidationError({"role": "The role must belong to the same project."})


class ProgramAssignment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="assignments")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["staff", "program"], name="uniq_program_assignment")]

    def __str__(self):
        return f"{self.staff.user} → {self.program}"

    def clean(self):
        if self.staff_id and self.program_id and self.staff.project_id != self.program.project_id:
            raise ValidationError({"program": "The program must belong to the staff member's project."})


class AuditQuerySet(models.QuerySet):
    # Append-only: bulk changes are refused here and, on PostgreSQL, by a trigger.
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True)
    actor_role = models.CharField(max_length=60, blank=True)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=40, db_index=True)
    resource = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["project", "-at"]),
            models.Index(fields=["patient", "-at"]),
            models.Index(fields=["actor", "-at"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email or 'anonymous'} {self.action} {self.resource}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class ProjectSetting(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="settings")
    key = models.CharField(max_length=100)
    value = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="uniq_project_setting")]

    def __str__(self):
        return f"{self.key}={self.value}"


class ProgramSetting(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, related_name="settings")
    key = models.CharField(max_length=100)
    value = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["program", "key"], name="uniq_program_setting")]

    def __str__(self):
        return f"{self.key}={self.value}"


class FeatureFlag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="feature_flags")
    name = models.SlugField(max_length=80)
    enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="uniq_feature_flag")]

    def __str__(self):
        return f"{self.name}: {'on' if self.enabled else 'off'}"


class IdempotencyKey(models.Model):
    """A create request a client may retry (issue 20 fault 6): the first answer, replayed for
    the same user and `Idempotency-Key` header instead of creating again (mahalo/idempotency.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("mahalo.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # What the key was used for (the service) and where (the path): a key reused elsewhere is refused.
    scope = models.CharField(max_length=100)
    path = models.CharField(max_length=300)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="uniq_idempotency_key_per_user")]

    def __str__(self):
        return f"{self.scope} {self.key}"
