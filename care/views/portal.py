"""The portal's Today page (/portal/today/): a registry of sections (patients.shell.register_portal_today);
care contributes today's doses, other apps add their own. Marking a dose taken or skipped from it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from care.models import MedicationDose
from care.services import medications as services
from care.services.tasks import RESOURCE as R
from mahalo import access, audit
from patients import shell


def today_doses_context(request, patient) -> dict:
    doses = services.today_doses(patient)
    pending = [d for d in doses if d.status in (MedicationDose.Status.SCHEDULED, MedicationDose.Status.MISSED)]
    return {"today_doses": doses, "today_doses_pending": len(pending)}


@shell.portal_page
def portal_today(request: HttpRequest, patient) -> HttpResponse:
    context = {"patient": patient, "portal_nav": "today", "today": patient.today, "tzname": str(patient.tz)}
    context["sections"] = shell.blocks(shell.PORTAL_TODAY, request, patient, context)
    audit.record(request=request, action="read", resource=R, patient=patient,
                 metadata={"via": "portal", "page": "today"})
    return render(request, "care/portal_today.html", context)


@require_POST
@shell.portal_page
def portal_dose(request: HttpRequest, patient, dose_id) -> HttpResponse:
    dose = access.load(request, MedicationDose.objects.select_related("medication"), dose_id, resource=R,
                       action="write", via="patient", audit_read=False)
    try:
        dose = services.dose_log(dose=dose, actor=request.user, status=request.POST.get("status", ""), request=request,
                          via="portal")
    except ValidationError as exc:
        messages.error(request, f"{dose.medication.name}: " + " ".join(
            m for errs in exc.message_dict.values() for m in errs))
        context = {"patient": patient, "portal_nav": "today", "today": patient.today, "tzname": str(patient.tz)}
        context["sections"] = shell.blocks(shell.PORTAL_TODAY, request, patient, context)
        return render(request, "care/portal_today.html", context, status=400)
    word = "taken" if dose.status == MedicationDose.Status.TAKEN else "skipped"
    messages.success(request, f"{dose.medication.name} marked {word}.")
    return redirect("portal_today")
