"""The patient's side (/portal/visits/, /portal/calendar/): their own visits,
requests, self-booking, the waiting room and their personal calendar.

Every view starts from the login's own Patient (`patients.shell.portal_page`) and
loads visits and requests through the gate (`access.load`, which scopes a patient
login to their own record) and personal events among their own (`calendars`), so no
URL can name another patient's. What the patient may do follows the program's
booking policy.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit, confirm
from mahalo.forms import add_errors
from patients.shell import portal_page
from scheduling import calendars, services, slots, telehealth
from scheduling.forms import CancelForm, EventForm, SelfBookForm, VisitRequestForm
from scheduling.models import Visit, VisitRequest
from scheduling.views.common import join_redirect, parse_date, request_load, visit_load
from scheduling.views.feeds import feeds_page

PORTAL_DAYS = 7


def _visit(request, patient, visit_id, *, audit_read: bool = False) -> Visit:
    """The patient's own visit (the gate scopes a patient login to their record); 404 otherwise."""
    visit = visit_load(request, visit_id, audit_read=audit_read)
    if visit.patient_id != patient.pk:
        raise Http404
    return visit


def _own(request, model):
    """The patient's own rows of a scheduling model, through the gate."""
    return access.scoped(request.user, model.objects, "scheduling")


def _read(request, patient, page: str) -> None:
    audit.record(request=request, action="read", resource="scheduling", patient=patient,
                 metadata={"via": "portal", "page": page})


@portal_page
def my_visits(request: HttpRequest, patient) -> HttpResponse:
    _read(request, patient, "visits")
    now = timezone.now()
    visits = _own(request, Visit).filter(patient=patient).select_related("staff__user").order_by("starts_at")
    upcoming = [v for v in visits if v.ends_at >= now and v.status in Visit.UPCOMING]
    past = [v for v in visits if v not in upcoming][-20:][::-1]
    requests = list(_own(request, VisitRequest).filter(patient=patient, status__in=VisitRequest.OPEN)
                    .select_related("proposed_slot__staff__user").order_by("-created_at"))
    return render(request, "scheduling/portal/visits.html", {
        "patient": patient, "upcoming": upcoming, "past": past, "requests": requests, "now": now,
        "policy": services.booking_policy(patient.program), "portal_nav": "visits",
    })


@portal_page
def visit_page(request: HttpRequest, patient, visit_id) -> HttpResponse:
    visit = _visit(request, patient, visit_id, audit_read=True)
    return render(request, "scheduling/portal/visit.html", _visit_context(request, visit))


def _visit_context(request, visit, cancel_form=None) -> dict:
    can_join, why = telehealth.join_state(request.user, visit)
    return {"patient": visit.patient, "visit": visit, "portal_nav": "visits",
            "cancel_form": cancel_form or CancelForm(), "can_join": can_join, "join_reason": why,
            "can_cancel": visit.status == Visit.Status.PLANNED and access.can(request.user, "scheduling", "write"),
            "session": getattr(visit, "session", None) if visit.is_virtual else None,
            "join_window": telehealth.join_window(visit) if visit.is_virtual else None}


@require_POST
@portal_page
def visit_cancel(request: HttpRequest, patient, visit_id) -> HttpResponse:
    visit = _visit(request, patient, visit_id)
    form = CancelForm(request.POST)
    if form.is_valid() and visit.status == Visit.Status.PLANNED:
        try:
            services.visit_cancel(visit=visit, actor=request.user, reason=form.cleaned_data["reason"],
                                  request=request)
        except services.SchedulingError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "Your visit is cancelled. Your care team has been told.")
            return redirect("portal_visits")
    elif form.is_valid():
        form.add_error(None, "This visit can't be cancelled any more. Call your care team.")
    return render(request, "scheduling/portal/visit.html", _visit_context(request, visit, form), status=400)


@vary_on_headers("HX-Request")
@portal_page
def waiting_room(request: HttpRequest, patient, visit_id) -> HttpResponse:
    visit = _visit(request, patient, visit_id)
    if not visit.is_virtual:
        raise Http404
    context = _visit_context(request, visit)
    if request.htmx:
        return render(request, "scheduling/portal/waiting_room.html#status", context)
    _read(request, patient, "waiting_room")
    return render(request, "scheduling/portal/waiting_room.html", context)


@require_POST
@portal_page
def visit_join(request: HttpRequest, patient, visit_id) -> HttpResponse:
    unreachable = "The video service isn't answering. Try again in a minute, or call your care team."
    return join_redirect(request, _visit(request, patient, visit_id), back="portal_waiting_room",
                         unreachable=unreachable)


@portal_page
def request_visit(request: HttpRequest, patient) -> HttpResponse:
    policy = services.booking_policy(patient.program)
    if policy == "view_only":
        return render(request, "scheduling/portal/view_only.html", {"patient": patient, "portal_nav": "visits"})
    form = VisitRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            req = services.request_create(patient=patient, actor=request.user, reason=d["reason"],
                                    request_type=d["request_type"], mode=d["mode"],
                                    preferred_date=d["preferred_date"], window_start=d["window_start"],
                                    window_end=d["window_end"], request=request)
        except services.SchedulingError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Request sent. Your care team will propose a time.")
            if req.urgent_review:  # decision support reached the patient too: don't wait for a slot
                messages.error(request, "Your request mentions something that can be urgent. If it is happening "
                                        "now (chest pain, trouble breathing, fainting, bleeding), call 911 or "
                                        "your care team right away.")
            return redirect("portal_visits")
    return render(request, "scheduling/portal/request.html", {
        "patient": patient, "form": form, "policy": policy, "portal_nav": "visits",
    }, status=400 if form.errors else 200)


@vary_on_headers("HX-Request")
@portal_page
def self_book(request: HttpRequest, patient) -> HttpResponse:
    if services.booking_policy(patient.program) != "self_book":
        return redirect("portal_request_visit")
    tz = patient.tz
    now = timezone.now()
    earliest, latest = services.booking_window(patient.program, now)
    data = request.POST if request.method == "POST" else request.GET
    today = now.astimezone(tz).date()
    try:
        first = datetime.strptime(data.get("from", ""), "%Y-%m-%d").date() if data.get("from") else today
    except ValueError:
        first = today
    first = min(max(first, today), latest.astimezone(tz).date())
    mode = data.get("mode") if data.get("mode") in ("VIRTUAL", "IN_PERSON") else ""
    form = SelfBookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        staff_id, starts_at = form.cleaned_data["slot"]
        try:
            visit = services.patient_self_book(patient=patient, actor=request.user, staff_id=staff_id,
                                               starts_at=starts_at, visit_type=form.cleaned_data["visit_type"],
                                               reason=form.cleaned_data["reason"], request=request, now=now)
        except services.SchedulingError as exc:
            form.add_error("slot" if isinstance(exc, services.Conflict) else None, exc.messages)
        else:
            messages.success(request, "Your visit is booked.")
            return redirect("portal_visit", visit.pk)
    start = datetime.combine(first, time.min).replace(tzinfo=tz)
    found = slots.open_slots(start=start, end=start + timedelta(days=PORTAL_DAYS), programs=[patient.program],
                             staff=services.bookable_staff(patient, by_patient=True), mode=mode, now=now,
                             not_before=earliest)
    found = [s for s in found if s.starts_at <= latest]
    chosen = (request.POST.get("slot") or "") if request.method == "POST" else ""
    context = {"patient": patient, "form": form, "portal_nav": "visits", "slot_days": slots.group_by_day(found, tz),
               "slot_from": first, "slot_prev": first - timedelta(days=PORTAL_DAYS) if first > today else None,
               "slot_next": first + timedelta(days=PORTAL_DAYS) if start + timedelta(days=PORTAL_DAYS) < latest
               else None, "mode": mode, "chosen": chosen, "tz": tz}
    if request.htmx and request.headers.get("HX-Target") == "slots":
        return render(request, "scheduling/portal/book.html#slots", context)
    return render(request, "scheduling/portal/book.html", context, status=400 if form.errors else 200)


@require_POST
@portal_page
def request_act(request: HttpRequest, patient, request_id, action: str) -> HttpResponse:
    req = request_load(request, request_id)
    if req.patient_id != patient.pk:
        raise Http404
    try:
        if action == "confirm":
            visit = services.request_confirm(req=req, actor=request.user, request=request)
            messages.success(request, "Confirmed: your visit is booked.")
            return redirect("portal_visit", visit.pk)
        if action == "decline":
            services.request_decline(req=req, actor=request.user, request=request)
            messages.success(request, "Thanks: your care team will propose another time.")
        elif action == "cancel":
            if not confirm.confirmed(request):  # withdrawing is not undone by a click: ask first
                return confirm.ask(request, title="Withdraw this request?",
                                   thing=f"{req.get_request_type_display()} requested {req.created_at:%b %-d}",
                                   consequence="Your care team stops looking for a time. You can send a new "
                                               "request later.", button="Yes, withdraw it",
                                   cancel_url=reverse("portal_visits"))
            services.request_cancel(req=req, actor=request.user, reason="Withdrawn by the patient", request=request)
            messages.success(request, "Request withdrawn.")
        else:
            raise Http404
    except services.SchedulingError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("portal_visits")


# --- Personal calendar ------------------------------------------------------------------------

@vary_on_headers("HX-Request")
@portal_page
def my_calendar(request: HttpRequest, patient) -> HttpResponse:
    tz = patient.tz
    today = timezone.now().astimezone(tz).date()
    try:
        anchor = parse_date(request.GET.get("date"), today)  # one parser, bounded (a 9999 date was a 500)
    except Http404:
        anchor = today  # a bad date in the query shows this week, as before
    monday = anchor - timedelta(days=anchor.weekday())
    start = datetime.combine(monday, time.min).replace(tzinfo=tz)
    end = start + timedelta(days=7)
    calendar = calendars.default_calendar(user=request.user, patient=patient)
    templates = calendars.templates_for(request.user, patient.project)
    form = EventForm(request.POST or None, templates=templates,
                     initial={"date": today, "time": "08:00", "repeat": "FREQ=DAILY"})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        template = d["template"]
        try:
            calendars.event_create(
                calendar=calendar, actor=request.user, title=d["title"] or (template.name if template else ""),
                starts_at=datetime.combine(d["date"], d["time"]).replace(tzinfo=tz),
                duration_minutes=d["duration_minutes"], rrule=d["repeat"], until=d["until"],
                category=d["category"], description=d["description"], template=template, tz=str(patient.tz))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Added to your calendar.")
            return redirect(f"/portal/calendar/?date={d['date']:%Y-%m-%d}")
    events = calendars.visible_events(request.user)
    occurrences = calendars.occurrences(events, start, end)
    visits = list(_own(request, Visit).filter(patient=patient, starts_at__lt=end, ends_at__gt=start)
                  .exclude(status__in=Visit.INACTIVE).select_related("staff__user"))
    days = []
    for i in range(7):
        day = monday + timedelta(days=i)
        items = [("event", o.starts_at, o) for o in occurrences if o.starts_at.astimezone(tz).date() == day]
        items += [("visit", v.starts_at, v) for v in visits if v.starts_at.astimezone(tz).date() == day]
        days.append((day, sorted(items, key=lambda x: x[1])))
    _read(request, patient, "calendar")
    context = {"patient": patient, "portal_nav": "calendar", "days": days, "monday": monday, "today": today,
               "prev": monday - timedelta(days=7), "next": monday + timedelta(days=7), "form": form,
               "templates": templates, "tz": tz}
    if request.htmx and request.headers.get("HX-Target") == "week":
        return render(request, "scheduling/portal/calendar.html#week", context)
    return render(request, "scheduling/portal/calendar.html", context, status=400 if form.errors else 200)


@require_POST
@portal_page
def event_act(request: HttpRequest, patient, event_id, action: str) -> HttpResponse:
    event = calendars.event_for(request.user, event_id)
    if action == "skip":
        try:
            when = calendars.parse_stamp(request.POST.get("occurrence", ""))
        except ValueError:
            raise Http404 from None
        calendars.event_skip(event=event, occurrence_start=when, actor=request.user)
        messages.success(request, "Removed that one occurrence.")
        back = when.astimezone(patient.tz).date()
    elif action == "delete":
        back = event.starts_at.astimezone(patient.tz).date()
        calendars.event_delete(event=event, actor=request.user)
        messages.success(request, "Event deleted.")
    else:
        raise Http404
    return redirect(f"/portal/calendar/?date={back:%Y-%m-%d}")


@portal_page
def my_feeds(request: HttpRequest, patient) -> HttpResponse:
    return feeds_page(request, "scheduling/portal/feeds.html", extra={"patient": patient,
                                                                         "portal_nav": "calendar"})
