"""Forms of the clinical pages: shape checks only (is it a number, a date, one of the
choices). The clinical rules (plausible values, units, no future dates, overlapping
episodes, ...) live in the services (`clinical.observations`, `clinical.labs`,
`clinical.recommendations`, `clinical.rpm`) so the pages, the API and tasks all get them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinical import labs, observations, recommendations, units
from clinical.metrics import METRICS
from clinical.models import Recommendation, RpmConsent
from clinical.rpm import MAX_MANUAL_MINUTES

# What a datetime-local input sends, plus what people type where it isn't supported.
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def _local_time(raw: str, tz, formats=TIME_FORMATS) -> datetime:
    """A wall-clock time typed where the patient's program is."""
    for fmt in formats:
        try:
            return datetime.strptime(raw.strip(), fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValidationError("Enter a date and time, e.g. 2026-03-04 07:30.")


# --- Observations (the chart's Vitals tab and the portal) ----------------------------------

ALL_UNITS = list(dict.fromkeys(u for metric in observations.ENTRY_METRICS for u in units.ENTRY_UNITS[metric]))


class ObservationForm(forms.Form):
    """One reading as typed. Numbers are checked here (a value that is not a number is a
    form error); everything clinical is checked by observation_record."""

    metric = forms.ChoiceField(label="Measurement")
    value = forms.FloatField(label="Value", widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                                          "autocomplete": "off"}),
                             error_messages={"invalid": "Enter a number, e.g. 72 or 98.6."})
    value2 = forms.FloatField(label="Diastolic", required=False,
                              widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                              error_messages={"invalid": "Enter a number, e.g. 80."})
    unit = forms.ChoiceField(label="Unit", choices=ALL_UNITS)
    setting = forms.ChoiceField(label="Where was it taken?", choices=observations.BP_SETTINGS, required=False)
    glucose_context = forms.ChoiceField(label="When was it taken?", choices=observations.GLUCOSE_CONTEXTS,
                                        required=False)
    effective_at = forms.CharField(label="Measured at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    note = forms.CharField(label="Note", required=False, max_length=500,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, metrics=observations.ENTRY_METRICS, tz=UTC, default_setting="office", **kwargs):
        now = timezone.now().astimezone(tz)
        initial = {"metric": metrics[0], "unit": units.ENTRY_UNITS[metrics[0]][0][0], "setting": default_setting,
                   "glucose_context": "fasting", "effective_at": now.strftime("%Y-%m-%dT%H:%M")}
        kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.fields["metric"].choices = [(m, METRICS[m].label) for m in metrics]
        self.fields["effective_at"].widget.attrs["max"] = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
        self.unit_map = {m: [u for u, _ in units.ENTRY_UNITS[m]] for m in metrics}

    def clean_effective_at(self) -> datetime:
        return _local_time(self.cleaned_data["effective_at"], self.tz)

    def mark_invalid(self) -> None:
        """Fields with errors say so to assistive technology, and point at their message."""
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].id_for_label}-err"

    def record(self, patient, *, actor, source, request, via):
        """Save through the service; its field errors land on this form's fields."""
        data = self.cleaned_data
        metric = data["metric"]
        context = data.get("setting") if metric == "blood_pressure" else (
            data.get("glucose_context") if metric == "glucose" else "")
        try:
            return observations.observation_record(
                patient, metric, data["value"], data["unit"], data["effective_at"],
                value2=data.get("value2") if metric == "blood_pressure" else None, context=context or "",
                actor=actor, source=source, note=data.get("note", ""), request=request, via=via)
        except ValidationError as exc:
            fields = {"context": "setting" if metric == "blood_pressure" else "glucose_context"}
            for name, errors in exc.message_dict.items():
                target = fields.get(name, name)
                self.add_error(target if target in self.fields else None, errors)
            return None


# --- Labs (the chart's Labs tab) -------------------------------------------------------------

RESULT_ROWS = 4


class LabOrderForm(forms.Form):
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


class LabResultsForm(forms.Form):
    order = forms.UUIDField(required=False, widget=forms.HiddenInput)
    recorded_at = forms.CharField(label="Sample taken at",
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, tz=UTC, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("recorded_at", timezone.now().astimezone(tz).strftime(
            "%Y-%m-%dT%H:%M"))
        super().__init__(*args, **kwargs)
        self.tz = tz

    def clean_recorded_at(self) -> datetime:
        return _local_time(self.cleaned_data["recorded_at"], self.tz, (*TIME_FORMATS, "%Y-%m-%d"))


def lab_result_rows(order=None, data=None):
    """The results formset: bound to POST data, or blank rows (one per test of `order`)."""
    if data is not None:
        return ResultRows(data, prefix="r")
    initial = []
    for name in (order.tests if order else []):
        code, unit, low, high = labs.COMMON_TESTS.get(name, ("", "", None, None))
        initial.append({"test_name": name, "unit": unit, "reference_low": low, "reference_high": high})
    rows = forms.formset_factory(ResultRowForm, extra=max(RESULT_ROWS - len(initial), 1) if not order else 0,
                                 max_num=labs.MAX_TESTS, absolute_max=labs.MAX_TESTS)
    return rows(initial=initial, prefix="r")


# --- Recommendations (the chart's Recommendations tab) ------------------------------------------

class RecommendationForm(forms.Form):
    domain = forms.ChoiceField(label="Domain", choices=[("", "Choose…"), *Recommendation.Domain.choices])
    content = forms.CharField(label="Recommendation", max_length=recommendations.MAX_LENGTH,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="Written for the patient: they read it in their portal.")


# --- RPM (the chart's RPM tab) -------------------------------------------------------------------

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NOTE = forms.Textarea(attrs={"rows": 2, "maxlength": 2000})


class ManualTimeForm(forms.Form):
    day = forms.DateField(label="Date", widget=DATE)
    minutes = forms.IntegerField(label="Minutes", min_value=1, max_value=MAX_MANUAL_MINUTES,
                                 widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    interactive = forms.BooleanField(label="Included real-time interactive communication", required=False)
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=NOTE)


class StopTimerForm(forms.Form):
    interactive = forms.BooleanField(label="Included real-time interactive communication", required=False)
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=NOTE)


class EpisodeStartForm(forms.Form):
    started_on = forms.DateField(label="Episode start", widget=DATE,
                                 help_text="Anchors the 30-day device periods.")


class EpisodeSetupForm(forms.Form):
    setup_completed_on = forms.DateField(label="Setup and education completed on", widget=DATE)


class EpisodeEndForm(forms.Form):
    ended_on = forms.DateField(label="Episode ended on", widget=DATE)


class ConsentForm(forms.Form):
    """RPM consent: who, when, how (clinical.rpm.consent_record)."""

    obtained_on = forms.DateField(label="Consent given on", widget=DATE)
    method = forms.ChoiceField(label="How", choices=[("", "Choose…"), *RpmConsent.Method.choices])
    given_by = forms.CharField(label="Given by", max_length=200, initial="Patient",
                               help_text="The patient, or their representative (name and relation).")
    note = forms.CharField(label="Note (optional)", required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ConsentWithdrawForm(forms.Form):
    withdrawn_on = forms.DateField(label="Withdrawn on", widget=DATE)
    note = forms.CharField(label="Why (optional)", required=False, max_length=2000)
