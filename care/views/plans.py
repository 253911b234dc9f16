"""The chart's Care plan tab: apply a template (anchored on surgery or enrolment, or a chosen date),
the plan's phases with dates, goals with progress, what is due and overdue, status changes with a
reason, and the history of changes."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from care.models import CarePlan, Goal
from care.services import plans as services
from care.services.tasks import RESOURCE as R
from mahalo import access
from mahalo.decorators import permission_required
from patients import shell


def _errors(exc: ValidationError) -> str:
    return " ".join(m for errs in exc.message_dict.values() for m in errs) if hasattr(exc, "error_dict") \
        else " ".join(exc.messages)


def _context(request, patient, error: str = "", posted=None) -> dict:
    now = timezone.now()
    templates = list(services.templates_for(patient))
    return {
        "plans": [services.plan_view(p, patient.today, now) for p in services.plans_for(patient)],
        "templates": [{"t": t, "anchor": services.default_anchor(t, patient)} for t in templates],
        "can_write": access.can(request.user, R, "write"), "can_update": access.can(request.user, R, "update"),
        "goal_statuses": Goal.Status.choices, "error": error, "posted": posted or {}, "today": patient.today,
        "now": now, "tzname": str(patient.tz),
    }


def _tab(request, patient, status=200, **kwargs) -> HttpResponse:
    response = shell.render_chart(request, patient, "care_plan", _context(request, patient, **kwargs))
    response.status_code = status
    return response


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def patient_care_plan(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    return _tab(request, patient)


@require_POST
@permission_required(R, "write")
def care_plan_apply(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", R)
    template = services.templates_for(patient).filter(pk=_uuid(request.POST.get("template"))).first()
    if template is None:
        return _tab(request, patient, 400, error="Choose a template.", posted=request.POST)
    raw = request.POST.get("start") or ""
    try:
        start = date.fromisoformat(raw) if raw else None
    except ValueError:
        return _tab(request, patient, 400, error="The start date isn't a date.", posted=request.POST)
    try:
        plan = services.plan_apply(template=template, patient=patient, actor=request.user, start=start,
                                   activate=request.POST.get("draft") != "1", request=request, via="chart")
    except ValidationError as exc:
        return _tab(request, patient, 400, error=_errors(exc), posted=request.POST)
    messages.success(request, f"“{plan.name}” applied from {plan.start_date:%b %-d, %Y}.")
    return redirect(reverse("patient_care_plan", args=[patient.pk]))


def _uuid(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@require_POST
@permission_required(R, "update")
def care_plan_status(request: HttpRequest, patient_id, plan_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", R)
    plan = access.load(request, CarePlan.objects.filter(patient=patient), plan_id, resource=R, action="update")
    try:
        services.plan_set_status(plan=plan, actor=request.user, status=request.POST.get("status", ""),
                                 reason=request.POST.get("reason", ""), request=request, via="chart")
    except ValidationError as exc:
        return _tab(request, patient, 400, error=_errors(exc), posted=request.POST)
    messages.success(request, "Care plan updated.")
    return redirect(reverse("patient_care_plan", args=[patient.pk]))


@require_POST
@permission_required(R, "update")
def goal_update(request: HttpRequest, patient_id, goal_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", R)
    goal = access.load(request, Goal.objects.filter(patient=patient), goal_id, resource=R, action="update")
    raw = (request.POST.get("current_value") or "").strip()
    try:
        value = float(raw) if raw else None
        if value is not None and value != value:  # NaN
            raise ValueError
    except ValueError:
        return _tab(request, patient, 400, error=f"“{raw}” isn't a number.", posted=request.POST)
    try:
        services.goal_update(goal=goal, actor=request.user, current_value=value,
                             status=request.POST.get("status", goal.status), reason=request.POST.get("reason", ""),
                             request=request, via="chart")
    except ValidationError as exc:
        return _tab(request, patient, 400, error=_errors(exc), posted=request.POST)
    messages.success(request, f"Goal “{goal.title}” updated.")
    return redirect(reverse("patient_care_plan", args=[patient.pk]))
