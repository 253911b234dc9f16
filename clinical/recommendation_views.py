"""The chart's Recommendations tab (/patients/<uuid>/recommendations/): staff with
clinical:write add recommendations by domain and retire them; the patient sees the
active ones in the portal (clinical/portal_vitals.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from clinical import recommendations
from clinical.models import Recommendation
from mahalo import access
from mahalo.decorators import permission_required
from patients import shell


class RecommendationForm(forms.Form):
    domain = forms.ChoiceField(label="Domain", choices=[("", "Choose…"), *Recommendation.Domain.choices])
    content = forms.CharField(label="Recommendation", max_length=recommendations.MAX_LENGTH,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="Written for the patient: they read it in their portal.")


def _grouped(rows):
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r.domain, []).append(r)
    return [(label, groups[code]) for code, label in Recommendation.Domain.choices if code in groups]


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
    rows = list(Recommendation.objects.filter(patient_id=patient.pk).select_related("created_by")
                .order_by("-created_at"))
    context = {"active_groups": _grouped([r for r in rows if r.is_active]),
               "retired": [r for r in rows if not r.is_active], "form": form, "can_write": can_write,
               "tzname": str(patient.tz)}
    response = shell.render_chart(request, patient, "recommendations", context)
    response.status_code = status
    return response


@require_POST
@permission_required("clinical", "write")
def recommendation_retire(request: HttpRequest, patient_id, recommendation_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", "clinical")
    rec = Recommendation.objects.filter(pk=recommendation_id, patient_id=patient.pk).first()
    if rec is None:
        raise Http404
    recommendations.recommendation_retire(recommendation=rec, actor=request.user, request=request)
    messages.success(request, "Recommendation retired: the patient no longer sees it.")
    return redirect(reverse("patient_recommendations", args=[patient.pk]))
