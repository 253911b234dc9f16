"""Forms of the wearables pages: the Apple Health upload (checked before anything is stored)."""

from __future__ import annotations

from django import forms
from django.conf import settings

from wearables import apple_health


def max_bytes() -> int:
    return settings.WEARABLES_APPLE_HEALTH_MAX_MB * 1024 * 1024


def max_label() -> str:
    mb = settings.WEARABLES_APPLE_HEALTH_MAX_MB
    return f"{mb // 1024:,} GB" if mb >= 1024 and mb % 1024 == 0 else f"{mb:,} MB"


class AppleHealthForm(forms.Form):
    """Extension, size, that a zip holds apple_health_export/export.xml and that the XML is a
    <HealthData> export: the same checks for the patient's and the staff's upload."""

    file = forms.FileField(
        label="Apple Health export",
        help_text="export.zip (or export.xml) from the Health app.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.xml,application/zip,application/xml,text/xml"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".zip", ".xml")):
            raise forms.ValidationError("Choose the export.zip (or export.xml) file from the Health app.")
        if upload.size > max_bytes():
            raise forms.ValidationError(
                f"This file is {upload.size / 1024 / 1024:,.1f} MB; the largest accepted is {max_label()}.")
        if upload.size == 0:
            raise forms.ValidationError("This file is empty.")
        try:
            apple_health.sniff(upload, upload.name)
        except apple_health.ExportError as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload
