"""The chart's Labs tab (/patients/<uuid>/labs/): orders and their workflow, results
grouped per test with in/out-of-range marks and a small trend, and the forms to
order, to move an order along, and to enter results (with or without an order).

One URL: GET shows the tab; POST carries `action` = order | transition | results.
Errors re-render the tab with the form's messages and everything typed.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from clinical import labs
from clinical.forms import LabOrderForm, LabResultsForm, lab_result_rows
from mahalo import access
from mahalo.decorators import permission_required
from patients import shell


def _tz(patient):
    return patient.tz


def labs_context(request, patient, *, order_form=None, results_form=None, result_rows=None, results_order=None,
                 failed_order=None, transition_error="") -> dict:
    tz = _tz(patient)
    orders = labs.orders_for(patient)
    open_orders = [o for o in orders if o.status in labs.OPEN]
    can_write = access.can(request.user, "clinical", "write", patient)
    if can_write and results_form is None:
        wanted = request.GET.get("results_for", "")
        results_order = next((o for o in open_orders if str(o.pk) == wanted), None)
        results_form = LabResultsForm(tz=tz, initial={"order": results_order.pk if results_order else None})
        result_rows = lab_result_rows(results_order)
    return {
        "tzname": str(patient.tz),
        "open_orders": open_orders,
        "closed_orders": [o for o in orders if o.status not in labs.OPEN],
        "groups": labs.grouped_results(patient),
        "can_write": can_write,
        "can_update": can_write and access.can(request.user, "clinical", "update"),
        "order_form": order_form or (LabOrderForm() if can_write else None),
        "results_form": results_form,
        "result_rows": result_rows,
        "results_order": results_order,
        "failed_order": failed_order,
        "transition_error": transition_error,
        "unreleased": labs.unreleased_count(patient),
    }


def _respond(request, patient, context, *, error: bool) -> HttpResponse:
    response = shell.render_chart(request, patient, "labs", context)
    if error and not request.htmx:
        response.status_code = 400
    return response


def _post(request, patient) -> HttpResponse | dict:
    """Handle a POST; returns the redirect on success or the context to re-render with errors."""
    action = request.POST.get("action", "")
    tab_url = reverse("patient_labs", args=[patient.pk])
    if action == "order":
        if not access.can(request.user, "clinical", "write", patient):
            raise Http404
        form = LabOrderForm(request.POST)
        if form.is_valid():
            try:
                labs.lab_order_create(patient=patient, tests=form.names(), notes=form.cleaned_data["notes"],
                                      actor=request.user, request=request)
            except ValidationError as exc:
                form.add_error("other_tests" if "tests" in exc.message_dict else None,
                               [m for ms in exc.message_dict.values() for m in ms])
            else:
                messages.success(request, "Lab order placed.")
                return redirect(tab_url)
        return labs_context(request, patient, order_form=form)
    if action == "transition":
        if not access.can(request.user, "clinical", "update", patient):
            raise Http404
        order = labs.lab_order_for(request, patient, request.POST.get("order"), action="update")
        try:
            labs.lab_order_transition(order=order, to=request.POST.get("to", ""), actor=request.user,
                                      reason=request.POST.get("reason", ""), request=request)
        except ValidationError as exc:
            return labs_context(request, patient, failed_order=order.pk,
                                transition_error=" ".join(m for ms in exc.message_dict.values() for m in ms))
        messages.success(request, "Order updated.")
        return redirect(tab_url)
    if action == "release":
        if not access.can(request.user, "clinical", "write", patient):
            raise Http404
        try:
            count = labs.lab_results_release(patient=patient, actor=request.user, request=request)
        except ValidationError as exc:
            return labs_context(request, patient, transition_error=" ".join(exc.messages))
        messages.success(request, f"{count} result{'s' if count != 1 else ''} released to the patient."
                         if count else "Every result was already released.")
        return redirect(tab_url)
    if action == "results":
        if not access.can(request.user, "clinical", "write", patient):
            raise Http404
        form = LabResultsForm(request.POST, tz=_tz(patient))
        rows = lab_result_rows(None, request.POST)
        order = None
        if form.is_valid() and form.cleaned_data.get("order"):
            order = labs.lab_order_for(request, patient, form.cleaned_data["order"], action="write")
        if form.is_valid() and rows.is_valid():
            filled = [(i, r) for i, r in enumerate(rows) if not r.is_blank()]
            results = [labs.ResultIn(test_name=r.cleaned_data["test_name"], value=r.cleaned_data["value"],
                                     unit=r.cleaned_data["unit"], reference_low=r.cleaned_data["reference_low"],
                                     reference_high=r.cleaned_data["reference_high"],
                                     recorded_at=form.cleaned_data["recorded_at"]) for _, r in filled]
            try:
                labs.lab_results_enter(patient=patient, results=results, actor=request.user, order=order,
                                       request=request)
            except ValidationError as exc:
                for key, errors in exc.message_dict.items():
                    parts = key.split(".")
                    if len(parts) == 3 and parts[0] == "results":
                        row = rows[filled[int(parts[1])][0]]
                        row.add_error(parts[2] if parts[2] in row.fields else None, errors)
                    elif key == "results":
                        form.add_error(None, "Enter at least one result.")
                    else:
                        form.add_error(None, errors)
            else:
                messages.success(request, f"{len(results)} result{'s' if len(results) != 1 else ''} saved"
                                          f"{' and the order completed' if order else ''}.")
                return redirect(tab_url)
        return labs_context(request, patient, results_form=form, result_rows=rows, results_order=order)
    raise Http404


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("patients", "read")
@permission_required("clinical", "read")
def patient_labs(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", "clinical")  # audited read
    if request.method == "POST":
        outcome = _post(request, patient)
        if isinstance(outcome, HttpResponse):
            return outcome
        return _respond(request, patient, outcome, error=True)
    return _respond(request, patient, labs_context(request, patient), error=False)
