"""Forms of the reports pages: asking for a report, e-mailing a link, making a web link."""

from __future__ import annotations

from django import forms

from reports.services import LINK_DAYS_DEFAULT, LINK_DAYS_MAX


class ReportRequestForm(forms.Form):
    template = forms.ChoiceField(label="Report")
    period_start = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(str(t.pk), t.name) for t in templates]


class EmailLinkForm(forms.Form):
    recipient = forms.EmailField(label="Recipient's e-mail", max_length=254)
    days = forms.IntegerField(
        label="Link works for (days)", min_value=1, max_value=LINK_DAYS_MAX, initial=LINK_DAYS_DEFAULT
    )


class WebLinkForm(forms.Form):
    days = forms.IntegerField(
        label="Link works for (days)", min_value=1, max_value=LINK_DAYS_MAX, initial=LINK_DAYS_DEFAULT
    )
