"""Staff pages: the visit-request triage queue, availability and blocked time,
and the private calendar feeds."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required, staff_required
from mahalo.models import Role
from scheduling import calendars, services, slots
from scheduling.forms import AvailabilityForm, BlockTimeForm, CancelForm, ProposeForm, TriageForm
from scheduling.models import Availability, Severity, Slot, VisitRequest
from scheduling.views import _form_errors, _parse_date, schedule_staff, slot_context

# --- Visit requests -------------------------------------------------------------------------


def _requests(user, action="read"):
    return access.scoped(user, VisitRequest.objects.all(), "scheduling", action)


def request_for(request, request_id, action="read") -> VisitRequest:
    req = (_requests(request.user, action).select_related("patient__program", "proposed_slot__staff__user",
                                                          "visit").filter(pk=request_id).first())
    if req is None:
        raise Http404("No such request.")
    if action == "read":
        audit.record(request=request, action="read", resource="scheduling", patient=req.patient, object_id=req.pk)
    return req


@vary_on_headers("HX-Request")
@permission_required("scheduling", "read")
def request_queue(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    qs = _requests(request.user).select_related("patient", "program", "proposed_slot__staff__user")
    qs = qs.filter(status__in=VisitRequest.OPEN) if show != "all" else qs
    rows = list(qs.triage_order()[:200])  # untriaged first (VisitRequestQuerySet.triage_order)
    audit.record(request=request, action="list", resource="scheduling",
                 metadata={"page": "requests", "count": len(rows)})
    return render(request, "scheduling/requests.html", {"rows": rows, "show": show})


@vary_on_headers("HX-Request")
@permission_required("scheduling", "read")
def request_detail(request: HttpRequest, request_id) -> HttpResponse:
    req = request_for(request, request_id)
    return _request_page(request, req)


def _request_page(request, req, *, triage=None, propose=None, cancel=None, status=200) -> HttpResponse:
    tz = req.patient.program.tz
    options = services.bookable_staff(req.patient, mode=req.mode)
    data = request.POST if request.method == "POST" else request.GET
    staff = next((s for s in options if str(s.pk) == (data.get("staff") or "")), None) or (
        access.staff_of(request.user) if access.staff_of(request.user) in options else
        (options[0] if options else None))
    today = timezone.now().astimezone(tz).date()
    first = max(_parse_date(data.get("from"), req.preferred_date or today), today)
    context = {
        "req": req, "patient": req.patient, "staff_options": options,
        "triage_form": triage or TriageForm(initial={"severity": req.severity, "note": req.triage_note}),
        "propose_form": propose or ProposeForm(), "cancel_form": cancel or CancelForm(),
        "severities": [(value, label.split(": ", 1)[-1]) for value, label in Severity.choices],
        "can_manage": services.can_manage(request.user, req),
        "history": list(req.history.select_related("history_user").order_by("-history_date")[:20]),
        **slot_context(request, patient=req.patient, staff_options=options, staff=staff, mode=req.mode,
                       first_day=first, tz=tz),
    }
    if request.htmx and request.headers.get("HX-Target") == "slots":
        return render(request, "scheduling/_slot_picker.html", context)
    return render(request, "scheduling/request.html", context, status=status)


@require_POST
@permission_required("scheduling", "update")
def request_act(request: HttpRequest, request_id, action: str) -> HttpResponse:
    req = request_for(request, request_id, "update")
    try:
        if action == "triage":
            form = TriageForm(request.POST)
            if not form.is_valid():
                return _request_page(request, req, triage=form, status=400)
            services.request_triage(req=req, actor=request.user, severity=form.cleaned_data["severity"],
                                    note=form.cleaned_data["note"], request=request)
            messages.success(request, "Triage saved.")
        elif action == "propose":
            form = ProposeForm(request.POST)
            if not form.is_valid():
                return _request_page(request, req, propose=form, status=400)
            return _propose(request, req, form)
        elif action == "cancel":
            form = CancelForm(request.POST)
            if not form.is_valid():
                return _request_page(request, req, cancel=form, status=400)
            services.request_cancel(req=req, actor=request.user, reason=form.cleaned_data["reason"], request=request)
            messages.success(request, "Request closed.")
        else:
            raise Http404
    except services.SchedulingError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("schedule_request", req.pk)


def _propose(request, req, form) -> HttpResponse:
    staff_id, starts_at = form.cleaned_data["slot"]
    staff = next((s for s in services.bookable_staff(req.patient) if str(s.pk) == staff_id), None)
    found = slots.find_open_slot(staff=staff, starts_at=starts_at, program=req.patient.program) if staff else None
    if found is None:
        form.add_error("slot", "That time is no longer open. Pick another.")
        return _request_page(request, req, propose=form, status=400)
    try:
        if form.cleaned_data["action"] == "book":
            visit = services.request_book(req=req, actor=request.user, staff=staff, starts_at=found.starts_at,
                                          ends_at=found.ends_at, mode=found.mode, location=found.location,
                                          visit_type=form.cleaned_data["visit_type"], request=request)
            messages.success(request, "Visit booked.")
            return redirect("schedule_visit", visit.pk)
        services.request_propose(req=req, actor=request.user, staff=staff, starts_at=found.starts_at,
                                 ends_at=found.ends_at, mode=found.mode, location=found.location, request=request)
    except services.SchedulingError as exc:
        _form_errors(form, exc)
        return _request_page(request, req, propose=form, status=400)
    messages.success(request, "Time proposed and held. The patient confirms it in the portal.")
    return redirect("schedule_request", req.pk)


# --- Availability and blocked time ----------------------------------------------------------

def _may_manage(user, staff) -> bool:
    """Their own availability (scheduling:write), or anyone's in the tenant for a
    global role with scheduling:update."""
    me = access.staff_of(user)
    if me is not None and staff.pk == me.pk:
        return access.can(user, "scheduling", "write")
    return access.can(user, "scheduling", "update") and (
        user.is_superuser or (me is not None and me.role.scope == Role.SCOPE_GLOBAL
                              and me.project_id == staff.project_id))


def _staff_for_availability(request):
    options = schedule_staff(request.user)
    wanted = request.GET.get("staff") or request.POST.get("staff") or ""
    me = access.staff_of(request.user)
    staff = next((s for s in options if str(s.pk) == wanted), None) if wanted else (
        next((s for s in options if me and s.pk == me.pk), None) or (options[0] if options else None))
    if staff is None:
        raise Http404
    return staff, options


@permission_required("scheduling", "read")
def availability(request: HttpRequest) -> HttpResponse:
    staff, options = _staff_for_availability(request)
    may = _may_manage(request.user, staff)
    programs = [p for p in access.program_list(request.user)
                if staff.role.scope == Role.SCOPE_GLOBAL or staff.assignments.filter(program=p).exists()]
    form = AvailabilityForm(request.POST or None, programs=programs,
                            initial={"starts_on": timezone.localdate(), "start_time": "09:00", "end_time": "12:00",
                                     "days": ["MO", "WE", "FR"]})
    block_form = BlockTimeForm()
    if request.method == "POST":
        if not may:
            raise Http404
        if form.is_valid():
            try:
                _availability_create(request, staff, form, programs)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Availability added.")
                return redirect(f"/schedule/availability/?staff={staff.pk}")
    now = timezone.now()
    blocks = list(Availability.objects.filter(staff=staff).select_related("program").order_by("status", "starts_on"))
    blocked = list(Slot.objects.filter(staff=staff, status=Slot.Status.BLOCKED, ends_at__gt=now).order_by("starts_at"))
    return render(request, "scheduling/availability.html", {
        "staff": staff, "staff_options": options, "may_manage": may, "form": form, "block_form": block_form,
        "blocks": blocks, "blocked": blocked,
    }, status=400 if form.errors else 200)


def _availability_create(request, staff, form, programs) -> Availability:
    data = form.cleaned_data
    program = next((p for p in programs if str(p.pk) == data["program"]), None)
    if program is None:
        raise ValidationError({"program": "Pick one of the clinician's programs."})
    avail = Availability(project_id=staff.project_id, program=program, staff=staff, mode=data["mode"],
                         location=data["location"], rrule=data["rule"], starts_on=data["starts_on"],
                         ends_on=data["ends_on"], start_time=data["start_time"], end_time=data["end_time"],
                         slot_minutes=data["slot_minutes"], created_by=request.user)
    avail.full_clean()
    avail.save()
    audit.record(request=request, action="write", resource="scheduling", object_id=avail.pk,
                 metadata={"what": "availability_created", "staff": str(staff.pk)})
    return avail


@require_POST
@permission_required("scheduling", "write")
def availability_act(request: HttpRequest, availability_id, action: str) -> HttpResponse:
    options = schedule_staff(request.user)
    avail = Availability.objects.filter(pk=availability_id, staff__in=options).select_related("staff").first()
    if avail is None or not _may_manage(request.user, avail.staff):
        raise Http404
    if action == "pause":
        avail.status = Availability.Status.PAUSED
    elif action == "resume":
        avail.status = Availability.Status.ACTIVE
    elif action == "skip":
        try:
            day = datetime.strptime(request.POST.get("date", ""), "%Y-%m-%d").date()
        except ValueError:
            messages.error(request, "Give the date to skip.")
            return redirect(f"/schedule/availability/?staff={avail.staff_id}")
        avail.exdates = sorted({*avail.exdates, day.isoformat()})
    elif action == "delete":
        audit.record(request=request, action="delete", resource="scheduling", object_id=avail.pk,
                     metadata={"what": "availability_deleted"})
        avail.delete()
        messages.success(request, "Availability removed. Booked visits stay booked.")
        return redirect(f"/schedule/availability/?staff={avail.staff_id}")
    else:
        raise Http404
    avail.save()
    audit.record(request=request, action="update", resource="scheduling", object_id=avail.pk,
                 metadata={"what": f"availability_{action}"})
    messages.success(request, "Saved.")
    return redirect(f"/schedule/availability/?staff={avail.staff_id}")


@require_POST
@permission_required("scheduling", "write")
def block_time(request: HttpRequest) -> HttpResponse:
    staff, _ = _staff_for_availability(request)
    if not _may_manage(request.user, staff):
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
    return redirect(f"/schedule/availability/?staff={staff.pk}")


@require_POST
@permission_required("scheduling", "write")
def unblock_time(request: HttpRequest, slot_id) -> HttpResponse:
    slot = Slot.objects.filter(pk=slot_id, status=Slot.Status.BLOCKED,
                               staff__in=schedule_staff(request.user)).select_related("staff__project").first()
    if slot is None or not _may_manage(request.user, slot.staff):
        raise Http404
    services.time_unblock(slot=slot, actor=request.user)
    messages.success(request, "Time unblocked.")
    return redirect(f"/schedule/availability/?staff={slot.staff_id}")


# --- Calendar feeds (staff and patients share the logic; each has its own page) --------------

def feeds_context(request, template: str, *, extra: dict | None = None) -> HttpResponse:
    new_url = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            _, token = calendars.feed_create(user=request.user, label=request.POST.get("label", ""))
            new_url = request.build_absolute_uri(f"/calendar/feed/{token}.ics")
        elif action == "revoke":
            feed = request.user.calendar_feeds.filter(pk=_uuid_or_404(request.POST.get("feed"))).first()
            if feed is None:
                raise Http404
            calendars.feed_revoke(feed=feed, user=request.user)
            messages.success(request, "Feed revoked: calendar apps using it stop updating.")
            return redirect(request.path)
        else:
            raise Http404
    feeds = list(request.user.calendar_feeds.all())
    return render(request, template, {"feeds": feeds, "new_url": new_url, **(extra or {})})


def _uuid_or_404(value):
    from scheduling.views import uuid_or_404

    return uuid_or_404(value)


@staff_required
def staff_feeds(request: HttpRequest) -> HttpResponse:
    if not access.can(request.user, "scheduling", "read") or access.staff_of(request.user) is None:
        raise Http404
    return feeds_context(request, "scheduling/feeds.html")


def ics_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private feed. No session: the token is the credential (revocable)."""
    from scheduling import ical

    feed = calendars.feed_lookup(token)
    if feed is None:
        raise Http404
    body = ical.feed_for(feed.user)
    type(feed).objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
    audit.record(request=request, actor=feed.user, action="export", resource="scheduling",
                 metadata={"what": "calendar_feed", "feed": str(feed.pk)})
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="mahalo.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response

