"""Staff pages: a clinician's availability (recurring bookable blocks) and blocked time.

Whose calendar may be opened and changed is `scheduling.availability`'s rule; blocks are
loaded through the gate (`availability_load`, `blocked_slot_load`): 404 otherwise.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from mahalo import confirm
from mahalo.decorators import permission_required
from mahalo.forms import add_errors, error_messages
from scheduling import availability as avail_service
from scheduling import services
from scheduling.forms import AvailabilityForm, BlockTimeForm
from scheduling.models import Availability, Slot


def _back(staff_id) -> HttpResponse:
    return redirect(f"/schedule/availability/?staff={staff_id}")


def _staff_for_availability(request):
    options = avail_service.schedule_staff(request.user)
    wanted = request.GET.get("staff") or request.POST.get("staff") or ""
    me = next((s for s in options if s.user_id == request.user.pk), None)
    staff = next((s for s in options if str(s.pk) == wanted), None) if wanted else (me or (options[0] if options
                                                                                           else None))
    if staff is None:
        raise Http404
    return staff, options


@permission_required("scheduling", "read")
def availability(request: HttpRequest) -> HttpResponse:
    staff, options = _staff_for_availability(request)
    may = avail_service.may_manage(request.user, staff)
    programs = avail_service.programs_of(request.user, staff)
    form = AvailabilityForm(request.POST or None, programs=programs,
                            initial={"starts_on": timezone.localdate(), "start_time": "09:00", "end_time": "12:00",
                                     "days": ["MO", "WE", "FR"]})
    if request.method == "POST":
        if not may:
            raise Http404
        if form.is_valid():
            d = form.cleaned_data
            try:
                avail_service.availability_create(
                    staff=staff, program=next((p for p in programs if str(p.pk) == d["program"]), None),
                    actor=request.user, mode=d["mode"], location=d["location"], rule=d["rule"],
                    starts_on=d["starts_on"], ends_on=d["ends_on"], start_time=d["start_time"],
                    end_time=d["end_time"], slot_minutes=d["slot_minutes"], request=request)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, "Availability added.")
                return _back(staff.pk)
    now = timezone.now()
    blocks = list(Availability.objects.filter(staff=staff).select_related("program").order_by("status", "starts_on"))
    blocked = list(Slot.objects.filter(staff=staff, status=Slot.Status.BLOCKED, ends_at__gt=now).order_by("starts_at"))
    return render(request, "scheduling/availability.html", {
        "staff": staff, "staff_options": options, "may_manage": may, "form": form, "block_form": BlockTimeForm(),
        "blocks": blocks, "blocked": blocked,
    }, status=400 if form.errors else 200)


@require_POST
@permission_required("scheduling", "write")
def availability_act(request: HttpRequest, availability_id, action: str) -> HttpResponse:
    if action not in avail_service.ACTIONS:
        raise Http404
    avail = avail_service.availability_load(request, availability_id)
    if action == "delete" and not confirm.confirmed(request):
        return confirm.ask(request, title="Remove this availability?",
                           thing=f"{avail.describe()} · {avail.program.name}",
                           consequence="No new visits can be booked in it. Visits already booked stay booked. "
                                       "To stop bookings for a while instead, pause it.",
                           button="Yes, remove it", cancel_url=_back(avail.staff_id).url)
    day = None
    if action == "skip":
        try:
            day = datetime.strptime(request.POST.get("date", ""), "%Y-%m-%d").date()
        except ValueError:
            messages.error(request, "Give the date to skip.")
            return _back(avail.staff_id)
    try:
        avail_service.availability_change(avail=avail, action=action, actor=request.user, day=day, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(error_messages(exc)))
    else:
        messages.success(request, "Availability removed. Booked visits stay booked." if action == "delete"
                         else "Saved.")
    return _back(avail.staff_id)


@require_POST
@permission_required("scheduling", "write")
def block_time(request: HttpRequest) -> HttpResponse:
    staff, _ = _staff_for_availability(request)
    if not avail_service.may_manage(request.user, staff):
        raise Http404
    form = BlockTimeForm(request.POST)
    if form.is_valid():
        tz = timezone.get_current_timezone()
        d = form.cleaned_data
        try:
            services.time_block(staff=staff, starts_at=datetime.combine(d["date"], d["start"]).replace(tzinfo=tz),
                                ends_at=datetime.combine(d["date"], d["end"]).replace(tzinfo=tz),
                                actor=request.user, note=d["note"])
        except services.SchedulingError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Time blocked.")
    else:
        messages.error(request, "Give a date and a start and end time (end after start).")
    return _back(staff.pk)


@require_POST
@permission_required("scheduling", "write")
def unblock_time(request: HttpRequest, slot_id) -> HttpResponse:
    slot = avail_service.blocked_slot_load(request, slot_id)
    if not confirm.confirmed(request):
        when = timezone.localtime(slot.starts_at)
        return confirm.ask(request, title="Unblock this time?",
                           thing=f"{when:%a %b} {when.day}, {when:%H:%M}–{timezone.localtime(slot.ends_at):%H:%M}"
                                 + (f" · {slot.note}" if getattr(slot, "note", "") else ""),
                           consequence="Patients and staff can book visits in it again.",
                           button="Yes, unblock it", cancel_url=_back(slot.staff_id).url)
    services.time_unblock(slot=slot, actor=request.user)
    messages.success(request, "Time unblocked.")
    return _back(slot.staff_id)
