"""Rehab's forms: a prescription (staff), an exercise log and a sleep log (portal), a supervised
session (staff). Each hands a plain input to care.services.rehab / scores; the services validate."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from django import forms

from care.models import ExerciseLog, RehabSession
from care.services import rehab
from care.services.rehab import LogIn, PrescriptionIn

RPE_CHOICES = [("", "—")] + [(str(n), f"{n} · {rehab.BORG[n]}" if n in rehab.BORG else str(n)) for n in range(6, 21)]


class PrescriptionForm(forms.Form):
    exercise = forms.ModelChoiceField(queryset=None, empty_label="Choose…")
    minutes = forms.IntegerField(min_value=1, max_value=180, label="Minutes per session")
    sessions_per_week = forms.IntegerField(min_value=1, max_value=7, initial=3, label="Days a week")
    resting_hr = forms.IntegerField(required=False, label="Resting heart rate",
                                    help_text="Empty: the patient's recorded resting heart rate.")
    max_hr = forms.IntegerField(required=False, label="Maximum heart rate",
                                help_text="Empty: the patient's recorded maximum (exercise test).")
    hrr_low = forms.DecimalField(max_digits=3, decimal_places=2, initial=Decimal("0.40"),
                                 label="Lower fraction of heart-rate reserve")
    hrr_high = forms.DecimalField(max_digits=3, decimal_places=2, initial=Decimal("0.60"),
                                  label="Upper fraction of heart-rate reserve")
    rpe_low = forms.TypedChoiceField(choices=RPE_CHOICES[1:], coerce=int, initial="11", label="RPE from")
    rpe_high = forms.TypedChoiceField(choices=RPE_CHOICES[1:], coerce=int, initial="13", label="RPE to")
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    progression = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text="One step a line: week, minutes, days a week (e.g. '3 30 5').")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exercise"].queryset = rehab.exercises_for(patient)

    def clean_progression(self):
        try:
            return rehab.parse_progression(self.cleaned_data.get("progression") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def to_input(self) -> PrescriptionIn:
        d = self.cleaned_data
        return PrescriptionIn(exercise=d["exercise"], minutes=d["minutes"], sessions_per_week=d["sessions_per_week"],
                              hrr_low=d["hrr_low"], hrr_high=d["hrr_high"], rpe_low=d["rpe_low"],
                              rpe_high=d["rpe_high"], resting_hr=d.get("resting_hr"), max_hr=d.get("max_hr"),
                              start_date=d["start_date"], end_date=d.get("end_date"),
                              progression=d.get("progression") or [], notes=d.get("notes") or "")


class ExerciseLogForm(forms.Form):
    prescription = forms.UUIDField(required=False, widget=forms.HiddenInput)
    duration_min = forms.IntegerField(min_value=1, max_value=600, label="Minutes")
    distance_km = forms.FloatField(required=False, min_value=0, max_value=300, label="Distance (km)")
    avg_hr = forms.IntegerField(required=False, min_value=30, max_value=250, label="Average heart rate")
    max_hr = forms.IntegerField(required=False, min_value=30, max_value=250, label="Highest heart rate")
    rpe = forms.TypedChoiceField(choices=RPE_CHOICES, coerce=int, empty_value=None, required=False,
                                 label="How hard it felt (Borg 6–20)")
    symptoms = forms.MultipleChoiceField(choices=ExerciseLog.Symptom.choices, required=False,
                                         widget=forms.CheckboxSelectMultiple, label="Did you notice")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "ex_%s")  # Today holds several forms: ids stay unique per page
        super().__init__(*args, **kwargs)

    def to_input(self, prescription=None) -> LogIn:
        d = self.cleaned_data
        return LogIn(duration_min=d["duration_min"], prescription=prescription, distance_km=d.get("distance_km"),
                     avg_hr=d.get("avg_hr"), max_hr=d.get("max_hr"), rpe=d.get("rpe"),
                     symptoms=d.get("symptoms") or [], notes=d.get("notes") or "")


class SleepForm(forms.Form):
    quality = forms.TypedChoiceField(choices=[(str(n), label) for n, label in (
        (1, "1 · Very poor"), (2, "2 · Poor"), (3, "3 · Fair"), (4, "4 · Good"), (5, "5 · Very good"))],
        coerce=int, widget=forms.RadioSelect, label="How did you sleep last night?")
    interruptions = forms.IntegerField(min_value=0, max_value=30, initial=0, label="Times you woke up")
    hours = forms.FloatField(required=False, min_value=0, max_value=24, label="Hours slept (if you know)")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "sl_%s")
        super().__init__(*args, **kwargs)


class SessionForm(forms.Form):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")
    at = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), initial=time(9), label="Time")
    status = forms.ChoiceField(choices=[c for c in RehabSession.Status.choices if c[0] != "scheduled"],
                               initial="attended", label="Attendance")
    minutes = forms.IntegerField(required=False, min_value=1, max_value=600, initial=60)
    avg_hr = forms.IntegerField(required=False, min_value=30, max_value=250, label="Average heart rate")
    max_hr = forms.IntegerField(required=False, min_value=30, max_value=250, label="Highest heart rate")
    rpe = forms.TypedChoiceField(choices=RPE_CHOICES, coerce=int, empty_value=None, required=False, label="RPE")
    symptoms = forms.MultipleChoiceField(choices=ExerciseLog.Symptom.choices, required=False,
                                         widget=forms.CheckboxSelectMultiple)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "ses_%s")  # beside the prescription form on the Rehab tab
        super().__init__(*args, **kwargs)

    def starts_at(self, tz) -> datetime:
        return datetime.combine(self.cleaned_data["day"], self.cleaned_data["at"], tzinfo=tz)
