"""Alerts on the patient chart: open ones at the top of every tab (patients/views.py
`_chart`), and opened / closed ones on the timeline."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef

from clinical.alert_views import SEVERITY_ORDER
from clinical.models import Alert
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


def open_alert_counts(patient_ids) -> dict:
    """{patient id: open alerts} for one registry page, in one grouped query. (A correlated
    subquery on the list query ran once per row skipped by OFFSET: deep pages paid for every row.)"""
    return dict(Alert.objects.filter(patient_id__in=list(patient_ids), status__in=Alert.OPEN)
                .order_by().values("patient_id").annotate(n=Count("pk")).values_list("patient_id", "n"))


def has_open_alerts(queryset, value: str):
    """Registry filter `alerts=open`: patients with at least one open alert (one correlated EXISTS)."""
    if value != "open":
        raise ValueError("Unknown alert filter.")
    return queryset.filter(Exists(Alert.objects.filter(patient=OuterRef("pk"), status__in=Alert.OPEN).order_by()))
