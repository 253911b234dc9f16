"""What the scheduling pages share: the gated loaders of visits and requests, parsing of ids
and dates from a URL, the choice of whose calendar to show, and the slot picker's context."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect

from mahalo import access
from mahalo.models import StaffMember
from scheduling import slots, telehealth
from scheduling.models import Visit, VisitRequest

# Dates a page accepts in ?date= / ?from=: anything else is a 404, never an overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def visit_load(request, visit_id, action: str = "read", *, audit_read: bool = True) -> Visit:
    """One visit the user may `action` (access.load): 404 for missing and forbidden alike;
    reads are audited."""
    queryset = Visit.objects.select_related(  # gate: handed to access.load below
        "patient__program", "patient__project", "staff__user", "slot",
                                            "program")
    return access.load(request, queryset, visit_id, resource="scheduling", action=action, audit_read=audit_read)


def request_load(request, request_id, action: str = "read") -> VisitRequest:
    """One visit request the user may `action` (access.load): 404 for missing and forbidden alike."""
    queryset = VisitRequest.objects.select_related(  # gate: handed to access.load below
        "patient__program", "proposed_slot__staff__user", "visit")
    return access.load(request, queryset, request_id, resource="scheduling", action=action)


def uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def parse_date(raw: str | None, default: date) -> date:
    """?date=YYYY-MM-DD within FIRST_YEAR..LAST_YEAR, `default` when absent; 404 otherwise."""
    try:
        value = date.fromisoformat(raw) if raw else default
    except ValueError:
        raise Http404 from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise Http404
    return value


def pick_staff(request, options: list[StaffMember]) -> StaffMember | None:
    """?staff= among `options` (404 for anyone else), else the user themselves, else the first."""
    wanted = request.GET.get("staff") or request.POST.get("staff") or ""
    chosen = next((s for s in options if str(s.pk) == wanted), None)
    if chosen is None and wanted:
        raise Http404  # not someone whose calendar this user may open
    me = access.staff_of(request.user)
    return chosen or next((s for s in options if me and s.pk == me.pk), None) or (options[0] if options else None)


def slot_context(request, *, patient, staff_options, staff, mode: str, first_day: date, tz, days: int = 7) -> dict:
    start = datetime.combine(first_day, time.min).replace(tzinfo=tz)
    found = slots.open_slots(start=start, end=start + timedelta(days=days), staff=staff, mode=mode,
                             programs=[patient.program]) if staff else []
    return {"slot_days": slots.group_by_day(found, tz), "slot_from": first_day, "slot_to": first_day +
            timedelta(days=days - 1), "slot_prev": first_day - timedelta(days=days),
            "slot_next": first_day + timedelta(days=days), "slot_staff": staff, "slot_mode": mode, "tz": tz}


def join_redirect(request, visit: Visit, *, back: str, unreachable: str):
    """Send a participant into the visit's video room, or back to `back` (a URL name taking the
    visit id) with the reason: outside the join window, or the video service not answering.
    One place for the portal's and the staff page's join buttons."""
    try:
        url = telehealth.join(visit=visit, user=request.user)
    except PermissionError as exc:
        messages.error(request, str(exc))
        return redirect(back, visit.pk)
    except telehealth.TelehealthError:
        messages.error(request, unreachable)
        return redirect(back, visit.pk)
    return room_page(request, url)


def room_page(request, url: str):
    """A page of ours that opens the provider's room. A redirect would not do: the site's CSP
    (form-action 'self') stops a form's redirect to another origin, so the join button did nothing."""
    from django.shortcuts import render

    response = render(request, "scheduling/call_joining.html", {"room_url": url})
    response["Cache-Control"] = "no-store"  # the link may carry the participant's token
    response["Referrer-Policy"] = "no-referrer"
    return response
