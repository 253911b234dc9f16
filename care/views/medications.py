"""The chart's Medications tab: the list with adherence over 7/30 days, a daily adherence graph on
the shared chart stack, recent doses, adding a medication (allergy check) and stopping, holding or
resuming one. Views gate, call care.services.medications and render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from care.forms import MedicationForm
from care.models import Medication
from care.services import medications as services
from care.services.tasks import RESOURCE as R
from mahalo import access
from mahalo.charts import Axis, Chart, Series, Threshold, day_iso
from mahalo.decorators import permission_required
from patients import shell

RANGES = (7, 30)


def _days(request) -> int:
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        return 30
    return days if days in RANGES else 30


def adherence_chart(points, days: int) -> dict:
    """Daily % of doses taken: a day without a due dose is a gap, not 0."""
    known = [v for _, v in points if v is not None]
    return Chart(
        key="adherence", title="Doses taken", unit="%", x_kind="day",
        x_min=day_iso(points[0][0]), x_max=day_iso(points[-1][0]),
        series=[Series("taken", "Doses taken", [(day_iso(d), v) for d, v in points], kind="bar", color="blue")],
        thresholds=[Threshold(80, "80% (adherent)", "watch")],
        y=Axis(unit="%", begin_at_zero=True, decimals=0, min=0, max=100),
        summary=(f"Doses taken per day over {days} days: {len(known)} days with doses due"
                 + (f", lowest {min(known)}%." if known else ".")),
    ).as_dict()


def _context(request, patient, form=None) -> dict:
    days = _days(request)
    meds = services.active_medications(patient)
    overall7, per7 = services.adherence(patient, 7)
    overall30, per30 = services.adherence(patient, 30)
    points = services.daily_adherence(patient, days)
    rows = [{"med": m, "schedule": services.schedule_label(m), "a7": per7.get(m.pk), "a30": per30.get(m.pk),
             "allergy": services.allergy_matches(patient, m.name)} for m in meds]
    can_write = access.can(request.user, R, "write")
    return {
        "rows": rows, "overall7": overall7, "overall30": overall30, "days": days, "ranges": RANGES,
        "charts": [adherence_chart(points, days)] if any(v is not None for _, v in points) else [],
        "recent": services.recent_doses(patient), "can_write": can_write,
        "can_update": access.can(request.user, R, "update"),
        "form": form or (MedicationForm(patient=patient, initial={"start_date": patient.today}) if can_write else None),
        "tab_url": reverse("patient_medications", args=[patient.pk]), "tzname": str(patient.tz),
        "statuses": Medication.Status.choices,
    }


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def patient_medications(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    form, status = None, 200
    if request.method == "POST":
        patient = access.patient_for_request(request, patient_id, "write", R)
        form = MedicationForm(request.POST, patient=patient)
        if form.is_valid():
            try:
                med = services.medication_create(patient=patient, actor=request.user, data=form.to_input(),
                                                 request=request, via="chart")
            except ValidationError as exc:
                for name, errs in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errs)
            else:
                messages.success(request, f"{med.name} added.")
                return redirect(reverse("patient_medications", args=[patient.pk]))
        status = 400
    response = shell.render_chart(request, patient, "medications", _context(request, patient, form))
    response.status_code = status
    return response


@require_POST
@permission_required(R, "update")
def medication_status(request: HttpRequest, patient_id, medication_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", R)
    med = access.load(request, Medication.objects.filter(patient=patient), medication_id, resource=R,
                      action="update", via="patient")
    try:
        services.medication_set_status(medication=med, actor=request.user, status=request.POST.get("status", ""),
                                       reason=request.POST.get("reason", ""), request=request, via="chart")
    except ValidationError as exc:
        messages.error(request, " ".join(m for errs in exc.message_dict.values() for m in errs))
        response = shell.render_chart(request, patient, "medications", _context(request, patient))
        response.status_code = 400
        return response
    messages.success(request, f"{med.name}: {dict(Medication.Status.choices)[request.POST['status']].lower()}.")
    return redirect(reverse("patient_medications", args=[patient.pk]))
