"""Staff pages: the visit-request triage queue, one request, and acting on it (triage,
propose or book a time, close).

Requests are loaded through the gate (`common.request_load`, i.e. `access.load`): 404 for
missing and forbidden alike. Every write is a service call.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required
from mahalo.forms import add_errors
from scheduling import services, slots
from scheduling.forms import CancelForm, ProposeForm, TriageForm
from scheduling.models import Severity, VisitRequest
from scheduling.views.common import parse_date, request_load, slot_context

# --- Visit requests -------------------------------------------------------------------------


@vary_on_headers("HX-Request")
@permission_required("scheduling", "read")
def request_queue(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    qs = access.scoped(request.user, VisitRequest.objects, "scheduling").select_related(
        "patient", "program", "proposed_slot__staff__user")
    qs = qs.filter(status__in=VisitRequest.OPEN) if show != "all" else qs
    rows = list(qs.triage_order()[:200])  # untriaged first (VisitRequestQuerySet.triage_order)
    audit.record(request=request, action="list", resource="scheduling",
                 metadata={"page": "requests", "count": len(rows)})
    return render(request, "scheduling/requests.html", {"rows": rows, "show": show})


@vary_on_headers("HX-Request")
@permission_required("scheduling", "read")
def request_detail(request: HttpRequest, request_id) -> HttpResponse:
    req = request_load(request, request_id)
    return _request_page(request, req)


def _request_page(request, req, *, triage=None, propose=None, cancel=None, status=200) -> HttpResponse:
    tz = req.patient.tz
    options = services.bookable_staff(req.patient, mode=req.mode)
    data = request.POST if request.method == "POST" else request.GET
    staff = next((s for s in options if str(s.pk) == (data.get("staff") or "")), None) or (
        access.staff_of(request.user) if access.staff_of(request.user) in options else
        (options[0] if options else None))
    today = timezone.now().astimezone(tz).date()
    first = max(parse_date(data.get("from"), req.preferred_date or today), today)
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
    req = request_load(request, request_id, "update")
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
        add_errors(form, exc)
        return _request_page(request, req, propose=form, status=400)
    messages.success(request, "Time proposed and held. The patient confirms it in the portal.")
    return redirect("schedule_request", req.pk)
