"""The one access gate. Every decision about who may see or change what lives here.

Rules:
- Staff hold one Role in one Project. A role's scope is `program` (patients of
  the programs assigned to the staff member) or `global` (the whole project);
  its RolePermissions say which actions (read/write/update/delete) it has on
  which resources (patients, clinical, ...).
- A per-object grant (django-guardian `view_patient` on a Patient, created by an
  active care-team link) widens a staff member's *scope* to that patient. The
  role still decides *what* they may do there, and never outside their project.
- A patient sees only themselves, with the fixed PATIENT_SELF_PERMISSIONS.
- Superusers are platform operators: everything, always audited.
- Missing and forbidden look the same: loaders raise Http404 for both.

Decisions read the user's staff row, role permissions and program scope once
and cache them on the user object: one request, one read. Load a fresh user
(tasks take ids) rather than keep one across requests.

Use it like this:
    patients = access.patients_for(request.user)                    # lists
    patient = access.patient_for_request(request, pk)               # one record, audited read
    if not access.can(request.user, "clinical", "write", patient):  # a check
    rows = access.scoped(request.user, Observation.objects, "clinical")  # patient-owned rows
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from mahalo import audit
from mahalo.actors import actor_role, patient_of, project_of, record_closed, staff_of  # noqa: F401 (the gate's API)
from mahalo.models import ACTIONS, RESOURCES, ProgramAssignment, Project, Role, RolePermission

if TYPE_CHECKING:
    from patients.models import Patient, Program

# What a patient may do to their own record through the portal and the app.
PATIENT_SELF_PERMISSIONS = frozenset(
    {("patients", "read"), ("patients", "update"), ("reports", "read")}
    | {(r, a) for r in ("clinical", "scheduling", "messaging", "nutrition", "wearables") for a in ("read", "write")}
)
PATIENT_SELF_READ = frozenset((r, a) for r, a in PATIENT_SELF_PERMISSIONS if a == "read")
GRANT_CODENAME = "view_patient"


def _check(resource: str, action: str) -> None:
    # A typo here would silently deny (or worse, a future change could silently
    # allow); fail loudly instead.
    if resource not in RESOURCES or action not in ACTIONS:
        raise ValueError(f"Unknown permission {resource}:{action}")


def is_staff_user(user) -> bool:
    """Works in the clinician-facing side (staff pages, MFA rule, idle timeout)."""
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or staff_of(user)))


def permissions_of(user) -> frozenset[tuple[str, str]]:
    """(resource, action) pairs the user's role grants, cached on the user."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if not hasattr(user, "_gate_perms"):
        if user.is_superuser:
            perms = frozenset((r, a) for r in RESOURCES for a in ACTIONS)
        elif staff := staff_of(user):
            perms = frozenset(RolePermission.objects.filter(role=staff.role).values_list("resource", "action"))
        elif patient_of(user):
            # An archived record is read-only to its patient (actors.record_closed).
            perms = PATIENT_SELF_READ if record_closed(user) else PATIENT_SELF_PERMISSIONS
        else:
            perms = frozenset()
        user._gate_perms = perms
    return user._gate_perms


def programs_for(user) -> QuerySet[Program]:
    """Programs whose patients the user may see by role scope (for filters and switchers)."""
    from patients.models import Program

    if not getattr(user, "is_authenticated", False):
        return Program.objects.none()
    if user.is_superuser:
        return Program.objects.all()
    staff = staff_of(user)
    if staff is None:
        patient = patient_of(user)
        return Program.objects.filter(pk=patient.program_id) if patient else Program.objects.none()
    qs = Program.objects.filter(project_id=staff.project_id)
    if staff.role.scope == Role.SCOPE_GLOBAL:
        return qs
    return qs.filter(assignments__staff=staff)


def program_list(user) -> list[Program]:
    """programs_for(user) as a list ordered by name, read once per request (nav, switcher,
    filters and the timezone all need it)."""
    if not hasattr(user, "_gate_programs"):
        user._gate_programs = list(programs_for(user).order_by("name")) if getattr(
            user, "is_authenticated", False) else []
    return user._gate_programs


def patients_for(user, action: str = "read", resource: str = "patients") -> QuerySet[Patient]:
    """Every patient the user may `action` on `resource`. The only way to list patients."""
    from patients.models import Patient

    _check(resource, action)
    if (resource, action) not in permissions_of(user):
        return Patient.objects.none()
    if user.is_superuser:
        return Patient.objects.all()
    staff = staff_of(user)
    if staff is None:
        return Patient.objects.filter(user=user)
    qs = Patient.objects.filter(project_id=staff.project_id)
    if staff.role.scope == Role.SCOPE_GLOBAL:
        return qs
    assigned, granted = _program_scope(user, staff)
    # Plain id lists (both short) rather than joins or OR-ed subqueries: no
    # duplicate rows, and the planner can use the program and name indexes.
    scope = Q(program_id__in=assigned)
    if granted:
        scope |= Q(pk__in=granted)
    return qs.filter(scope)


def _program_scope(user, staff) -> tuple[list, list]:
    """(assigned program ids, individually granted patient ids), cached on the user."""
    from patients.models import PatientUserObjectPermission

    if not hasattr(user, "_gate_scope"):
        assigned = list(ProgramAssignment.objects.filter(staff=staff).values_list("program_id", flat=True))
        granted = list(
            PatientUserObjectPermission.objects.filter(user=user, permission__codename=GRANT_CODENAME)
            .values_list("content_object_id", flat=True)
        )
        user._gate_scope = (assigned, granted)
    return user._gate_scope


def can(user, resource: str, action: str, obj: Model | None = None) -> bool:
    """May `user` do `action` on `resource` (for `obj`, a Patient or a row with .patient / .project)?"""
    _check(resource, action)
    if (resource, action) not in permissions_of(user):
        return False
    if obj is None:
        return True
    from patients.models import Patient

    patient = obj if isinstance(obj, Patient) else getattr(obj, "patient", None)
    if patient is not None:
        # The scope of patients_for() is the same for every resource and action (the role's
        # permission, checked above, is what differs), so a patient found in scope once in this
        # request (cached on the user, like the role) needs no second query.
        if patient.pk in _in_scope(user):
            return True
        found = patients_for(user, action, resource).filter(pk=patient.pk).exists()
        if found:
            _in_scope(user).add(patient.pk)
        return found
    project_id = getattr(obj, "project_id", None)
    if project_id is None and isinstance(obj, Project):
        project_id = obj.pk
    if project_id is not None:
        return user.is_superuser or (project_of(user) is not None and project_of(user).pk == project_id)
    return False


def get_patient_for(user, patient_id, action: str = "read", resource: str = "patients") -> Patient:
    """Load one patient or raise Http404, for missing and forbidden alike."""
    patient = (
        patients_for(user, action, resource).select_related("program", "project").filter(pk=patient_id).first()
    )
    if patient is None:
        raise Http404("No such patient.")
    _in_scope(user).add(patient.pk)
    return patient


def _in_scope(user) -> set:
    """Ids of patients the gate found in this user's scope during this request."""
    if not hasattr(user, "_gate_in_scope"):
        user._gate_in_scope = set()
    return user._gate_in_scope


def patient_for_request(request, patient_id, action: str = "read", resource: str = "patients") -> Patient:
    """`get_patient_for` for views and the API: audits the read, or the denial."""
    from patients.models import Patient

    try:
        patient = get_patient_for(request.user, patient_id, action, resource)
    except Http404:
        # Only we learn that the record exists; the caller gets the same 404.
        target = Patient.objects.filter(pk=patient_id).only("id", "project_id").first()
        if target is not None:
            audit.record(request=request, action="denied", resource=resource, patient=target,
                         project=target.project, metadata={"wanted": action})
        raise
    if action == "read":
        audit.record(request=request, action="read", resource=resource, patient=patient)
    return patient


def scoped(user, queryset: QuerySet, resource: str, action: str = "read") -> QuerySet:
    """Rows of a patient-owned (`patient` FK) or tenant-owned (`project` FK) model
    that the user may `action`."""
    _check(resource, action)
    model = queryset.model
    field_names = {f.name for f in model._meta.get_fields()}
    if "patient" in field_names:
        return queryset.filter(patient__in=patients_for(user, action, resource))
    if (resource, action) not in permissions_of(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    if "project" in field_names:
        project = project_of(user)
        if project is None or (staff_of(user) is None):
            return queryset.none()
        return queryset.filter(project=project)
    raise TypeError(f"{model.__name__} has neither a patient nor a project field; the gate can't scope it.")


def imports_for(user):
    """Patient import jobs the user may see and run: their own in their tenant, or all of
    the tenant's with a global role. Needs patients:write."""
    from patients.models import PatientImport

    if not can(user, "patients", "write"):
        return PatientImport.objects.none()
    if user.is_superuser:
        return PatientImport.objects.all()
    staff = staff_of(user)
    if staff is None:
        return PatientImport.objects.none()
    jobs = PatientImport.objects.filter(project_id=staff.project_id)
    return jobs if staff.role.scope == Role.SCOPE_GLOBAL else jobs.filter(created_by=user)


def load(request, queryset: QuerySet, pk, *, resource: str, action: str = "read", via: str = "patient",
         audit_read: bool = True):
    """Load one protected row for a view or API call, or raise Http404 for missing and forbidden alike.

    `queryset` is the model's manager or a queryset (with its select_related); `via` is the path from
    the row to its Patient (`"patient"`, `"thread__patient"`, ...), or `"project"` for tenant-owned rows.
    A read is audited with the row's patient and id; a denial of a row that exists is audited too (only we
    learn it exists). The one sanctioned way to load a protected object by an id from a URL or form."""

    _check(resource, action)
    base = queryset.all() if hasattr(queryset, "all") else queryset
    if via == "project":
        allowed = scoped(request.user, base, resource, action)
    else:
        allowed = base.filter(**{f"{via}__in": patients_for(request.user, action, resource)})
    try:
        obj = allowed.filter(pk=pk).first()
    except (ValueError, TypeError, ValidationError):  # a malformed id is just a missing row
        raise Http404 from None
    patient = _follow(obj, via) if obj is not None and via != "project" else None
    if obj is None:
        target = base.model._default_manager.filter(pk=pk).first() if _valid_pk(base.model, pk) else None
        if target is not None and via != "project":
            owner = _follow(target, via)
            audit.record(request=request, action="denied", resource=resource, patient=owner,
                         object_id=str(pk), metadata={"wanted": action, "model": base.model._meta.label})
        raise Http404("Not found.")
    if action == "read" and audit_read:
        audit.record(request=request, action="read", resource=resource, patient=patient, object_id=str(obj.pk),
                     metadata={"model": base.model._meta.label})
    return obj


def _follow(obj, path: str):
    for name in path.split("__"):
        obj = getattr(obj, name)
    return obj


def _valid_pk(model, pk) -> bool:
    try:
        model._meta.pk.to_python(pk)
    except ValidationError:
        return False
    return True
