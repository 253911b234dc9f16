"""Care's forms: a task by hand, a medication (times of day and weekdays become the RRULE)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal

from django import forms

from care.models import ExerciseLog, Medication, RehabSession, Task
from care.services import medications as med_services
from care.services import rehab
from care.services.medications import MedicationIn
from care.services.rehab import LogIn, PrescriptionIn


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    assignee = forms.ChoiceField(required=False, label="Assign to")
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Due date")
    due_time = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}), label="Due time",
                               help_text="Empty: end of the working day (17:00).")
    priority = forms.ChoiceField(choices=Task.Priority.choices, initial=Task.Priority.NORMAL)

    def __init__(self, *args, staff=(), tz=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = {str(u.pk): u for u in staff}
        self.tz = tz
        self.fields["assignee"].choices = [("", "Nobody yet (team)")] + [
            (str(u.pk), u.get_full_name() or u.email) for u in staff]

    def clean(self):
        data = super().clean()
        due_date, due_time = data.get("due_date"), data.get("due_time")
        data["due_at"] = None
        if due_date:
            data["due_at"] = datetime.combine(due_date, due_time or time(17), tzinfo=self.tz or UTC)
        elif due_time:
            self.add_error("due_date", "Give the day too.")
        data["assignee_user"] = self.staff.get(data.get("assignee") or "")
        return data


TIME_RE = re.compile(r"^\s*(\d{1,2})[:.h](\d{2})\s*$")


class MedicationForm(forms.Form):
    name = forms.CharField(max_length=200, label="Medication")
    dose = forms.DecimalField(required=False, min_value=0, max_digits=10, decimal_places=3)
    dose_unit = forms.CharField(required=False, max_length=20, label="Unit",
                                widget=forms.TextInput(attrs={"placeholder": "mg", "list": "dose-units"}))
    route = forms.ChoiceField(choices=Medication.Route.choices, initial=Medication.Route.ORAL)
    as_needed = forms.BooleanField(required=False, label="As needed (no fixed times)")
    times = forms.CharField(required=False, label="Times of day", help_text="e.g. 08:00, 20:00",
                            widget=forms.TextInput(attrs={"placeholder": "08:00, 20:00", "inputmode": "numeric"}))
    weekdays = forms.MultipleChoiceField(required=False, choices=med_services.WEEKDAYS,
                                         widget=forms.CheckboxSelectMultiple, label="Only on",
                                         help_text="None ticked: every day.")
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    prescriber_name = forms.CharField(required=False, max_length=200, label="Prescriber (if outside)")
    reason = forms.CharField(required=False, max_length=300)
    instructions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    critical = forms.BooleanField(required=False, label="Critical (e.g. anticoagulant): missed doses alert the team")
    allergy_confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, patient=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.allergy_hits: list[str] = []

    def clean_times(self):
        raw = self.cleaned_data.get("times") or ""
        out = []
        for part in [p for p in re.split(r"[,;\s]+", raw) if p]:
            m = TIME_RE.match(part)
            if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
                raise forms.ValidationError(f"“{part}” is not a time like 08:00.")
            out.append(time(int(m.group(1)), int(m.group(2))))
        return out

    def clean(self):
        data = super().clean()
        if not data.get("as_needed") and "times" in data and not data.get("times"):
            self.add_error("times", "Give at least one time of day, or tick “As needed”.")
        if self.patient is not None and data.get("name"):
            self.allergy_hits = med_services.allergy_matches(self.patient, data["name"])
            if self.allergy_hits and not data.get("allergy_confirmed"):
                self.data = self.data.copy()
                self.data["allergy_confirmed"] = "1"  # a second submit confirms, with everything kept
                self.add_error("name", "Recorded allergy: " + "; ".join(self.allergy_hits)
                               + ". Check, then save again to confirm.")
        return data

    def to_input(self) -> MedicationIn:
        d = self.cleaned_data
        schedule = "" if d["as_needed"] else med_services.schedule_build(d["times"], d.get("weekdays") or None)
        return MedicationIn(name=d["name"], start_date=d["start_date"], dose=d.get("dose"), dose_unit=d["dose_unit"],
                            route=d["route"], schedule=schedule, as_needed=d["as_needed"], end_date=d.get("end_date"),
                            prescriber_name=d["prescriber_name"], instructions=d["instructions"], reason=d["reason"],
                            critical=d["critical"])


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
