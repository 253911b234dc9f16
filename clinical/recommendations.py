"""Clinician recommendations by domain (ma_recommendations 000), shown to the patient
in the portal with author and date. Retiring one hides it from the patient and keeps
it (with its history) on the chart. Both writes are audited.

Reads take a patient the caller has already gated (`access.patient_for_request`);
one recommendation by id comes through `recommendation_for` (the gate's `access.load`).
Their timeline entries are in clinical/chart.py.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from clinical.models import Recommendation
from mahalo import access, audit

MAX_LENGTH = 4000


def recommendation_add(*, patient, domain: str, content: str, actor, request=None) -> Recommendation:
    content = (content or "").strip()
    errors = {}
    if domain not in Recommendation.Domain.values:
        errors["domain"] = ["Choose a domain."]
    if not content:
        errors["content"] = ["Write the recommendation."]
    elif len(content) > MAX_LENGTH:
        errors["content"] = [f"Keep it under {MAX_LENGTH} characters."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rec = Recommendation.objects.create(project_id=patient.project_id, patient=patient,
                                            program_id=patient.program_id, domain=domain, content=content,
                                            created_by=actor)
        audit.record(action="write", request=request, actor=actor, resource="clinical", patient=patient,
                     object_id=rec.pk, metadata={"event": "recommendation_add", "domain": domain})
    return rec


def recommendation_retire(*, recommendation: Recommendation, actor, request=None) -> Recommendation:
    with transaction.atomic():
        rec = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
        if not rec.is_active:
            return rec
        rec.is_active = False
        rec._change_reason = f"retired by {actor.get_full_name() or actor.email}"[:100]
        rec.save()
        audit.record(action="update", request=request, actor=actor, resource="clinical", patient=rec.patient,
                     object_id=rec.pk, metadata={"event": "recommendation_retire", "domain": rec.domain})
    return rec


def recommendation_reinstate(*, recommendation: Recommendation, actor, request=None) -> Recommendation:
    """Undo a retirement: the patient sees it again (issue 21 item 11, undo where cheap)."""
    with transaction.atomic():
        rec = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
        if rec.is_active:
            return rec
        rec.is_active = True
        rec._change_reason = f"reinstated by {actor.get_full_name() or actor.email}"[:100]
        rec.save()
        audit.record(action="update", request=request, actor=actor, resource="clinical", patient=rec.patient,
                     object_id=rec.pk, metadata={"event": "recommendation_reinstate", "domain": rec.domain})
    return rec


def for_patient(patient) -> list[Recommendation]:
    """All of a (gated) patient's recommendations, newest first, with their authors."""
    return list(Recommendation.objects.filter(patient_id=patient.pk).select_related("created_by")
                .order_by("-created_at"))


def active_for(patient) -> list[Recommendation]:
    """What the patient reads in their portal: the active ones, newest first."""
    return list(Recommendation.objects.filter(patient_id=patient.pk, is_active=True).select_related("created_by")
                .order_by("-created_at"))


def by_domain(rows) -> list[tuple[str, list[Recommendation]]]:
    """[(domain label, rows)] in the domains' order, empty domains left out."""
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r.domain, []).append(r)
    return [(label, groups[code]) for code, label in Recommendation.Domain.choices if code in groups]


def recommendation_for(request, patient, recommendation_id, *, action: str = "read") -> Recommendation:
    """One of this patient's recommendations through the gate: 404 for another patient's,
    a missing or a malformed id alike."""
    return access.load(request, Recommendation.objects.filter(patient_id=patient.pk), recommendation_id,
                       resource="clinical", action=action)
