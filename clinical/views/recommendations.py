"""The chart's Recommendations tab (/patients/<uuid>/recommendations/): staff with
clinical:write add recommendations by domain and retire them; the patient sees the
active ones in the portal (clinical/views/portal.py)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from clinical import recommendations
from clinical.forms import RecommendationForm
from mahalo import access, confirm
from mahalo.decorators import permission_required
from patients import shell


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("patients", "read")
@permission_required("clinical", "read")
def patient_recommendations(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", "clinical")  # audited read
    can_write = access.can(request.user, "clinical", "write", patient)
    form = RecommendationForm() if can_write else None
    status = 200
    if request.method == "POST":
        if not can_write:
            raise Http404
        form = RecommendationForm(request.POST)
        if form.is_valid():
            try:
                recommendations.recommendation_add(patient=patient, domain=form.cleaned_data["domain"],
                                                   content=form.cleaned_data["content"], actor=request.user,
                                                   request=request)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Recommendation added. The patient sees it in their portal.")
                return redirect("patient_recommendations", patient.pk)
        status = 400 if not request.htmx else 200
    rows = recommendations.for_patient(patient)
    context = {"active_groups": recommendations.by_domain([r for r in rows if r.is_active]),
               "retired": [r for r in rows if not r.is_active], "form": form, "can_write": can_write,
               "tzname": str(patient.tz)}
    response = shell.render_chart(request, patient, "recommendations", context)
    response.status_code = status
    return response


@require_POST
@permission_required("clinical", "write")
def recommendation_retire(request: HttpRequest, patient_id, recommendation_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", "clinical")
    rec = recommendations.recommendation_for(request, patient, recommendation_id, action="write")
    back = reverse("patient_recommendations", args=[patient.pk])
    if not confirm.confirmed(request):
        return confirm.ask(request, title="Retire this recommendation?", thing=rec.content[:200],
                           consequence=f"{patient.full_name} no longer sees it in their portal.",
                           undo="You can reinstate it from the retired list.", button="Yes, retire it",
                           cancel_url=back)
    recommendations.recommendation_retire(recommendation=rec, actor=request.user, request=request)
    messages.success(request, f"Recommendation retired: {patient.full_name} no longer sees it. "
                              "Reinstate it from “Retired” below to undo.")
    return redirect(back)


@require_POST
@permission_required("clinical", "write")
def recommendation_reinstate(request: HttpRequest, patient_id, recommendation_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", "clinical")
    rec = recommendations.recommendation_for(request, patient, recommendation_id, action="write")
    recommendations.recommendation_reinstate(recommendation=rec, actor=request.user, request=request)
    messages.success(request, f"Recommendation reinstated: {patient.full_name} sees it again.")
    return redirect(reverse("patient_recommendations", args=[patient.pk]))
