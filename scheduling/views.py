"""Staff pages: the schedule (day and week), a visit and its actions, booking.

Visits are loaded through the gate (`access.scoped(..., "scheduling")`): another
program's or tenant's visit is a 404, like a missing one. A colleague's calendar
shows visits of patients outside the viewer's scope as anonymous "Busy" time.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required
from mahalo.models import Role, StaffMember
from patients import shell
from scheduling import chart, grid, services, slots, telehealth
from scheduling.forms import CancelForm, StaffBookForm, TransitionForm
from scheduling.models import Availability, Slot, Visit, VisitRequest

MAX_PATIENT_HITS = 20


# --- Loaders ------------------------------------------------------------------------------

def visit_for(request, visit_id, action: str = "read") -> Visit:
    """One visit the user may `action`, or 404 (missing and forbidden alike); reads are audited."""
    visit = (access.scoped(request.user, Visit.objects.all(), "scheduling", action)
             .select_related("patient__program", "patient__project", "staff__user", "slot", "program")
             .filter(pk=visit_id).first())
    if visit is None:
        raise Http404("No such visit.")
    if action == "read":
        audit.record(request=request, action="read", resource="scheduling", patient=visit.patient,
                     object_id=visit.pk)
    return visit


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


def _pick_staff(request, options: list[StaffMember]) -> StaffMember | None:
    wanted = request.GET.get("staff") or request.POST.get("staff") or ""
    chosen = next((s for s in options if str(s.pk) == wanted), None)
    if chosen is None and wanted:
        raise Http404  # not someone whose calendar this user may open
    me = access.staff_of(request.user)
    return chosen or next((s for s in options if me and s.pk == me.pk), None) or (options[0] if options else None)


def uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def _parse_date(raw: str | None, default: date) -> date:
    try:
        value = date.fromisoformat(raw) if raw else default
    except ValueError:
        raise Http404 from None
    if not 2000 <= value.year <= 2100:
        raise Http404
    return value


# --- The schedule -------------------------------------------------------------------------

@vary_on_headers("HX-Request")
@permission_required("scheduling", "read")
def schedule(request: HttpRequest) -> HttpResponse:
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    view = "day" if request.GET.get("view") == "day" else "week"
    anchor = _parse_date(request.GET.get("date"), today)
    options = schedule_staff(request.user)
    staff = _pick_staff(request, options)
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
    hidden = (Visit.objects.filter(in_range, staff=staff).exclude(status__in=Visit.INACTIVE)
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


# --- One visit ----------------------------------------------------------------------------

@vary_on_headers("HX-Request")
@permission_required("scheduling", "read")
def visit_detail(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_for(request, visit_id)
    return render(request, "scheduling/visit.html", _visit_context(request, visit))


def _visit_context(request, visit: Visit, **extra) -> dict:
    can_join, join_reason = telehealth.join_state(request.user, visit)
    history = list(visit.history.select_related("history_user").order_by("-history_date")[:30])
    return {
        "visit": visit, "patient": visit.patient,
        "transitions": [(s, services.TRANSITION_LABELS[s]) for s in services.allowed_transitions(visit)],
        "can_manage": services.can_manage(request.user, visit),
        "can_cancel": services.can_cancel(request.user, visit) and services.S.CANCELLED in
        services.TRANSITIONS[visit.status],
        "can_reschedule": services.can_manage(request.user, visit) and visit.status == Visit.Status.PLANNED,
        "session": getattr(visit, "session", None) if visit.is_virtual else None,
        "can_join": can_join, "join_reason": join_reason,
        "join_window": telehealth.join_window(visit) if visit.is_virtual else None,
        "history": history, "cancel_form": extra.pop("cancel_form", None) or CancelForm(),
        "rescheduled_to": Visit.objects.filter(rescheduled_from=visit).first(),
        **extra,
    }


@require_POST
@permission_required("scheduling", "update")
def visit_transition(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_for(request, visit_id, "update")
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown status change.")
        return redirect("schedule_visit", visit.pk)
    try:
        services.visit_transition(visit=visit, to=form.cleaned_data["to"], actor=request.user,
                                  reason=form.cleaned_data["reason"], request=request)
    except services.SchedulingError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Visit {visit.get_status_display().lower()}.")
    return redirect("schedule_visit", visit.pk)


@require_POST
@permission_required("scheduling", "update")
def visit_cancel(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_for(request, visit_id, "update")
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.visit_cancel(visit=visit, actor=request.user, reason=form.cleaned_data["reason"],
                                  request=request)
        except services.SchedulingError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "Visit cancelled. The patient has been told.")
            return redirect("schedule_visit", visit.pk)
    return render(request, "scheduling/visit.html", _visit_context(request, visit, cancel_form=form), status=400)


@require_POST
@permission_required("scheduling", "read")
def visit_join(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_for(request, visit_id)
    try:
        url = telehealth.join(visit=visit, user=request.user)
    except PermissionError as exc:
        messages.error(request, str(exc))
        return redirect("schedule_visit", visit.pk)
    except telehealth.TelehealthError:
        messages.error(request, "The video service isn't answering. Try again in a minute, or call the patient.")
        return redirect("schedule_visit", visit.pk)
    return redirect(url)


@require_POST
@permission_required("scheduling", "update")
def visit_end_call(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_for(request, visit_id, "update")
    telehealth.end(visit=visit, user=request.user)
    messages.success(request, "Call ended.")
    return redirect("schedule_visit", visit.pk)


@require_POST
@permission_required("scheduling", "update")
def visit_recording(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_for(request, visit_id, "update")
    if not visit.is_virtual:
        raise Http404
    try:
        telehealth.set_recording(visit=visit, enabled=request.POST.get("enabled") == "1", actor=request.user)
    except PermissionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Recording setting saved.")
    return redirect("schedule_visit", visit.pk)


# --- Booking and rescheduling ---------------------------------------------------------------

def _patient_search(request) -> list:
    q = (request.GET.get("q") or "").strip()
    if not q:
        return []
    qs = access.patients_for(request.user, "write", "scheduling")
    for term in q.upper().split()[:5]:
        qs = qs.filter(search_text__contains=term)
    return list(qs.select_related("program").order_by("last_name", "first_name")[:MAX_PATIENT_HITS])


def slot_context(request, *, patient, staff_options, staff, mode: str, first_day: date, tz, days: int = 7) -> dict:
    start = datetime.combine(first_day, time.min).replace(tzinfo=tz)
    found = slots.open_slots(start=start, end=start + timedelta(days=days), staff=staff, mode=mode,
                             programs=[patient.program]) if staff else []
    return {"slot_days": slots.group_by_day(found, tz), "slot_from": first_day, "slot_to": first_day +
            timedelta(days=days - 1), "slot_prev": first_day - timedelta(days=days),
            "slot_next": first_day + timedelta(days=days), "slot_staff": staff, "slot_mode": mode, "tz": tz}


def _book_form_context(request, patient, form, *, visit=None) -> dict:
    tz = patient.program.tz
    options = services.bookable_staff(patient)
    data = request.POST if request.method == "POST" else request.GET
    staff = next((s for s in options if str(s.pk) == (data.get("staff") or "")), None) or (
        visit.staff if visit else (access.staff_of(request.user) if access.staff_of(request.user) in options
                                   else (options[0] if options else None)))
    mode = data.get("slot_mode") if data.get("slot_mode") in ("VIRTUAL", "IN_PERSON") else ""
    today = timezone.now().astimezone(tz).date()
    first = _parse_date(data.get("from"), today)
    return {"patient": patient, "form": form, "staff_options": options, "visit": visit,
            **slot_context(request, patient=patient, staff_options=options, staff=staff, mode=mode,
                           first_day=max(first, today), tz=tz)}


@vary_on_headers("HX-Request")
@permission_required("scheduling", "write")
def book(request: HttpRequest) -> HttpResponse:
    """Book a visit for a patient: pick the patient, then a slot (or any free time)."""
    patient_id = request.GET.get("patient") or request.POST.get("patient")
    if not patient_id:
        return render(request, "scheduling/book.html", {"hits": _patient_search(request),
                                                        "q": request.GET.get("q", "")})
    patient = access.patient_for_request(request, uuid_or_404(patient_id), "write", "scheduling")
    options = services.bookable_staff(patient)
    form = StaffBookForm(request.POST or None, tz=patient.program.tz, staff_choices=options,
                         initial={"staff": str(getattr(access.staff_of(request.user), "pk", ""))})
    if request.method == "POST" and form.is_valid():
        staff = next(s for s in options if str(s.pk) == form.cleaned_data["staff"])
        try:
            visit = _book_from_form(request, patient, staff, form)
        except services.SchedulingError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Visit booked for {patient.full_name}.")
            return redirect("schedule_visit", visit.pk)
    context = _book_form_context(request, patient, form)
    if request.htmx and request.headers.get("HX-Target") == "slots":
        return render(request, "scheduling/_slot_picker.html", context)
    return render(request, "scheduling/book.html", context, status=400 if form.errors else 200)


def _book_from_form(request, patient, staff, form) -> Visit:
    data = form.cleaned_data
    starts_at, ends_at, mode, location = data["starts_at"], data["ends_at"], data["mode"], data["location"]
    if ends_at is None:
        found = slots.find_open_slot(staff=staff, starts_at=starts_at, program=patient.program)
        if found is None:
            raise services.Conflict("That slot was just taken. Pick another.")
        ends_at, mode, location = found.ends_at, found.mode, location or found.location
    return services.visit_book(patient=patient, staff=staff, starts_at=starts_at, ends_at=ends_at,
                               actor=request.user, mode=mode, visit_type=data["visit_type"], reason=data["reason"],
                               location=location, request=request)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@vary_on_headers("HX-Request")
@permission_required("scheduling", "update")
def visit_reschedule(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_for(request, visit_id, "update")
    if visit.status != Visit.Status.PLANNED:
        messages.error(request, "Only a planned visit can be rescheduled.")
        return redirect("schedule_visit", visit.pk)
    patient = visit.patient
    options = services.bookable_staff(patient)
    form = StaffBookForm(request.POST or None, tz=patient.program.tz, staff_choices=options,
                         initial={"staff": str(visit.staff_id), "mode": visit.mode, "visit_type": visit.visit_type,
                                  "duration": visit.duration_minutes, "location": visit.location})
    cancel = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and cancel.is_valid():
        staff = next(s for s in options if str(s.pk) == form.cleaned_data["staff"])
        data = form.cleaned_data
        try:
            ends_at = data["ends_at"]
            if ends_at is None:
                found = slots.find_open_slot(staff=staff, starts_at=data["starts_at"], program=patient.program)
                ends_at = found.ends_at if found else data["starts_at"] + (visit.ends_at - visit.starts_at)
            new = services.visit_reschedule(visit=visit, actor=request.user, starts_at=data["starts_at"],
                                            ends_at=ends_at, staff=staff, reason=cancel.cleaned_data["reason"],
                                            request=request)
        except services.SchedulingError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Visit rescheduled. The patient has been told.")
            return redirect("schedule_visit", new.pk)
    context = {**_book_form_context(request, patient, form, visit=visit), "cancel_form": cancel}
    if request.htmx and request.headers.get("HX-Target") == "slots":
        return render(request, "scheduling/_slot_picker.html", context)
    return render(request, "scheduling/reschedule.html", context,
                  status=400 if (form.errors or cancel.errors) else 200)


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("patients", "read")
def patient_visits(request: HttpRequest, patient_id) -> HttpResponse:
    """The chart's Visits tab: upcoming and past visits and open requests."""
    patient = access.patient_for_request(request, patient_id)  # audited read
    return shell.render_chart(request, patient, "visits", chart.visits_tab_context(request, patient))
