"""Forms of the chart's RPM tab. Shape checks only; the rules (no future dates,
no overlapping episodes, ...) live in `clinical.rpm` so every caller gets them."""

from django import forms

from clinical.rpm import MAX_MANUAL_MINUTES

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
