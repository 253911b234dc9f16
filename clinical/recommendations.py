"""Clinician recommendations by domain (ma_recommendations 000), shown to the patient
in the portal with author and date. Retiring one hides it from the patient and keeps
it (with its history) on the chart. Both writes are audited.

Also the timeline sources of this part of the clinical app: recommendations given
and retired, lab orders placed, completed and cancelled.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from clinical.models import LabOrder, Recommendation
from mahalo import audit
from patients import timeline

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


def _name(user) -> str:
    return (user.get_full_name() or user.email) if user else "System"


@timeline.register
def _recommendations(patient, before, limit):
    out = []
    rows = (Recommendation.objects.filter(patient=patient, created_at__lt=before).select_related("created_by")
            .order_by("-created_at")[:limit])
    for r in rows:
        out.append(timeline.Entry(r.created_at, "recommendation", f"Recommendation: {r.get_domain_display()}",
                                  r.content[:200], _name(r.created_by)))
    retired = (Recommendation.objects.filter(patient=patient, is_active=False, updated_at__lt=before)
               .order_by("-updated_at")[:limit])
    for r in retired:
        out.append(timeline.Entry(r.updated_at, "recommendation", f"Recommendation retired: {r.get_domain_display()}",
                                  r.content[:120]))
    return out


@timeline.register
def _lab_orders(patient, before, limit):
    out = []
    rows = (LabOrder.objects.filter(patient=patient, ordered_at__lt=before).select_related("ordered_by")
            .order_by("-ordered_at")[:limit])
    for o in rows:
        tests = ", ".join(o.tests)
        out.append(timeline.Entry(o.ordered_at, "lab", f"Lab order: {tests}", o.notes[:200], _name(o.ordered_by)))
    closed = (LabOrder.objects.filter(patient=patient, status__in=[LabOrder.Status.COMPLETED,
                                                                   LabOrder.Status.CANCELLED],
                                      updated_at__lt=before).order_by("-updated_at")[:limit])
    for o in closed:
        when = o.completed_at or o.updated_at
        if when >= before:
            continue
        title = "Lab results received" if o.status == LabOrder.Status.COMPLETED else "Lab order cancelled"
        out.append(timeline.Entry(when, "lab", f"{title}: {', '.join(o.tests)}", o.cancelled_reason[:200]))
    return out
