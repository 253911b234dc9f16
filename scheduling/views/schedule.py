"""Staff pages: the schedule (a clinician's day or week) and the chart's Visits tab.

Visits are read through the gate (`access.scoped(..., "scheduling")`): another program's
or tenant's visit never shows. A colleague's calendar shows visits of patients outside the
viewer's scope as anonymous "Busy" time.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required
from patients import shell
from scheduling import chart, grid, slots
from scheduling.availability import schedule_staff
from scheduling.models import Availability, Slot, Visit, VisitRequest
from scheduling.views.common import parse_date, pick_staff

# --- The schedule -------------------------------------------------------------------------

@vary_on_headers("HX-Request")
@permission_required("scheduling", "read")
def schedule(request: HttpRequest) -> HttpResponse:
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    view = "day" if request.GET.get("view") == "day" else "week"
    anchor = parse_date(request.GET.get("date"), today)
    options = schedule_staff(request.user)
    staff = pick_staff(request, options)
    days = [anchor] if view == "day" else [anchor - timedelta(days=anchor.weekday()) + timedelta(days=i)
                                            for i in range(7)]
    start = datetime.combine(days[0], time.min).replace(tzinfo=tz)
    end = datetime.combine(days[-1] + timedelta(days=1), time.min).replace(tzinfo=tz)
    step = timedelta(days=1 if view == "day" else 7)
    context = {"view": view, "anchor": anchor, "days": days, "staff": staff, "staff_options": options,
               "prev": anchor - step, "next": anchor + step, "today": today, "tzname": str(tz)}
    if staff is not None:
        context.update(_calendar(request, staff, start, end, days, tz, today))
    audit.record(request=request, action="list", resource="scheduling",
                 metadata={"page": "schedule", "staff": str(staff.pk) if staff else "", "from": str(days[0]),
                           "view": view})
    template = "scheduling/schedule.html#calendar" if request.htmx else "scheduling/schedule.html"
    return render(request, template, context)


def _calendar(request, staff, start, end, days, tz, today) -> dict:
    now = timezone.now()
    in_range = Q(starts_at__lt=end, ends_at__gt=start)
    visible = list(access.scoped(request.user, Visit.objects.all(), "scheduling")
                   .filter(in_range, staff=staff).exclude(status__in=Visit.INACTIVE)
                   .select_related("patient").order_by("starts_at"))
    # Times only, no patient data: a colleague's visits outside the viewer's scope show as "Busy".
    hidden = (Visit.objects.filter(in_range, staff=staff).exclude(status__in=Visit.INACTIVE)  # gate: times only
              .exclude(pk__in=[v.pk for v in visible]).values_list("starts_at", "ends_at"))
    held_or_blocked = list(Slot.objects.filter(in_range, staff=staff).filter(
        Q(status=Slot.Status.BLOCKED) | Q(status=Slot.Status.HELD, held_until__gt=now)))
    blocks = [grid.Block("visit", v.starts_at, v.ends_at, label=v.patient.full_name,
                         detail=f"{v.get_visit_type_display()} · {'Video' if v.is_virtual else 'In person'}",
                         url=f"/schedule/visits/{v.pk}/", status=v.status, mode=v.mode) for v in visible]
    blocks += [grid.Block("busy", s, e, label="Busy") for s, e in hidden]
    blocks += [grid.Block("hold" if s.status == Slot.Status.HELD else "blocked", s.starts_at, s.ends_at,
                          label="Held" if s.status == Slot.Status.HELD else (s.note or "Blocked"),
                          detail=f"until {timezone.localtime(s.held_until):%b %-d %H:%M}" if s.held_until else "")
               for s in held_or_blocked]
    shading = []
    for avail in Availability.objects.filter(staff=staff, status=Availability.Status.ACTIVE).select_related(
            "program"):
        for s, e in slots.availability_windows(avail, days[0] - timedelta(days=1), days[-1] + timedelta(days=1)):
            shading.append(grid.Block("avail", s, e, label=avail.get_mode_display(), detail=avail.location))
    columns, hours = grid.build(days, tz, blocks, shading, today)
    open_requests = access.scoped(request.user, VisitRequest.objects.all(), "scheduling").filter(
        status__in=VisitRequest.OPEN).count()
    return {"columns": columns, "hours": hours, "agenda": visible, "open_requests": open_requests,
            "now_local": timezone.localtime(now)}



@vary_on_headers("HX-Request", "HX-Target")
@permission_required("patients", "read")
def patient_visits(request: HttpRequest, patient_id) -> HttpResponse:
    """The chart's Visits tab: upcoming and past visits and open requests."""
    patient = access.patient_for_request(request, patient_id)  # audited read
    return shell.render_chart(request, patient, "visits", chart.visits_tab_context(request, patient))
