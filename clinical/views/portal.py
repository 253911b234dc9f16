"""Portal pages of the clinical app: the patient records observations (/portal/vitals/,
"My readings") and reads their care team's recommendations (/portal/recommendations/).

The patient comes from `portal_page` (their own record, nothing else); writes go
through the same service as the chart and the API, with source "patient".
"""

from __future__ import annotations

from datetime import UTC

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from clinical import observations, recommendations
from clinical.forms import ObservationForm
from clinical.models import Observation, Source
from mahalo import access, audit
from patients.shell import portal_page

RECENT = 20


def _tz(patient):
    return patient.program.tz if patient.program_id else UTC


@portal_page
def portal_vitals(request: HttpRequest, patient) -> HttpResponse:
    # Through the gate like every other write (the patient's self permissions include clinical:write).
    patient = access.get_patient_for(request.user, patient.pk, "read", "clinical")
    tz = _tz(patient)
    form = ObservationForm(metrics=observations.PORTAL_METRICS, tz=tz, default_setting="home")
    status = 200
    if request.method == "POST":
        patient = access.get_patient_for(request.user, patient.pk, "write", "clinical")
        form = ObservationForm(request.POST, metrics=observations.PORTAL_METRICS, tz=tz, default_setting="home")
        recorded = None
        if form.is_valid():
            recorded = form.record(patient, actor=request.user, source=Source.PATIENT, request=request, via="portal")
        if recorded is not None:
            observations.decorate(recorded)
            if recorded.interpretation == "critical":  # the alarm box, not a green "Saved"
                return redirect(f"{reverse('portal_vitals')}?saved={recorded.pk}")
            text = f"Saved: {recorded.get_metric_display().lower()} {recorded.display} {recorded.unit_label}."
            if recorded.plain_category:
                text += f" {recorded.plain_category}."
            messages.success(request, text)
            return redirect("portal_vitals")
        form.mark_invalid()
        status = 400
    audit.record(request=request, action="read", resource="clinical", patient=patient,
                 metadata={"via": "portal", "page": "vitals"})
    recent = [observations.decorate(o) for o in
              access.scoped(request.user, Observation.objects, "clinical")
              .filter(patient_id=patient.pk, metric__in=observations.PORTAL_METRICS + ("bmi",))
              .order_by("-effective_at")[:RECENT]]
    crisis_obs, crisis = observations.saved_crisis(patient, request.GET.get("saved", ""))
    return render(request, "clinical/portal_vitals.html", {
        "crisis": crisis, "crisis_obs": crisis_obs,
        "patient": patient, "form": form, "unit_map": form.unit_map, "recent": recent,
        "recommendations": recommendations.active_for(patient)[:3], "tzname": tz.key if hasattr(tz, "key") else "UTC",
        "portal_nav": "vitals",
    }, status=status)


@portal_page
def portal_recommendations(request: HttpRequest, patient) -> HttpResponse:
    patient = access.get_patient_for(request.user, patient.pk, "read", "clinical")
    audit.record(request=request, action="read", resource="clinical", patient=patient,
                 metadata={"via": "portal", "page": "recommendations"})
    return render(request, "clinical/portal_recommendations.html", {
        "patient": patient, "groups": recommendations.by_domain(recommendations.active_for(patient)),
        "tzname": _tz(patient).key if patient.program_id else "UTC",
        "portal_nav": "recommendations",
    })


@portal_page
def portal_labs(request: HttpRequest, patient) -> HttpResponse:
    """The patient's lab results that a clinician released, with the reference range and plain words
    for in or out of range. Unreleased results are not shown (nor counted)."""
    from clinical import labs

    patient = access.get_patient_for(request.user, patient.pk, "read", "clinical")
    audit.record(request=request, action="read", resource="clinical", patient=patient,
                 metadata={"via": "portal", "page": "labs"})
    return render(request, "clinical/portal_labs.html", {
        "patient": patient, "groups": labs.released_results(patient),
        "tzname": _tz(patient).key if patient.program_id else "UTC", "portal_nav": "labs",
    })
