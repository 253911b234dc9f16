"""Sections from the apps above clinical: wearable trends, medications and adherence, nutrition,
questionnaire scores, the care plan, visit notes and rehab progress. Charts come from the apps' own
chart producers (the same specs their tabs draw), or are built here with `mahalo.charts` when no tab
draws that data yet (adherence, questionnaire totals)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.utils import timezone

from assessments.models import Response
from care.models import CarePlan, DailyScore, ExerciseLog, ExercisePrescription, Medication, MedicationDose
from care.services.medications import schedule_label
from care.services.rehab import plain_words
from mahalo.charts import Axis, Chart, Series, Threshold, day_iso, time_iso
from nutrition import services as nutrition
from nutrition.charts import nutrition_charts
from reports.sections.common import bounds, day_text, empty, moment_text
from scheduling.models import Visit
from wearables import charts as wearable_charts
from wearables import daily

# A day of nutrition overview costs a dict per day: a report longer than this summarises the last part.
NUTRITION_MAX_DAYS = 90


def wearables(patient, start: date, end: date) -> dict:
    settings = daily.settings_for(patient)
    series = daily.daily_series(patient, start, end, settings=settings)
    specs = [s for s in wearable_charts.chart_specs(series, baseline_days=settings.baseline_days) if not s["empty"]]
    table = []
    for metric in ("hrv", "resting_hr", "sleep", "steps"):
        main = series.get(metric)
        present = main.present if main is not None else []
        if not present:
            continue
        values = [p.value for p in present]
        table.append(
            {
                "label": wearable_charts.TITLES[metric],
                "days": len(present),
                "mean": wearable_charts.format_value(metric, sum(values) / len(values)),
                "low": wearable_charts.format_value(metric, min(values)),
                "high": wearable_charts.format_value(metric, max(values)),
                "sources": ", ".join(sorted({p.source_label for p in present if p.source})),
            }
        )
    if not specs and not table:
        return empty("No wearable data in this period.")
    return {"charts": specs, "table": table, "days": (end - start).days + 1}


def medications(patient, start: date, end: date) -> dict:
    meds = list(
        Medication.objects.filter(patient_id=patient.pk, start_date__lte=end)
        .exclude(end_date__lt=start)
        .order_by("name")
    )
    now = timezone.now()
    # The adherence rule of care.services.medications.adherence, over the report's own days: only doses
    # whose outcome is known (taken, skipped, missed) count.
    doses = (
        MedicationDose.objects.filter(
            patient_id=patient.pk, local_date__gte=start, local_date__lte=end, scheduled_at__lte=now
        )
        .exclude(status=MedicationDose.Status.SCHEDULED)
        .values_list("medication_id", "local_date", "status")
    )
    per: dict = defaultdict(lambda: {"due": 0, "taken": 0, "skipped": 0, "missed": 0})
    per_day: dict = defaultdict(lambda: [0, 0])
    for med_id, day, status in doses.iterator(chunk_size=5000):
        per[med_id]["due"] += 1
        per[med_id][status] += 1
        per_day[day][0] += 1
        per_day[day][1] += status == MedicationDose.Status.TAKEN
    rows = []
    for m in meds:
        a = per.get(m.pk, {"due": 0, "taken": 0, "skipped": 0, "missed": 0})
        rows.append(
            {
                "name": m.name,
                "dose": f"{m.dose.normalize():f} {m.dose_unit}".strip() if m.dose else m.dose_unit,
                "schedule": schedule_label(m),
                "status": m.get_status_display(),
                **a,
                "percent": round(100 * a["taken"] / a["due"]) if a["due"] else None,
            }
        )
    due = sum(r["due"] for r in rows)
    taken = sum(r["taken"] for r in rows)
    if not rows:
        return empty("No medications in this period.")
    charts = []
    if per_day:
        # Seven-day adherence, one point a day: a single missed dose doesn't draw a cliff.
        # Past four months, one point a week (the line carries the trend; daily markers would crowd).
        step = 7 if (end - start).days + 1 > 120 else 1
        points, window = [], []
        day = start
        while day <= end:
            window.append(per_day.get(day, [0, 0]))
            window = window[-7:]
            d, t = sum(w[0] for w in window), sum(w[1] for w in window)
            if step == 1 or day.weekday() == 6 or day == end:
                points.append((day_iso(day), round(100 * t / d) if d else None))
            day += timedelta(days=1)
        charts.append(
            Chart(
                key="adherence",
                title="Medication adherence",
                unit="%",
                x_kind="day",
                x_min=day_iso(start),
                x_max=day_iso(end),
                series=[Series("adherence", "Doses taken, last 7 days", points, color="teal")],
                thresholds=[Threshold(80, "80 % (a common adherence target)", "watch")],
                y=Axis(unit="%", min=0, max=100),
                note="Doses still within their grace period are not counted.",
                summary=f"Medication adherence: {round(100 * taken / due) if due else 0} % of {due} known doses taken.",
            ).as_dict()
        )
    return {
        "rows": rows,
        "due": due,
        "taken": taken,
        "percent": round(100 * taken / due) if due else None,
        "charts": charts,
    }


def nutrition_section(patient, start: date, end: date) -> dict:
    if not nutrition.feature_on(patient.project):
        return empty("Food tracking is off for this clinic.")
    days = min((end - start).days + 1, NUTRITION_MAX_DAYS)
    overview = nutrition.days_overview(patient, days, end=end)
    if not overview["logged_days"] and not any(r["fluid_ml"] for r in overview["rows"]):
        return empty("No meals or drinks logged in this period.")
    target = overview["target"]
    return {
        "charts": nutrition_charts(overview),
        "days": days,
        "logged_days": overview["logged_days"],
        "adherence_pct": overview["adherence_pct"],
        "mean_energy": overview["mean_energy"],
        "mean_sodium": overview["mean_sodium"],
        "mean_fluid": overview["mean_fluid"],
        "sodium_over_days": overview["sodium_over_days"],
        "sodium_target": target.sodium_mg if target else None,
        "partial": days < (end - start).days + 1,
    }


def questionnaires(patient, start: date, end: date) -> dict:
    first, after = bounds(patient, start, end)
    tz = patient.tz
    responses = list(
        Response.objects.filter(patient_id=patient.pk, submitted_at__gte=first, submitted_at__lt=after)
        .select_related("questionnaire")
        .order_by("submitted_at")
    )
    if not responses:
        return empty("No questionnaires answered in this period.")
    rows = [
        {
            "name": r.questionnaire.name,
            "when": moment_text(r.submitted_at, tz),
            "total": f"{r.total:g}" if r.total is not None else "Incomplete",
            "severity": r.severity.replace("_", " "),
            "safety": r.safety_flag,
        }
        for r in reversed(responses)
    ]
    by_name: dict = defaultdict(list)
    for r in responses:
        if r.total is not None:
            by_name[r.questionnaire.name].append((time_iso(r.submitted_at, tz), r.total))
    charts = []
    for i, (name, points) in enumerate(sorted(by_name.items())):
        if len(points) < 2:
            continue
        charts.append(
            Chart(
                key=f"questionnaire_{i}",
                title=f"{name} total",
                x_kind="time",
                x_min=time_iso(first, tz),
                x_max=time_iso(after, tz),
                series=[Series(f"q{i}", "Total score", points, color="violet")],
                y=Axis(begin_at_zero=True),
                summary=f"{name}: {len(points)} scored responses, latest {points[-1][1]:g}.",
            ).as_dict()
        )
    return {"rows": rows[:100], "count": len(rows), "charts": charts}


def care_plan(patient, start: date, end: date) -> dict:
    plans = list(
        CarePlan.objects.filter(patient_id=patient.pk, start_date__lte=end, end_date__gte=start)
        .prefetch_related("goals")
        .order_by("-start_date")
    )
    if not plans:
        return empty("No care plan in this period.")
    out = []
    for plan in plans:
        phases = [
            {
                "name": p.get("name", ""),
                "start": day_text(date.fromisoformat(p["start"])),
                "end": day_text(date.fromisoformat(p["end"])),
                "criteria": p.get("criteria", ""),
            }
            for p in plan.phases
            if p.get("start") and p.get("end")
        ]
        goals = [
            {
                "title": g.title,
                "status": g.get_status_display(),
                "baseline": g.baseline_value,
                "target": g.target_value,
                "current": g.current_value,
                "unit": g.unit,
                "progress": g.progress,
                "due": day_text(g.due_date),
            }
            for g in plan.goals.all()
        ]
        out.append(
            {
                "name": plan.name,
                "status": plan.get_status_display(),
                "start": day_text(plan.start_date),
                "end": day_text(plan.end_date),
                "phases": phases,
                "goals": goals,
            }
        )
    return {"plans": out}


def visits(patient, start: date, end: date) -> dict:
    first, after = bounds(patient, start, end)
    rows = [
        {
            "when": moment_text(v.starts_at, patient.tz),
            "type": v.get_visit_type_display(),
            "mode": v.get_mode_display(),
            "status": v.get_status_display(),
            "clinician": v.staff.user.get_full_name() if v.staff_id else "",
            "reason": v.reason[:300],
            "notes": v.notes[:2000],
        }
        for v in Visit.objects.filter(patient_id=patient.pk, starts_at__gte=first, starts_at__lt=after)
        .select_related("staff__user")
        .order_by("-starts_at")[:60]
    ]
    if not rows:
        return empty("No visits in this period.")
    return {"rows": rows}


# --- Rehab progress ---------------------------------------------------------------------------------
# care's rehab rows: exercise logs (sessions and minutes per week), daily scores (the week's mean) and the
# prescriptions in force, in three queries whatever the period.


def rehab_data(patient, start: date, end: date) -> dict | None:
    logs = list(ExerciseLog.objects.filter(patient_id=patient.pk, local_date__gte=start, local_date__lte=end)
                .order_by().values_list("local_date", "duration_min", "symptomatic"))
    scores = list(DailyScore.objects.filter(patient_id=patient.pk, date__gte=start, date__lte=end,
                                            overall__isnull=False).order_by().values_list("date", "overall"))
    prescriptions = [{"name": rx.exercise.name, "target": plain_words(rx, end)}
                     for rx in ExercisePrescription.objects.filter(patient_id=patient.pk,
                                                                   status=ExercisePrescription.Status.ACTIVE)
                     .select_related("exercise")]
    if not logs and not scores and not prescriptions:
        return None
    weeks: dict[date, dict] = defaultdict(lambda: {"sessions": 0, "minutes": 0.0, "scores": [], "symptoms": 0})
    for day, minutes, symptomatic in logs:
        w = weeks[day - timedelta(days=day.weekday())]
        w["sessions"] += 1
        w["minutes"] += minutes or 0
        w["symptoms"] += int(symptomatic)
    for day, overall in scores:
        weeks[day - timedelta(days=day.weekday())]["scores"].append(overall)
    rows = [{"week": day_text(monday), "sessions": w["sessions"], "minutes": round(w["minutes"]),
             "score": round(sum(w["scores"]) / len(w["scores"])) if w["scores"] else None,
             "symptoms": w["symptoms"]} for monday, w in sorted(weeks.items())]
    return {"weeks": rows, "sessions": len(logs), "minutes": round(sum(m or 0 for _, m, _ in logs)),
            "prescriptions": prescriptions}


def rehab(patient, start: date, end: date) -> dict:
    data = rehab_data(patient, start, end)
    if not data:
        return empty("No rehab data recorded in this period.")
    return data
