from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from assessments.models import SafetyEvent


class AssignForm(forms.Form):
    questionnaire = forms.ChoiceField(label="Questionnaire")
    due = forms.DateTimeField(label="Due (patient's local time)", required=False,
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                              help_text="Leave empty for now.")

    def __init__(self, *args, questionnaires, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.fields["questionnaire"].choices = [("", "Choose…")] + [(str(q.pk), q.name) for q in questionnaires]

    def clean_due(self) -> dt.datetime | None:
        value = self.cleaned_data.get("due")
        if value is None:
            return None
        # A datetime-local value is wall-clock time in the patient's program zone.
        naive = value.replace(tzinfo=None) if timezone.is_aware(value) else value
        return naive.replace(tzinfo=self.tz)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label="What was done", choices=[("", "Choose…")] + list(SafetyEvent.Outcome.choices))
    note = forms.CharField(label="Note (who, when, what was agreed)", widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=2000)


class ImportForm(forms.Form):
    file = forms.FileField(label="FHIR R4 Questionnaire (.json)")
