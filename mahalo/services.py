"""Writes that span several core models."""

from django.db import transaction

from mahalo.models import ACTIONS, RESOURCES, Project, Role, RolePermission

CLINICAL_RESOURCES = ["patients", "clinical", "scheduling", "messaging", "wearables", "reports", "nutrition"]

# The roles every new tenant starts with; admins edit them in Django admin.
DEFAULT_ROLES = {
    "Administrator": (Role.SCOPE_GLOBAL, "Runs the tenant: programs, staff, roles, settings and audit.",
                      {r: ACTIONS for r in RESOURCES}),
    "Clinical Lead": (Role.SCOPE_GLOBAL, "Oversees every program's patients and reads the audit log.",
                      {**{r: ["read", "write", "update"] for r in CLINICAL_RESOURCES}, "audit": ["read"],
                       "settings": ["read"]}),
    "Clinician": (Role.SCOPE_PROGRAM, "Cares for the patients of the programs assigned to them.",
                  {r: ["read", "write", "update"] for r in CLINICAL_RESOURCES}),
    "Dietitian": (Role.SCOPE_PROGRAM, "Nutrition care for the patients of their programs.",
                  {"patients": ["read"], "clinical": ["read"], "nutrition": ["read", "write", "update"],
                   "messaging": ["read", "write"], "scheduling": ["read", "write"], "wearables": ["read"],
                   "reports": ["read"]}),
}


@transaction.atomic
def project_ensure_default_roles(*, project: Project) -> dict[str, Role]:
    """Create (or top up) the default roles of a tenant. Idempotent; never removes
    a permission an admin added."""
    roles = {}
    for name, (scope, description, grants) in DEFAULT_ROLES.items():
        role, _ = Role.objects.get_or_create(project=project, name=name,
                                             defaults={"scope": scope, "description": description})
        wanted = [(res, act) for res, acts in grants.items() for act in acts]
        have = set(RolePermission.objects.filter(role=role).values_list("resource", "action"))
        RolePermission.objects.bulk_create(
            [RolePermission(role=role, resource=res, action=act) for res, act in wanted if (res, act) not in have]
        )
        roles[name] = role
    return roles


# --- Clinician verification (issue 19; seed 001's doctor profiles) --------------------------------

def staff_verify(*, staff, actor, note: str, request=None):
    """An admin with settings:update records that they checked the licence and certification(s)."""
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.utils import timezone

    from mahalo import access, audit

    if not access.can(actor, "settings", "update") or (
            not actor.is_superuser and getattr(access.project_of(actor), "pk", None) != staff.project_id):
        raise PermissionDenied("Only an administrator of this clinic can verify its clinicians.")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"verification_note": "Say what evidence you checked (e.g. the state board lookup)."})
    if not staff.license_number.strip():
        raise ValidationError({"license_number": "Record the licence number before verifying."})
    staff.is_verified, staff.verified_at, staff.verified_by, staff.verification_note = True, timezone.now(), actor, note
    staff.save(update_fields=["is_verified", "verified_at", "verified_by", "verification_note"])
    audit.record(request=request, actor=actor, action="update", resource="settings", project=staff.project,
                 object_id=staff.pk, metadata={"what": "staff_verified", "license": staff.license_number,
                                               "certifications": staff.certifications, "note": note[:500]})
    return staff


def staff_unverify(*, staff, actor, reason: str, request=None):
    """Withdraw a verification (licence lapsed, or the credentials changed)."""
    from mahalo import audit

    if staff.is_verified:
        staff.is_verified, staff.verified_at, staff.verified_by = False, None, None
        staff.save(update_fields=["is_verified", "verified_at", "verified_by"])
        audit.record(request=request, actor=actor, action="update", resource="settings", project=staff.project,
                     object_id=staff.pk, metadata={"what": "staff_unverified", "reason": reason[:300]})
    return staff
