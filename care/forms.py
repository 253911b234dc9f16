"""Care's forms: a task by hand, a medication (times of day and weekdays become the RRULE)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

from django import forms

from care.models import Medication, Task
from care.services import medications as med_services
from care.services.medications import MedicationIn


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
