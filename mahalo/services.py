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
