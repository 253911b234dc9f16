"""Forms of the scheduling pages. They parse and validate input; the services decide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms

from mahalo import recurrence
from scheduling import slots
from scheduling.models import Arrival, EventCategory, Mode, Severity, Visit

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SlotChoiceField(forms.CharField):
    """A slot picked from the list: "<staff id>|<UTC start>"."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return slots.parse_key(value)
        except ValueError:
            raise forms.ValidationError("Pick a time from the list.") from None


class VisitRequestForm(forms.Form):
    request_type = forms.ChoiceField(label="When", choices=[(Arrival.SCHEDULED, "At a time that suits me"),
                                                           (Arrival.WALK_IN, "As soon as possible (walk-in)")],
                                     widget=forms.RadioSelect, initial=Arrival.SCHEDULED)
    mode = forms.ChoiceField(label="How", choices=Mode.choices, widget=forms.RadioSelect, initial=Mode.VIRTUAL)
    preferred_date = forms.DateField(label="Preferred date", required=False, widget=DATE)
    window_start = forms.TimeField(label="Earliest time", required=False, widget=TIME)
    window_end = forms.TimeField(label="Latest time", required=False, widget=TIME)
    reason = forms.CharField(label="What is the visit about?", max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 4}))

    def clean(self):
        data = super().clean()
        if data.get("window_start") and data.get("window_end") and data["window_end"] <= data["window_start"]:
            self.add_error("window_end", "The latest time must be after the earliest.")
        return data


class SelfBookForm(forms.Form):
    slot = SlotChoiceField(label="Time", required=True,
                           error_messages={"required": "Pick a time from the list."})
    visit_type = forms.ChoiceField(label="Visit type", choices=Visit.Type.choices, initial=Visit.Type.FOLLOW_UP)
    reason = forms.CharField(label="What is the visit about?", max_length=2000, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))


class CancelForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.TextInput(attrs={"autocomplete": "off"}),
                             error_messages={"required": "Say why the visit is cancelled."})


class StaffBookForm(forms.Form):
    """Staff book (or reschedule to) a listed slot, or any free time they type in."""

    slot = SlotChoiceField(label="Open slot", required=False)
    custom_date = forms.DateField(label="Or another date", required=False, widget=DATE)
    custom_time = forms.TimeField(label="Start", required=False, widget=TIME)
    duration = forms.IntegerField(label="Minutes", min_value=5, max_value=480, initial=30, required=False)
    visit_type = forms.ChoiceField(label="Visit type", choices=Visit.Type.choices, initial=Visit.Type.FOLLOW_UP)
    mode = forms.ChoiceField(label="How", choices=Mode.choices, initial=Mode.IN_PERSON)
    location = forms.CharField(label="Location", max_length=200, required=False)
    reason = forms.CharField(label="Reason", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, tz=None, staff_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.fields["staff"] = forms.ChoiceField(label="Clinician", choices=[(str(s.pk), s.user.get_full_name())
                                                                             for s in staff_choices])
        self.order_fields(["staff", "slot", "custom_date", "custom_time", "duration", "visit_type", "mode"])

    def clean(self):
        data = super().clean()
        picked, day, at = data.get("slot"), data.get("custom_date"), data.get("custom_time")
        if picked:
            staff_id, start = picked
            if data.get("staff") and staff_id != data["staff"]:
                self.add_error("slot", "That slot belongs to another clinician.")
            data["starts_at"] = start
            data["ends_at"] = None  # the slot's own length
        elif day and at:
            start = datetime.combine(day, at).replace(tzinfo=self.tz)
            data["starts_at"] = start.astimezone(UTC)
            data["ends_at"] = data["starts_at"] + timedelta(minutes=data.get("duration") or 30)
        elif not self.errors:
            self.add_error("slot", "Pick an open slot, or give a date and a start time.")
        return data


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Visit.Status.choices)
    reason = forms.CharField(max_length=500, required=False)


class TriageForm(forms.Form):
    # No initial value, ever: an untriaged request stays untriaged until a person picks one.
    severity = forms.ChoiceField(label="Severity", choices=Severity.choices, widget=forms.RadioSelect,
                                 error_messages={"required": "Pick a severity: the request stays untriaged until "
                                                             "you do."})
    note = forms.CharField(label="Triage note", max_length=500, required=False)


class ProposeForm(forms.Form):
    slot = SlotChoiceField(label="Time", required=True, error_messages={"required": "Pick a time from the list."})
    action = forms.ChoiceField(choices=[("propose", "Propose"), ("book", "Book now")], initial="propose")
    visit_type = forms.ChoiceField(label="Visit type", choices=Visit.Type.choices, initial=Visit.Type.CONSULTATION)


class AvailabilityForm(forms.Form):
    program = forms.ChoiceField(label="Program")
    repeat = forms.ChoiceField(label="Repeats", choices=[("weekly", "Weekly"), ("biweekly", "Every other week"),
                                                         ("once", "One date only"), ("rule", "Custom rule")],
                               initial="weekly")
    days = forms.MultipleChoiceField(label="Days", choices=recurrence.WEEKDAYS, required=False,
                                     widget=forms.CheckboxSelectMultiple)
    rrule = forms.CharField(label="RRULE (RFC 5545)", required=False, max_length=300,
                            help_text="For custom rules, e.g. FREQ=MONTHLY;BYDAY=1TU")
    starts_on = forms.DateField(label="From", widget=DATE)
    ends_on = forms.DateField(label="Until", required=False, widget=DATE)
    start_time = forms.TimeField(label="Start", widget=TIME)
    end_time = forms.TimeField(label="End", widget=TIME)
    slot_minutes = forms.IntegerField(label="Visit length (minutes)", min_value=5, max_value=480, initial=30)
    mode = forms.ChoiceField(label="How", choices=Mode.choices, initial=Mode.IN_PERSON)
    location = forms.CharField(label="Location", max_length=200, required=False)

    def __init__(self, *args, programs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [(str(p.pk), p.name) for p in programs]

    def clean(self):
        data = super().clean()
        repeat = data.get("repeat")
        try:
            if repeat in ("weekly", "biweekly"):
                data["rule"] = recurrence.weekly_rule(data.get("days") or [], 2 if repeat == "biweekly" else 1)
            elif repeat == "rule":
                data["rule"] = recurrence.validate_rrule(data.get("rrule") or "")
            else:
                data["rule"] = ""
        except ValueError as exc:
            self.add_error("days" if repeat in ("weekly", "biweekly") else "rrule", str(exc))
        if data.get("start_time") and data.get("end_time") and data["end_time"] <= data["start_time"]:
            self.add_error("end_time", "The block must end after it starts.")
        if data.get("ends_on") and data.get("starts_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "The last date is before the first.")
        return data


class BlockTimeForm(forms.Form):
    date = forms.DateField(label="Date", widget=DATE)
    start = forms.TimeField(label="From", widget=TIME)
    end = forms.TimeField(label="To", widget=TIME)
    note = forms.CharField(label="Note", max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "Must end after it starts.")
        return data


class EventForm(forms.Form):
    template = forms.ChoiceField(label="Template", required=False)
    title = forms.CharField(label="Title", max_length=200, required=False, help_text="Or pick a template above.")
    category = forms.ChoiceField(label="Kind", choices=EventCategory.choices, initial=EventCategory.MEDICATION)
    date = forms.DateField(label="Date", widget=DATE)
    time = forms.TimeField(label="Time", widget=TIME)
    duration_minutes = forms.IntegerField(label="Minutes", min_value=5, max_value=24 * 60, initial=15)
    repeat = forms.ChoiceField(label="Repeats", choices=[("", "Does not repeat"), ("FREQ=DAILY", "Every day"),
                                                         ("FREQ=WEEKLY", "Every week"),
                                                         ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "Mon, Wed and Fri"),
                                                         ("FREQ=MONTHLY", "Every month")], required=False)
    until = forms.DateField(label="Until", required=False, widget=DATE)
    description = forms.CharField(label="Notes", required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {str(t.pk): t for t in templates}
        self.fields["template"].choices = [("", "None")] + [(str(t.pk), t.name) for t in templates]

    def clean_template(self):
        value = self.cleaned_data.get("template") or ""
        if value and value not in self.templates:
            raise forms.ValidationError("Unknown template.")
        return self.templates.get(value)

    def clean(self):
        data = super().clean()
        if data.get("until") and data.get("date") and data["until"] < data["date"]:
            self.add_error("until", "Must be on or after the first date.")
        if not (data.get("title") or "").strip() and not data.get("template") and "title" not in self.errors:
            self.add_error("title", "Give the event a title, or pick a template.")
        return data
