"""The chart's Labs tab (/patients/<uuid>/labs/): orders and their workflow, results
grouped per test with in/out-of-range marks and a small trend, and the forms to
order, to move an order along, and to enter results (with or without an order).

One URL: GET shows the tab; POST carries `action` = order | transition | results.
Errors re-render the tab with the form's messages and everything typed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from clinical import labs
from clinical.models import LabOrder
from mahalo import access
from mahalo.decorators import permission_required
from patients import shell

RESULT_ROWS = 4
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def _tz(patient):
    return patient.tz


class OrderForm(forms.Form):
    tests = forms.MultipleChoiceField(label="Tests", required=False, widget=forms.CheckboxSelectMultiple,
                                      choices=[(n, n) for n in labs.COMMON_TESTS])
    other_tests = forms.CharField(label="Other tests", required=False, max_length=500,
                                  help_text="Separate with commas.")
    notes = forms.CharField(label="Notes for the lab", required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))

    def names(self) -> list[str]:
        extra = [t.strip() for t in self.cleaned_data.get("other_tests", "").split(",") if t.strip()]
        return list(self.cleaned_data.get("tests") or []) + extra


class ResultRowForm(forms.Form):
    test_name = forms.CharField(label="Test", required=False, max_length=120)
    value = forms.FloatField(label="Result", required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                             error_messages={"invalid": "Enter a number."})
    unit = forms.CharField(label="Unit", required=False, max_length=24)
    reference_low = forms.FloatField(label="Ref. low", required=False,
                                     widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                     error_messages={"invalid": "Enter a number."})
    reference_high = forms.FloatField(label="Ref. high", required=False,
                                      widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                      error_messages={"invalid": "Enter a number."})

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(k) not in (None, "") for k in self.fields)


ResultRows = forms.formset_factory(ResultRowForm, extra=0, max_num=labs.MAX_TESTS, absolute_max=labs.MAX_TESTS)


class ResultsForm(forms.Form):
    order = forms.UUIDField(required=False, widget=forms.HiddenInput)
    recorded_at = forms.CharField(label="Sample taken at",
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, tz=UTC, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("recorded_at", timezone.now().astimezone(tz).strftime(
            "%Y-%m-%dT%H:%M"))
        super().__init__(*args, **kwargs)
        self.tz = tz

    def clean_recorded_at(self) -> datetime:
        raw = self.cleaned_data["recorded_at"].strip()
        for fmt in TIME_FORMATS:
            try:
                return datetime.strptime(raw, fmt).replace(tzinfo=self.tz)
            except ValueError:
                continue
        raise ValidationError("Enter a date and time, e.g. 2026-03-04 07:30.")


def _rows_for(order: LabOrder | None, data=None):
    if data is not None:
        return ResultRows(data, prefix="r")
    initial = []
    for name in (order.tests if order else []):
        code, unit, low, high = labs.COMMON_TESTS.get(name, ("", "", None, None))
        initial.append({"test_name": name, "unit": unit, "reference_low": low, "reference_high": high})
    rows = forms.formset_factory(ResultRowForm, extra=max(RESULT_ROWS - len(initial), 1) if not order else 0,
                                 max_num=labs.MAX_TESTS, absolute_max=labs.MAX_TESTS)
    return rows(initial=initial, prefix="r")


def labs_context(request, patient, *, order_form=None, results_form=None, result_rows=None, results_order=None,
                 failed_order=None, transition_error="") -> dict:
    tz = _tz(patient)
    orders = list(LabOrder.objects.filter(patient_id=patient.pk).select_related("ordered_by")
                  .order_by("-ordered_at"))
    open_orders = [o for o in orders if o.status in labs.OPEN]
    can_write = access.can(request.user, "clinical", "write", patient)
    if can_write and results_form is None:
        wanted = request.GET.get("results_for", "")
        results_order = next((o for o in open_orders if str(o.pk) == wanted), None)
        results_form = ResultsForm(tz=tz, initial={"order": results_order.pk if results_order else None})
        result_rows = _rows_for(results_order)
    return {
        "tzname": str(patient.tz),
        "open_orders": open_orders,
        "closed_orders": [o for o in orders if o.status not in labs.OPEN],
        "groups": labs.grouped_results(patient),
        "can_write": can_write,
        "can_update": can_write and access.can(request.user, "clinical", "update"),
        "order_form": order_form or (OrderForm() if can_write else None),
        "results_form": results_form,
        "result_rows": result_rows,
        "results_order": results_order,
        "failed_order": failed_order,
        "transition_error": transition_error,
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
        form = OrderForm(request.POST)
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
        order = LabOrder.objects.filter(pk=_uuid(request.POST.get("order")), patient_id=patient.pk).first()
        if order is None:
            raise Http404
        try:
            labs.lab_order_transition(order=order, to=request.POST.get("to", ""), actor=request.user,
                                      reason=request.POST.get("reason", ""), request=request)
        except ValidationError as exc:
            return labs_context(request, patient, failed_order=order.pk,
                                transition_error=" ".join(m for ms in exc.message_dict.values() for m in ms))
        messages.success(request, "Order updated.")
        return redirect(tab_url)
    if action == "results":
        if not access.can(request.user, "clinical", "write", patient):
            raise Http404
        form = ResultsForm(request.POST, tz=_tz(patient))
        rows = _rows_for(None, request.POST)
        order = None
        if form.is_valid() and form.cleaned_data.get("order"):
            order = LabOrder.objects.filter(pk=form.cleaned_data["order"], patient_id=patient.pk).first()
            if order is None:
                raise Http404
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


def _uuid(raw):
    import uuid

    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


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
