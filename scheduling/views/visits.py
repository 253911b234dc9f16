"""Staff pages: one visit and its actions (status, cancel, video call, recording), booking
and rescheduling.

Visits are loaded through the gate (`common.visit_load`, i.e. `access.load`): another
program's or tenant's visit is a 404, like a missing one. Every write is a service call.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access
from mahalo.decorators import permission_required
from mahalo.forms import add_errors
from patients import registry
from scheduling import services, slots, telehealth
from scheduling.forms import CancelForm, StaffBookForm, TransitionForm
from scheduling.models import Visit
from scheduling.views.common import join_redirect, parse_date, slot_context, uuid_or_404, visit_load

MAX_PATIENT_HITS = 20


# --- One visit ----------------------------------------------------------------------------

@vary_on_headers("HX-Request")
@permission_required("scheduling", "read")
def visit_detail(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_load(request, visit_id)
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
        "rescheduled_to": access.scoped(request.user, Visit.objects, "scheduling").filter(
            rescheduled_from=visit).first(),
        **extra,
    }


@require_POST
@permission_required("scheduling", "update")
def visit_transition(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_load(request, visit_id, "update")
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
    visit = visit_load(request, visit_id, "update")
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
    return join_redirect(request, visit_load(request, visit_id), back="schedule_visit",
                         unreachable="The video service isn't answering. Try again in a minute, or call the patient.")


@require_POST
@permission_required("scheduling", "update")
def visit_end_call(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_load(request, visit_id, "update")
    telehealth.end(visit=visit, user=request.user)
    messages.success(request, "Call ended.")
    return redirect("schedule_visit", visit.pk)


@require_POST
@permission_required("scheduling", "update")
def visit_recording(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_load(request, visit_id, "update")
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
    qs = registry.search(qs, " ".join(q.split()[:5]))
    return list(qs.select_related("program").order_by("last_name", "first_name")[:MAX_PATIENT_HITS])


def _book_form_context(request, patient, form, *, visit=None) -> dict:
    tz = patient.tz
    options = services.bookable_staff(patient)
    data = request.POST if request.method == "POST" else request.GET
    staff = next((s for s in options if str(s.pk) == (data.get("staff") or "")), None) or (
        visit.staff if visit else (access.staff_of(request.user) if access.staff_of(request.user) in options
                                   else (options[0] if options else None)))
    mode = data.get("slot_mode") if data.get("slot_mode") in ("VIRTUAL", "IN_PERSON") else ""
    today = timezone.now().astimezone(tz).date()
    first = parse_date(data.get("from"), today)
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
    form = StaffBookForm(request.POST or None, tz=patient.tz, staff_choices=options,
                         initial={"staff": str(getattr(access.staff_of(request.user), "pk", ""))})
    if request.method == "POST" and form.is_valid():
        staff = next(s for s in options if str(s.pk) == form.cleaned_data["staff"])
        try:
            visit = _book_from_form(request, patient, staff, form)
        except services.SchedulingError as exc:
            add_errors(form, exc)
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


@vary_on_headers("HX-Request")
@permission_required("scheduling", "update")
def visit_reschedule(request: HttpRequest, visit_id) -> HttpResponse:
    visit = visit_load(request, visit_id, "update")
    if visit.status != Visit.Status.PLANNED:
        messages.error(request, "Only a planned visit can be rescheduled.")
        return redirect("schedule_visit", visit.pk)
    patient = visit.patient
    options = services.bookable_staff(patient)
    form = StaffBookForm(request.POST or None, tz=patient.tz, staff_choices=options,
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
            add_errors(form, exc)
        else:
            messages.success(request, "Visit rescheduled. The patient has been told.")
            return redirect("schedule_visit", new.pk)
    context = {**_book_form_context(request, patient, form, visit=visit), "cancel_form": cancel}
    if request.htmx and request.headers.get("HX-Target") == "slots":
        return render(request, "scheduling/_slot_picker.html", context)
    return render(request, "scheduling/reschedule.html", context,
                  status=400 if (form.errors or cancel.errors) else 200)
