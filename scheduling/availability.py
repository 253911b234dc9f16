"""Clinicians' availability: whose calendars a user may open and manage, and the writes
to availability blocks (the schedule pages call these; the pages only parse and render).

Availability rows belong to a staff member of a tenant, not to a patient: they are reached
only among `schedule_staff(user)` (the calendars the user may open) and through the gate's
tenant scope (`access.load(..., via="project")`), so another tenant's or program's block is
a 404 like a missing one.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404

from mahalo import access, audit
from mahalo.models import Role, StaffMember
from scheduling.models import Availability, Slot


def schedule_staff(user) -> list[StaffMember]:
    """Whose calendars the user may open: everyone in the tenant for a global role,
    else colleagues sharing one of their programs (and themselves)."""
    staff = access.staff_of(user)
    project = access.project_of(user)
    if user.is_superuser and staff is None:
        return list(StaffMember.objects.filter(is_active=True).select_related("user").order_by("user__full_name"))
    if staff is None or project is None:
        return []
    qs = StaffMember.objects.filter(project=project, is_active=True).select_related("user")
    if staff.role.scope != Role.SCOPE_GLOBAL:
        programs = [p.pk for p in access.program_list(user)]
        qs = qs.filter(Q(pk=staff.pk) | Q(assignments__program_id__in=programs)).distinct()
    return list(qs.order_by("user__full_name"))


def may_manage(user, staff: StaffMember) -> bool:
    """Their own availability (scheduling:write), or anyone's in the tenant for a
    global role with scheduling:update."""
    me = access.staff_of(user)
    if me is not None and staff.pk == me.pk:
        return access.can(user, "scheduling", "write")
    return access.can(user, "scheduling", "update") and (
        user.is_superuser or (me is not None and me.role.scope == Role.SCOPE_GLOBAL
                              and me.project_id == staff.project_id))


def availability_load(request, availability_id) -> Availability:
    """A block the user may change: on a calendar they may open, in their tenant, and theirs
    to manage (`may_manage`); Http404 otherwise, missing or forbidden alike."""
    options = schedule_staff(request.user)
    avail = access.load(request, Availability.objects.filter(staff__in=options).select_related("staff"),
                        availability_id, resource="scheduling", action="write", via="project")
    if not may_manage(request.user, avail.staff):
        raise Http404
    return avail


def blocked_slot_load(request, slot_id) -> Slot:
    """A block of time the user may unblock (same rule as availability); Http404 otherwise."""
    slot = access.load(request, Slot.objects.filter(status=Slot.Status.BLOCKED,
                                                   staff__in=schedule_staff(request.user))
                       .select_related("staff__project"), slot_id, resource="scheduling", action="write",
                       via="project")
    if not may_manage(request.user, slot.staff):
        raise Http404
    return slot


def programs_of(user, staff: StaffMember) -> list:
    """Programs a block of `staff` may be offered in: the user's programs the clinician works in."""
    assigned = set(staff.assignments.values_list("program_id", flat=True))
    return [p for p in access.program_list(user) if staff.role.scope == Role.SCOPE_GLOBAL or p.pk in assigned]


@transaction.atomic
def availability_create(*, staff: StaffMember, program, actor, mode: str, location: str, rule: str,
                        starts_on: date, ends_on: date | None, start_time, end_time, slot_minutes: int,
                        request=None) -> Availability:
    """A recurring block of bookable time. The caller has checked `may_manage` and that `program`
    is one of `programs_of(actor, staff)`. Raises ValidationError for a block the model refuses."""
    if program is None:
        raise ValidationError({"program": "Pick one of the clinician's programs."})
    avail = Availability(project_id=staff.project_id, program=program, staff=staff, mode=mode, location=location,
                         rrule=rule, starts_on=starts_on, ends_on=ends_on, start_time=start_time, end_time=end_time,
                         slot_minutes=slot_minutes, created_by=actor)
    avail.full_clean()
    avail.save()
    audit.record(request=request, actor=actor, action="write", resource="scheduling", object_id=avail.pk,
                 metadata={"what": "availability_created", "staff": str(staff.pk)})
    return avail


ACTIONS = ("pause", "resume", "skip", "delete")


@transaction.atomic
def availability_change(*, avail: Availability, action: str, actor, day: date | None = None,
                        request=None) -> None:
    """Pause, resume, skip one day of, or delete a block. Booked visits are never touched:
    they stay booked whatever happens to the time they were booked from."""
    if action == "delete":
        audit.record(request=request, actor=actor, action="delete", resource="scheduling", object_id=avail.pk,
                     metadata={"what": "availability_deleted"})
        avail.delete()
        return
    if action == "pause":
        avail.status = Availability.Status.PAUSED
    elif action == "resume":
        avail.status = Availability.Status.ACTIVE
    elif action == "skip":
        if day is None:
            raise ValidationError({"date": "Give the date to skip."})
        avail.exdates = sorted({*avail.exdates, day.isoformat()})
    else:
        raise ValueError(f"Unknown availability action {action!r}")
    avail.save()
    audit.record(request=request, actor=actor, action="update", resource="scheduling", object_id=avail.pk,
                 metadata={"what": f"availability_{action}"})
