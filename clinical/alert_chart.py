"""The alert page's graph: the patient's readings of the alert's measure around the
window the rule looked at, with the readings that fired it marked (issue 21 item 8).

One spec on the shared chart stack (`mahalo.charts`): a quiet line of every valid
reading in the span, the readings behind the alert as alarm-coloured points (the
other rules of the same problem too, see clinical/rules.py), and the rule's
threshold(s) as dashed lines. A `missing` rule has nothing to draw (None).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from clinical.metrics import METRICS
from clinical.models import Alert, Observation
from mahalo.charts import Axis, Chart, Series, Threshold, time_iso

MAX_POINTS = 1500
CONTEXT_DAYS = 7  # how far before the rule's window the graph starts: what "usual" looked like


def _moment(raw) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
    return value if timezone.is_aware(value) else None


def _metric(alert: Alert) -> str:
    code = alert.rule.metric if alert.rule_id and alert.rule else ""
    if not code:
        readings = (alert.evidence or {}).get("readings") or []
        code = readings[0].get("metric", "") if readings else ""
    return "blood_pressure" if code in ("bp_systolic", "bp_diastolic") else code


def evidence_readings(alert: Alert) -> list[dict]:
    """The readings behind the alert: its own rule's, then the other rules' of its problem."""
    evidence = alert.evidence or {}
    rows = list(evidence.get("readings") or [])
    for side in (evidence.get("also") or {}).values():
        rows.extend(side.get("readings") or [])
    return rows


def alert_chart(alert: Alert, *, now: datetime | None = None) -> dict | None:
    metric = _metric(alert)
    if metric not in METRICS:
        return None
    tz = alert.patient.tz
    evidence = alert.evidence or {}
    fired = [(at, r) for r in evidence_readings(alert) if (at := _moment(r.get("at"))) is not None]
    now = now or timezone.now()
    starts = [m for m in (_moment(evidence.get("window_start")),) if m] + [at for at, _ in fired]
    start = (min(starts) if starts else now - timedelta(days=7)) - timedelta(days=CONTEXT_DAYS)
    end = max([now, *(at for at, _ in fired)])
    rows = list(Observation.objects.filter(patient_id=alert.patient_id, metric=metric, effective_at__gte=start,
                                           effective_at__lte=end)
                .exclude(interpretation="invalid").exclude(context="cuffless" if metric == "blood_pressure" else "-")
                .order_by("effective_at").only("effective_at", "value", "value2")[:MAX_POINTS])
    unit = METRICS[metric].unit
    bp = metric == "blood_pressure"
    label = METRICS[metric].label
    series = [Series(metric, "Systolic" if bp else label, [(time_iso(r.effective_at, tz), r.value) for r in rows],
                     color="navy")]
    if bp:
        series.append(Series("diastolic", "Diastolic", [(time_iso(r.effective_at, tz), r.value2) for r in rows
                                                         if r.value2 is not None], color="gray", dash=True))
    fired.sort(key=lambda item: item[0])
    marks = [(time_iso(at, tz), r.get("value")) for at, r in fired if isinstance(r.get("value"), int | float)]
    series.append(Series("fired", "Fired this alert", marks, kind="points", color="alert",
                         notes=[["behind this alert" + (f" ({r.get('context')})" if r.get("context") else "")]
                                for _at, r in fired if isinstance(r.get("value"), int | float)]))
    numbers = evidence.get("numbers") or {}
    thresholds = []
    if isinstance(numbers.get("threshold"), int | float) and "threshold_pct" not in numbers:
        thresholds.append(Threshold(numbers["threshold"], f"Rule threshold {numbers['threshold']:g}", "alert"))
    if isinstance(numbers.get("value2_threshold"), int | float):
        thresholds.append(Threshold(numbers["value2_threshold"],
                                    f"Diastolic threshold {numbers['value2_threshold']:g}", "gray"))
    n = len(marks)
    summary = (f"{label}: {len(rows)} readings from {start.astimezone(tz):%b} {start.astimezone(tz).day} to "
               f"{end.astimezone(tz):%b} {end.astimezone(tz).day}; {n} of them fired this alert.")
    return Chart(key="alert-readings", title=f"{label} around this alert", unit=unit, x_kind="time",
                 x_min=time_iso(start, tz), x_max=time_iso(end, tz), series=series, y=Axis(unit=unit),
                 thresholds=thresholds, summary=summary,
                 note="Red points: the readings the rule fired on. The line: every valid reading in the span "
                      "(cuffless blood pressure is left out, as the rules do).").as_dict()
