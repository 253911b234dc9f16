"""Staff upload an Apple Health export for a patient (/patients/<uuid>/wearables/apple-health/)
and follow its progress. The patient's own upload is on the devices page (views/portal.py).
Both use the same form (wearables.forms) and the same service (wearables.apple_import)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required
from wearables import apple_import
from wearables.forms import AppleHealthForm, max_label
from wearables.models import AppleHealthImport


def staff_status_url(job) -> str:
    return reverse("staff_apple_health_status", args=[job.patient_id, job.pk])


def import_fragment(request, job, poll_url, patient) -> HttpResponse:
    """The progress fragment of one import (polled while it runs)."""
    job.poll_url = poll_url
    # Times in the patient's program time zone, as on the page that holds the fragment.
    with timezone.override(patient.tz):
        return render(request, "wearables/_apple_import.html", {"job": job})


def with_poll_urls(jobs, url_for) -> list[AppleHealthImport]:
    for job in jobs:
        job.poll_url = url_for(job)
    return jobs


@permission_required("wearables", "write")
@require_http_methods(["GET", "POST"])
def staff_apple_health(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, action="write", resource="wearables")
    form = AppleHealthForm()
    if request.method == "POST":
        form = AppleHealthForm(request.POST, request.FILES)
        if form.is_valid():
            apple_import.import_create(patient=patient, upload=form.cleaned_data["file"], actor=request.user,
                                       request=request)
            messages.success(request, f"The export is uploaded and is being imported into "
                                      f"{patient.display_name}'s record.")
            return redirect("staff_apple_health", patient_id=patient.pk)
    else:
        audit.record(request=request, action="read", resource="wearables", patient=patient,
                     metadata={"page": "apple_health_imports"})
    return render(request, "wearables/staff_apple_health.html", {
        "patient": patient, "form": form,
        "imports": with_poll_urls(apple_import.recent_imports(patient), staff_status_url),
        "max_label": max_label(),
    })


@vary_on_headers("HX-Request")
@permission_required("wearables", "write")
@require_GET
def staff_apple_health_status(request: HttpRequest, patient_id, import_id) -> HttpResponse:
    # The page load audited the read; a poll every 2 s would only flood the audit log.
    patient = access.get_patient_for(request.user, patient_id, action="write", resource="wearables")
    job = access.load(request, AppleHealthImport.objects.filter(patient=patient), import_id, resource="wearables",
                      action="write")
    if not request.htmx:
        return redirect("staff_apple_health", patient_id=patient.pk)
    return import_fragment(request, job, staff_status_url(job), patient)
