"""Pages: the portal check-in (phone first), its result and consent settings; the wellness section
of the chart's Assessments tab (loaded into the tab, also reachable on its own).

Rows are loaded through mahalo.access (404 for missing and forbidden alike, reads audited); every
write is a call to assessments.wellness.services.
"""

from __future__ import annotations

import random

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.vary import vary_on_headers

from assessments.wellness import charts, services
from assessments.wellness.models import WellnessPreference, WellnessScore, WellnessSession
from mahalo import access, audit
from mahalo.decorators import permission_required
from patients import shell

SECTION_LIMIT = 30
SCALES = (("energy_level", "Energy", "Very low", "Very high"), ("stress_level", "Stress", "Calm", "Very stressed"),
          ("sleep_quality", "Last night's sleep", "Very poor", "Very good"),
          ("physical_comfort", "Body comfort", "In pain", "Comfortable"),
          ("social_connection", "Connected to others", "Alone", "Connected"))


# --- Portal -------------------------------------------------------------------------------------------

def _mood_from_post(post, prefix: str) -> dict | None:
    if not post.get(f"{prefix}_emotion") and not post.get(f"{prefix}_energy_level"):
        return None
    mood = {"emotional_state": {"primary": post.get(f"{prefix}_emotion", ""),
                                "intensity": post.get(f"{prefix}_intensity")},
            "notes": post.get(f"{prefix}_notes", "")}
    for name in services.MOOD_SCALES:
        mood[name] = post.get(f"{prefix}_{name}")
    return mood


@shell.portal_page
def portal_checkin(request: HttpRequest, patient) -> HttpResponse:
    pref = services.preference_for(patient)
    errors, typed = {}, {}
    if request.method == "POST":
        typed = request.POST
        try:
            session = services.session_create(
                patient=patient, actor=request.user, via="portal",
                kind=request.POST.get("kind") or WellnessSession.Kind.FULL,
                mood_before=_mood_from_post(request.POST, "before"), mood_after=_mood_from_post(request.POST, "after"),
                text=request.POST.get("text", ""), prompt=request.POST.get("prompt", ""),
                audio=request.FILES.get("audio"), image=request.FILES.get("image"), request=request)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return redirect("portal_wellness_session", session.pk)
    recent = list(access.scoped(request.user, WellnessSession.objects, "clinical", "read").filter(patient=patient)
                  .order_by("-created_at")[:5])
    return render(request, "assessments/wellness/portal_checkin.html", {
        "portal_nav": "wellness", "pref": pref, "errors": errors, "typed": typed,
        "prompt": typed.get("prompt") if typed else random.choice(services.PROMPTS),
        "emotions": services.EMOTIONS,
        "scales": [(name, label, low, high, typed.get(f"before_{name}") or 5) for name, label, low, high in SCALES],
        "recent": recent, "crisis": services.crisis_resources(patient),
        "audio_seconds": services.AUDIO_SECONDS}, status=400 if errors else 200)


@vary_on_headers("HX-Request")
@shell.portal_page
def portal_session(request: HttpRequest, patient, session_id) -> HttpResponse:
    session = access.load(request, WellnessSession.objects.filter(patient=patient).select_related(
        "score", "insight"), session_id, resource="clinical")
    context = {"portal_nav": "wellness", "session": session, "lines": services.supportive_summary(session),
               "crisis": services.crisis_resources(patient),
               "safety": bool(session.status == WellnessSession.Status.COMPLETED and getattr(session, "insight", None)
                              and any(c.get("category") == "safety" for c in session.insight.key_concerns))}
    template = "assessments/wellness/portal_session.html"
    return render(request, template + "#result" if request.htmx else template, context)


@shell.portal_page
def portal_settings(request: HttpRequest, patient) -> HttpResponse:
    pref = services.preference_for(patient)
    errors = {}
    if request.method == "POST":
        try:
            pref = services.consent_set(patient=patient, actor=request.user, request=request,
                                        frequency=request.POST.get("assessment_frequency") or None,
                                        **{m: request.POST.get(m) == "on" for m in services.MODALITIES})
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return redirect("portal_wellness")
    return render(request, "assessments/wellness/portal_settings.html", {
        "portal_nav": "wellness", "pref": pref, "errors": errors,
        "frequencies": WellnessPreference.Frequency.choices}, status=400 if errors else 200)


# --- Chart section -------------------------------------------------------------------------------------

@vary_on_headers("HX-Request")
@permission_required("clinical", "read")
def chart_section(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", "clinical")
    scores = list(access.scoped(request.user, WellnessScore.objects, "clinical").filter(patient=patient)
                  .select_related("session", "session__insight").order_by("-created_at")[:SECTION_LIMIT])
    sessions = list(access.scoped(request.user, WellnessSession.objects, "clinical").filter(patient=patient)
                    .exclude(status=WellnessSession.Status.COMPLETED).order_by("-created_at")[:5])
    audit.record(action="list", request=request, resource="clinical", patient=patient,
                 metadata={"event": "wellness_section", "count": len(scores)})
    from assessments.models import Response

    phq9s = list(access.scoped(request.user, Response.objects, "clinical").filter(
        patient=patient, questionnaire__code="44249-1", total__isnull=False).order_by("-submitted_at")[:6])
    latest = scores[0] if scores else None
    context = {"patient": patient, "scores": scores, "latest": latest, "unfinished": sessions, "phq9s": phq9s,
               "chart": (charts.trend(list(reversed(scores)), patient.tz, threshold=services.threshold(patient))
                         if scores else None),
               "modality_labels": charts.MODALITY_LABELS, "tzname": patient.tz.key}
    template = "assessments/wellness/chart_section.html"
    if request.htmx:
        return render(request, template, context)
    return render(request, "assessments/wellness/chart_section_page.html", context)
