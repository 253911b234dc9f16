"""Apple Health uploads: the patient from the portal, staff for a patient.

Both check the file the same way before anything is stored (extension, size, that
a zip holds apple_health_export/export.xml, that the XML is a <HealthData> export),
save an AppleHealthImport row with the file, and queue the import on commit. The
progress fragment polls while the import runs.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required
from patients.shell import portal_page
from wearables import apple_health
from wearables.apple_tasks import SOURCE, queue_import
from wearables.models import AppleHealthImport, SyncLog

RECENT = 5


def max_bytes() -> int:
    return settings.WEARABLES_APPLE_HEALTH_MAX_MB * 1024 * 1024


def max_label() -> str:
    mb = settings.WEARABLES_APPLE_HEALTH_MAX_MB
    return f"{mb // 1024:,} GB" if mb >= 1024 and mb % 1024 == 0 else f"{mb:,} MB"


class AppleHealthForm(forms.Form):
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


def import_create(*, patient, upload, actor, request=None) -> AppleHealthImport:
    """Row and file first, task on commit: a broker outage delays the import, loses nothing."""
    with transaction.atomic():
        log = SyncLog.objects.create(project_id=patient.project_id, patient=patient, source=SOURCE,
                                     trigger=SyncLog.Trigger.UPLOAD)
        job = AppleHealthImport(project_id=patient.project_id, patient=patient, uploaded_by=actor,
                                original_name=upload.name[:255], size=upload.size, sync_log=log)
        job.file.save(upload.name, upload, save=False)
        job.save()
        audit.record(action="write", request=request, actor=actor, resource="wearables", patient=patient,
                     object_id=job.pk, metadata={"event": "apple_health_upload", "size": upload.size})
        queue_import(job)
    return job


def recent_imports(patient, url_for) -> list[AppleHealthImport]:
    jobs = list(AppleHealthImport.objects.filter(patient=patient).select_related("uploaded_by")[:RECENT])
    for job in jobs:
        job.poll_url = url_for(job)
    return jobs


def _portal_url(job) -> str:
    return reverse("portal_apple_health_status", args=[job.pk])


def _staff_url(job) -> str:
    return reverse("staff_apple_health_status", args=[job.patient_id, job.pk])


def _fragment(request, job, poll_url, patient) -> HttpResponse:
    job.poll_url = poll_url
    # Times in the patient's program time zone, as on the page that holds the fragment.
    with timezone.override(patient.program.tz if patient.program_id else None):
        return render(request, "wearables/_apple_import.html", {"job": job})


# --- Portal ------------------------------------------------------------------------


@require_http_methods(["POST"])
@portal_page
def portal_apple_upload(request: HttpRequest, patient) -> HttpResponse:
    form = AppleHealthForm(request.POST, request.FILES)
    if form.is_valid():
        import_create(patient=patient, upload=form.cleaned_data["file"], actor=request.user, request=request)
        messages.success(request, "Your Apple Health export is uploaded. It is being imported; "
                                  "you can follow it below and leave this page at any time.")
        return redirect(reverse("portal_devices") + "#apple-health")
    from wearables.portal_views import render_devices

    return render_devices(request, patient, apple_form=form)


@vary_on_headers("HX-Request")
@require_GET
@portal_page
def portal_apple_status(request: HttpRequest, patient, import_id) -> HttpResponse:
    job = AppleHealthImport.objects.filter(pk=import_id, patient=patient).first()
    if job is None:
        raise Http404
    if not request.htmx:
        return redirect(reverse("portal_devices") + "#apple-health")
    return _fragment(request, job, _portal_url(job), patient)


# --- Staff -------------------------------------------------------------------------


@permission_required("wearables", "write")
@require_http_methods(["GET", "POST"])
def staff_apple_health(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, action="write", resource="wearables")
    form = AppleHealthForm()
    if request.method == "POST":
        form = AppleHealthForm(request.POST, request.FILES)
        if form.is_valid():
            import_create(patient=patient, upload=form.cleaned_data["file"], actor=request.user, request=request)
            messages.success(request, f"The export is uploaded and is being imported into "
                                      f"{patient.display_name}'s record.")
            return redirect("staff_apple_health", patient_id=patient.pk)
    else:
        audit.record(request=request, action="read", resource="wearables", patient=patient,
                     metadata={"page": "apple_health_imports"})
    return render(request, "wearables/staff_apple_health.html", {
        "patient": patient, "form": form, "imports": recent_imports(patient, _staff_url),
        "max_label": max_label(),
    })


@vary_on_headers("HX-Request")
@permission_required("wearables", "write")
@require_GET
def staff_apple_health_status(request: HttpRequest, patient_id, import_id) -> HttpResponse:
    # The page load audited the read; a poll every 2 s would only flood the audit log.
    patient = access.get_patient_for(request.user, patient_id, action="write", resource="wearables")
    job = AppleHealthImport.objects.filter(pk=import_id, patient=patient).first()
    if job is None:
        raise Http404
    if not request.htmx:
        return redirect("staff_apple_health", patient_id=patient.pk)
    return _fragment(request, job, _staff_url(job), patient)
