"""Who a login is: their staff row, their patient record, their tenant, the role written into the
audit trail. Cached on the user object for the request. Both the gate (`mahalo.access`, which
re-exports these names) and the audit trail (`mahalo.audit`) need these facts; they live here so the
gate can import the audit trail at module level and the audit trail need not import the gate."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Model

from mahalo.models import Project, StaffMember


def staff_of(user) -> StaffMember | None:
    """The user's active StaffMember row (with role and project), cached on the user."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_gate_staff"):
        user._gate_staff = (
            StaffMember.objects.select_related("role", "project")
            .filter(user=user, is_active=True, project__is_active=True)
            .first()
        )
    return user._gate_staff


def patient_of(user) -> Model | None:
    """The patients.Patient record a portal user logs in as, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_gate_patient"):
        # By the app registry: patients sits above mahalo (DESIGN "Layout"), so no import of it here.
        patients = apps.get_model("patients", "Patient").objects
        user._gate_patient = patients.select_related("program", "project").filter(user=user).first()
    return user._gate_patient


def project_of(user) -> Project | None:
    staff = staff_of(user)
    if staff:
        return staff.project
    patient = patient_of(user)
    return patient.project if patient else None


def actor_role(user) -> str:
    if not getattr(user, "is_authenticated", False):
        return "anonymous"
    if user.is_superuser:
        return "superuser"
    staff = staff_of(user)
    if staff:
        return f"staff:{staff.role.name}"[:60]
    return "patient" if patient_of(user) else "user"


# A patient whose record is archived keeps reading it (portal and app) but changes nothing
# (issue 12 item 10): the gate grants them read only, the session middleware and the API's
# permission refuse every write with this message.
CLOSED_RECORD_MESSAGE = ("Your record at this clinic is archived: you can still read it, but not change it. "
                         "Contact your clinic if this is a mistake.")


def record_closed(user) -> bool:
    """True for a portal login whose patient record is archived."""
    patient = patient_of(user)
    return patient is not None and patient.status == "archived"
