"""Sections from clinical data: the patient header, vitals (with the Vitals tab's own chart specs),
labs and alerts."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

from django.db.models import Avg, Count, Max, Min
from django.db.models.functions import TruncMonth
from django.utils import timezone

from clinical.metrics import METRICS
from clinical.models import Alert, BloodTest, Interpretation, Observation
from clinical.observations import CATEGORY_LABELS
from clinical.views.observations import CHART_METRICS, chart_points, daily_resting_hr
from clinical.vitals_charts import Point, vitals_charts
from reports.sections.common import bounds, day_text, empty, moment_text, num

DECIMALS = {"weight": 1, "bmi": 1, "spo2": 1, "body_temperature": 1, "glucose": 0}


def patient_header(patient, start: date, end: date) -> dict:
    program = patient.program
    return {
        "name": patient.full_name,
        "mrn": patient.mrn,
        "dob": day_text(patient.date_of_birth),
        "age": patient.age,
        "sex": patient.get_sex_display(),
        "program": program.name if program else "",
        "timezone": str(patient.tz),
        "start": day_text(start),
        "end": day_text(end),
        "days": (end - start).days + 1,
        "generated": moment_text(timezone.now(), patient.tz),
    }


# Past this many days the graphs show one point per week (the mean, the week's range in the point): a
# year of daily markers is 1-2 px apart on a page and made the PDF several times slower to draw.
WEEKLY_AFTER_DAYS = 120


def weekly_points(points: list[Point]) -> list[Point]:
    """Readings (or daily means) as one point per local week: mean value(s), low/high and count."""
    weeks: dict = defaultdict(list)
    for p in points:
        day = p.at.date()
        weeks[day - timedelta(days=day.weekday())].append(p)
    out = []
    for monday in sorted(weeks):
        group = weeks[monday]
        values = [p.value for p in group]
        seconds = [p.value2 for p in group if p.value2 is not None]
        at = datetime.combine(monday + timedelta(days=3), time(12), tzinfo=group[0].at.tzinfo)
        out.append(
            Point(
                group[0].metric,
                at,
                sum(values) / len(values),
                sum(seconds) / len(seconds) if seconds else None,
                low=min(p.low if p.low is not None else p.value for p in group),
                high=max(p.high if p.high is not None else p.value for p in group),
                count=sum(p.count for p in group),
            )
        )
    return out


def vitals(patient, start: date, end: date) -> dict:
    first, after = bounds(patient, start, end)
    tz = patient.tz
    rows = Observation.objects.filter(patient_id=patient.pk, effective_at__lt=after)
    points = chart_points(rows, first, tz)  # the Vitals tab's reader: a dense metric is one point a day
    rhr_source = ""
    if not points.get("resting_heart_rate"):
        points["resting_heart_rate"], rhr_source = daily_resting_hr(patient, first, after)
    days = (end - start).days + 1
    if days > WEEKLY_AFTER_DAYS:
        points = {metric: weekly_points(p) for metric, p in points.items()}
    charts = [c for c in vitals_charts(points, tz, days, start=first, end=after) if not c["empty"]]
    if days > WEEKLY_AFTER_DAYS:
        for c in charts:
            c["note"] = (c["note"] + " " if c["note"] else "") + "One point per week (the week's mean)."
    valid = rows.filter(metric__in=CHART_METRICS, effective_at__gte=first).exclude(
        interpretation=Interpretation.INVALID
    )
    stats = {
        m: s
        for m, *s in valid.order_by()
        .values("metric")
        .annotate(n=Count("id"), mean=Avg("value"), low=Min("value"), high=Max("value"), mean2=Avg("value2"))
        .values_list("metric", "n", "mean", "low", "high", "mean2")
    }
    table = []
    for metric in CHART_METRICS:
        if metric not in stats:
            continue
        n, mean, low, high, mean2 = stats[metric]
        d = DECIMALS.get(metric, 0)
        mean_text = (
            f"{num(mean, d)}/{num(mean2)}" if metric == "blood_pressure" and mean2 is not None else f"{num(mean, d)}"
        )
        table.append(
            {
                "label": METRICS[metric].label,
                "unit": METRICS[metric].unit,
                "count": n,
                "mean": mean_text,
                "low": num(low, d),
                "high": num(high, d),
            }
        )
    bp_categories = Counter(
        dict(
            valid.filter(metric="blood_pressure")
            .exclude(category="")
            .order_by()
            .values_list("category")
            .annotate(n=Count("id"))
            .values_list("category", "n")
        )
    )
    categories = [
        {"label": label, "count": bp_categories[slug]}
        for slug, label in CATEGORY_LABELS["blood_pressure"].items()
        if bp_categories.get(slug)
    ]
    # Month by month (a year is 12 rows, never one row per reading: the graphs carry the detail).
    monthly: dict = defaultdict(dict)
    for row in (
        valid.filter(metric__in=("blood_pressure", "heart_rate", "weight", "spo2"))
        .annotate(month=TruncMonth("effective_at", tzinfo=tz))
        .order_by()
        .values("month", "metric")
        .annotate(mean=Avg("value"), mean2=Avg("value2"), n=Count("id"))
    ):
        monthly[row["month"]][row["metric"]] = row
    months = []
    for month in sorted(monthly):
        m = monthly[month]
        bp = m.get("blood_pressure")
        months.append(
            {
                "month": f"{month:%b %Y}",
                "bp": f"{num(bp['mean'])}/{num(bp['mean2'])}" if bp and bp["mean2"] is not None else "",
                "hr": num(m["heart_rate"]["mean"]) if "heart_rate" in m else None,
                "weight": num(m["weight"]["mean"], 1) if "weight" in m else None,
                "spo2": num(m["spo2"]["mean"], 1) if "spo2" in m else None,
                "readings": sum(r["n"] for r in m.values()),
            }
        )
    if not table and not charts:
        return empty("No valid readings in this period.")
    return {"charts": charts, "table": table, "bp_categories": categories, "months": months, "rhr_source": rhr_source}


def labs(patient, start: date, end: date) -> dict:
    first, after = bounds(patient, start, end)
    rows = []
    for t in BloodTest.objects.filter(patient_id=patient.pk, recorded_at__gte=first, recorded_at__lt=after).order_by(
        "test_name", "-recorded_at"
    ):
        flag = ""
        if t.reference_low is not None and t.value < t.reference_low:
            flag = "Low"
        elif t.reference_high is not None and t.value > t.reference_high:
            flag = "High"
        ref = ""
        if t.reference_low is not None or t.reference_high is not None:
            ref = (
                f"{t.reference_low if t.reference_low is not None else ''}–"
                f"{t.reference_high if t.reference_high is not None else ''}"
            )
        rows.append(
            {
                "test": t.test_name,
                "loinc": t.loinc,
                "value": f"{t.value:.4g}",
                "unit": t.unit,
                "reference": ref,
                "flag": flag,
                "when": day_text(t.recorded_at.astimezone(patient.tz)),
            }
        )
    if not rows:
        return empty("No lab results in this period.")
    return {"rows": rows, "flagged": sum(1 for r in rows if r["flag"])}


def alerts(patient, start: date, end: date) -> dict:
    first, after = bounds(patient, start, end)
    qs = Alert.objects.filter(patient_id=patient.pk, created_at__gte=first, created_at__lt=after)
    rows = [
        {
            "when": moment_text(a.created_at, patient.tz),
            "severity": a.get_severity_display(),
            "severity_key": a.severity,
            "title": a.title,
            "status": a.get_status_display(),
        }
        for a in qs.order_by("-created_at")[:200]
    ]
    if not rows:
        return empty("No alerts in this period.")
    counts = Counter(qs.values_list("severity", flat=True))
    return {
        "rows": rows,
        "total": qs.count(),
        "critical": counts.get("critical", 0),
        "warning": counts.get("warning", 0),
        "info": counts.get("info", 0),
        "open": qs.filter(status__in=Alert.OPEN).count(),
    }
