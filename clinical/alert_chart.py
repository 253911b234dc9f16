"""Alerts on the patient chart: open ones at the top of every tab (patients/views.py
`_chart`), and opened / closed ones on the timeline."""

from __future__ import annotations

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
