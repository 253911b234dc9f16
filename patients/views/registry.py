"""Staff pages: the registry, its export, and the record forms (new, edit, status)."""

import copy
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit, confirm
from mahalo.decorators import permission_required
from mahalo.exports import stream_csv
from mahalo.shell import current_program
from patients import registry, services
from patients.forms import PatientForm
from patients.models import Patient, PatientFlag, Program


@vary_on_headers("HX-Request")
@permission_required("patients", "read")
def patient_list(request: HttpRequest) -> HttpResponse:
    focus = current_program(request)
    qs, filters, errors = registry.filter_patients(request.user, request.GET, focus=focus)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    page.object_list = registry.page_rows(qs, page.object_list)
    audit.record(request=request, action="list", resource="patients",
                 metadata={"filters": {k: v for k, v in filters.items() if v}, "page": page.number,
                           "count": len(page.object_list)})
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    context = {
        "page": page,
        "rows": registry.list_rows(page.object_list),
        "columns": registry.column_headers(filters["sort"], sort_query.urlencode()),
        "filters": filters,
        "errors": errors,
        "extra_filters": registry.filter_fields(filters, errors),
        "focus": focus,
        "programs": access.program_list(request.user),
        "statuses": Patient.Status.choices,
        "flags": PatientFlag.Flag.choices,
        "care_team_choices": registry.care_team_choices(request.user),
        "query": query.urlencode(),
        "can_write": access.can(request.user, "patients", "write"),
    }
    template = "patients/list.html#results" if request.htmx else "patients/list.html"
    return render(request, template, context)


@permission_required("patients", "read")
def patient_export(request: HttpRequest) -> HttpResponse:
    """Exactly the rows (all pages) and columns of the filtered registry."""
    qs, filters, errors = registry.filter_patients(request.user, request.GET, focus=current_program(request))
    audit.record(request=request, action="export", resource="patients",
                 metadata={"filters": {k: v for k, v in filters.items() if v}, "count": qs.count()})
    return stream_csv(registry.export_header(), registry.export_rows(qs), f"patients-{timezone.localdate():%Y%m%d}.csv")


@permission_required("patients", "write")
def patient_create(request: HttpRequest) -> HttpResponse:
    programs = access.programs_for(request.user).filter(is_active=True)
    focus = current_program(request)
    form = PatientForm(request.POST or None, programs=programs,
                       initial={"program": focus.pk if focus else None, "country": "US"})
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(actor=request.user, program=form.cleaned_data["program"],
                                              data=form.model_changes(), flags=form.cleaned_data["flags"],
                                              request=request)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{patient.full_name} was added to {patient.program.name}.")
            return redirect("patient_detail", patient.pk)
    return render(request, "patients/form.html", {"form": form, "creating": True})


@permission_required("patients", "update")
def patient_edit(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update")
    # The form validates a copy so the service still sees the old values it diffs against.
    form = PatientForm(request.POST or None, instance=copy.copy(patient),
                       programs=access.programs_for(request.user))
    if not services.can_move(actor=request.user, patient=patient):
        # Reached through a care-team grant, not a program: the program isn't theirs to change.
        form.fields["program"].queryset = Program.objects.filter(pk=patient.program_id)
        form.fields["program"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.patient_update(patient=patient, actor=request.user, changes=form.model_changes(),
                                        flags=form.cleaned_data["flags"], request=request)
                services.patient_move_program(patient=patient, program=form.cleaned_data["program"],
                                              actor=request.user,
                                              reason=form.cleaned_data.get("move_reason", ""), request=request)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, exc if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, "Saved.")
            return redirect("patient_detail", patient.pk)
    return render(request, "patients/form.html", {"form": form, "patient": patient, "creating": False})


# Changes that take a patient off the clinicians' lists ask first (mahalo/confirm.py); each is
# undone from the same place (Re-activate, Restore record).
CONFIRM_ACTIONS = {
    "archive": "The record leaves the registry and every list; nothing is deleted, and “Restore record” "
               "on this page brings it back.",
    "discharge": "Monitoring stops and the patient leaves the active lists; “Re-activate” undoes it.",
}
STATUS_ACTIONS = {
    "pause": (Patient.Status.PAUSED, "Monitoring paused."),
    "resume": (Patient.Status.ACTIVE, "Patient is active again."),
    "discharge": (Patient.Status.DISCHARGED, "Patient discharged."),
    "archive": (Patient.Status.ARCHIVED, "Record archived. It stays in the audit trail and can be restored."),
    "restore": (Patient.Status.ACTIVE, "Record restored."),
}


@require_POST
@permission_required("patients", "update")
def patient_status(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update")
    action = request.POST.get("action", "")
    if action not in STATUS_ACTIONS:
        messages.error(request, "Unknown status change.")
        return redirect("patient_detail", patient.pk)
    status, done = STATUS_ACTIONS[action]
    if action in CONFIRM_ACTIONS and not confirm.confirmed(request):
        return confirm.ask(request, title=f"{action.capitalize()} this patient's record?",
                           thing=f"{patient.full_name}" + (f" · {patient.mrn}" if patient.mrn else "")
                                 + f" · {patient.program.name if patient.program_id else ''}",
                           consequence=CONFIRM_ACTIONS[action], button=f"Yes, {action} {patient.full_name}",
                           cancel_url=reverse("patient_detail", args=[patient.pk]))
    services.patient_set_status(patient=patient, status=status, actor=request.user,
                                reason=request.POST.get("reason", "").strip(), request=request)
    messages.success(request, done)
    return redirect("patient_detail", patient.pk)


SEARCH_LIMIT = 8
SEARCH_MAX_LENGTH = 100


@vary_on_headers("HX-Request")
@permission_required("patients", "read")
def patient_search(request: HttpRequest) -> HttpResponse:
    """The top bar's patient search: the registry's search (`registry.search`, through
    `filter_patients`, so in the user's scope only) over every status, the first few rows as
    a listbox for HTMX. Without JavaScript the form lands on the registry with the same query."""
    q = (request.GET.get("q") or "").strip()
    if len(q) > SEARCH_MAX_LENGTH or "\x00" in q:
        return render(request, "patients/_search_results.html",
                      {"q": q[:SEARCH_MAX_LENGTH].replace("\x00", ""),
                       "error": f"Search for at most {SEARCH_MAX_LENGTH} letters, digits or punctuation."},
                      status=400)
    if not request.htmx:
        return redirect(f"{reverse('patient_list')}?{urlencode({'q': q, 'status': 'all'})}")
    rows, total = [], 0
    if q:
        qs, _filters, _errors = registry.filter_patients(request.user, {"q": q, "status": "all"})
        rows = list(registry.with_list_columns(qs)[:SEARCH_LIMIT])
        total = len(rows) if len(rows) < SEARCH_LIMIT else qs.count()
        audit.record(request=request, action="list", resource="patients",
                     metadata={"filters": {"q": q, "status": "all"}, "via": "top_bar_search", "count": len(rows)})
    return render(request, "patients/_search_results.html", {
        "q": q, "rows": rows, "total": total,
        "more_url": f"{reverse('patient_list')}?{urlencode({'q': q, 'status': 'all'})}",
    })
