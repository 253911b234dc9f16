"""What the clinical app shows on the patient chart besides its tabs (registered in
clinical/apps.py): open alerts above every tab and on the overview
(`chart_alerts_context`, a `patients.shell` header), and the timeline's entries for
alerts, recommendations and lab orders (`patients.timeline` sources, registered when
this module is imported)."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from clinical.models import Alert, LabOrder, Recommendation
from clinical.triage import SEVERITY_ORDER
from mahalo import access
from patients import timeline

CHART_LIMIT = 5


def chart_alerts_context(request, patient) -> dict:
    """The patient's open alerts, critical first (the view has already gated the patient)."""
    if not access.can(request.user, "clinical", "read"):
        return {"chart_alerts": []}
    rows = list(Alert.objects.filter(patient=patient, status__in=Alert.OPEN)
                .annotate(severity_rank=SEVERITY_ORDER).order_by("severity_rank", "created_at")[:CHART_LIMIT + 1])
    return {"chart_alerts": rows[:CHART_LIMIT], "chart_alerts_more": len(rows) > CHART_LIMIT}


# --- The chart header at a glance (issue 21 item 9) -------------------------------------------

GLANCE_METRICS = ("blood_pressure", "heart_rate", "spo2", "weight", "glucose", "body_temperature")


def _items(text: str) -> list[str]:
    """A free-text list (one per line, or separated by ; or ,) as items."""
    import re

    return [part.strip(" .-•") for part in re.split(r"[\n;]+|,(?![^()]*\))", text or "") if part.strip(" .-•")]


def _age(moment, now) -> str:
    seconds = max((now - moment).total_seconds(), 0)
    if seconds < 3600:
        return f"{max(int(seconds // 60), 1)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def chart_glance_context(request, patient) -> dict:
    """Allergies, problem list and the latest valid reading of each main vital with its category
    and age. Allergies and problems are part of the record (patients:read reaches every chart);
    vitals only for roles that read clinical data."""
    from django.utils import timezone

    from clinical.models import Interpretation, Observation
    from clinical.observations import decorate

    allergies = _items(patient.medication_allergies) + _items(patient.other_allergies)
    vitals = []
    if access.can(request.user, "clinical", "read"):
        now = timezone.now()
        rows = Observation.objects.filter(patient=patient).exclude(interpretation=Interpretation.INVALID)
        # One round trip: the latest id of each metric is an indexed LIMIT 1 subquery.
        latest = Q()
        for metric in GLANCE_METRICS:
            latest |= Q(pk__in=rows.filter(metric=metric).order_by("-effective_at").values("pk")[:1])
        found = {o.metric: o for o in Observation.objects.filter(latest)}
        for metric in GLANCE_METRICS:
            obs = found.get(metric)
            if obs is not None:
                decorate(obs)
                obs.age = _age(obs.effective_at, now)
                obs.stale = (now - obs.effective_at).days >= 7
                vitals.append(obs)
    return {"glance_allergies": allergies, "glance_problems": _items(patient.chronic_conditions),
            "glance_vitals": vitals}


@timeline.register
def _alert_entries(patient, before, limit):
    """Timeline: alerts opened, and resolved or dismissed (with who and the note)."""
    out = []
    opened = Alert.objects.filter(patient=patient, created_at__lt=before).order_by("-created_at")[:limit]
    for a in opened:
        out.append(timeline.Entry(a.created_at, "alert", f"Alert ({a.get_severity_display().lower()}): {a.title}",
                                  a.body, "Rules engine"))
    closed = (Alert.objects.filter(patient=patient, closed_at__lt=before).select_related("closed_by")
              .order_by("-closed_at")[:limit])
    for a in closed:
        who = a.closed_by.get_full_name() if a.closed_by else "System"
        out.append(timeline.Entry(a.closed_at, "alert", f"Alert {a.get_status_display().lower()}: {a.title}",
                                  a.closed_note, who))
    return out


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


def open_alerts_annotation():
    """Registry column: a patient's open alerts, as a correlated subquery on the page's rows."""
    return Coalesce(Subquery(Alert.objects.filter(patient=OuterRef("pk"), status__in=Alert.OPEN).order_by()
                             .values("patient").annotate(n=Count("pk")).values("n")[:1]), 0)


def open_alerts_cell(value, row) -> str:
    if not value:
        return mark_safe('<td class="num"><span class="muted">—</span></td>')
    return format_html('<td class="num"><a class="badge badge-danger" href="{}?patient={}">{}'
                       '<span class="visually-hidden"> open alert{}</span></a></td>',
                       reverse("alert_queue"), row["id"], value, pluralize(value))


def has_open_alerts(queryset, value: str):
    """Registry filter `alerts=open`: patients with at least one open alert (one correlated EXISTS)."""
    if value != "open":
        raise ValueError("Unknown alert filter.")
    return queryset.filter(Exists(Alert.objects.filter(patient=OuterRef("pk"), status__in=Alert.OPEN).order_by()))
