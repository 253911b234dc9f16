"""The registry's filters, shared by the page, its CSV export and the API, so a
filter means the same thing everywhere. Everything starts from the gate's
`access.patients_for(user)`; filters only narrow it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from mahalo import access
from mahalo.models import StaffMember
from patients.models import CareTeamLink, Patient, PatientFlag

FILTER_KEYS = ("q", "program", "status", "flag", "care_team", "no_data_days", "sort")
SORTS = {
    "name": ("last_name", "first_name"),
    "-name": ("-last_name", "-first_name"),
    "age": ("-date_of_birth",),
    "-age": ("date_of_birth",),
    "program": ("program__name", "last_name"),
    "status": ("status", "last_name"),
    "last_data": ("last_data_at", "last_name"),
    "-last_data": ("-last_data_at", "last_name"),
    "-created": ("-created_at",),
}
MAX_NO_DATA_DAYS = 365


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def care_team_choices(user) -> QuerySet[StaffMember]:
    """Staff a user may filter the registry by: active staff of their own tenant."""
    project = access.project_of(user)
    if project is None or access.staff_of(user) is None:
        return StaffMember.objects.none()
    return (StaffMember.objects.filter(project=project, is_active=True).select_related("user")
            .order_by("user__full_name"))


def filter_patients(user, params, *, focus=None) -> tuple[QuerySet[Patient], dict, dict]:
    """(patients, the filters applied, errors by filter) for query parameters `params`.

    `focus` is the staff member's current program (the program switcher): used
    when no program filter is given."""
    qs = access.patients_for(user)
    f = {k: (params.get(k) or "").strip() for k in FILTER_KEYS}
    errors: dict[str, str] = {}

    if f["program"]:
        program_id = _uuid(f["program"])
        qs = qs.filter(program_id=program_id) if program_id else qs.none()
    elif focus is not None:
        qs = qs.filter(program=focus)

    if f["status"] == "all":
        pass
    elif f["status"] in Patient.Status.values:
        qs = qs.filter(status=f["status"])
    else:
        f["status"] = ""
        qs = qs.exclude(status=Patient.Status.ARCHIVED)

    if f["flag"]:
        if f["flag"] in PatientFlag.Flag.values:
            qs = qs.filter(flags__flag=f["flag"])
        else:
            errors["flag"] = "Unknown flag."

    if f["care_team"]:
        staff_id = _uuid(f["care_team"])
        if staff_id is None:
            errors["care_team"] = "Unknown care team member."
        else:
            # One link per (patient, staff): the join can't duplicate patients.
            qs = qs.filter(care_team_links__staff_id=staff_id, care_team_links__status=CareTeamLink.Status.ACTIVE)

    if f["no_data_days"]:
        try:
            days = int(f["no_data_days"])
            if not 1 <= days <= MAX_NO_DATA_DAYS:
                raise ValueError
        except ValueError:
            errors["no_data_days"] = f"Give a number of days from 1 to {MAX_NO_DATA_DAYS}."
        else:
            since = timezone.now() - timedelta(days=days)
            qs = qs.filter(Q(last_data_at__isnull=True) | Q(last_data_at__lt=since))

    for term in f["q"].upper().split():
        qs = qs.filter(search_text__contains=term)

    qs = qs.order_by(*SORTS.get(f["sort"], SORTS["name"]), "id")
    return qs, f, errors


def with_list_columns(qs: QuerySet[Patient]) -> QuerySet[Patient]:
    """What a registry row shows, fetched in a constant number of queries."""
    return qs.select_related("program").prefetch_related(
        Prefetch("flags", queryset=PatientFlag.objects.order_by("flag"))
    )


EXPORT_HEADER = ["Name", "MRN", "Age", "Program", "Status", "Flags", "Phone", "Email", "Last data received",
                 "Open alerts", "Next appointment"]


def export_row(p: Patient) -> list:
    """One CSV row: the registry table's columns, in its order (contact split in two)."""
    return [
        f"{p.last_name}, {p.first_name}", p.mrn, "" if p.age is None else p.age, p.program.name,
        p.get_status_display(), "; ".join(f.get_flag_display() for f in p.flags.all()),
        str(p.phone or ""), p.email,
        timezone.localtime(p.last_data_at).strftime("%Y-%m-%d %H:%M") if p.last_data_at else "",
        "", "",
    ]
