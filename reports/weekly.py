"""Weekly summaries (seed 003): per patient per program week (Monday to Sunday in the program's time
zone), composed from the report sections (adherence, exercise, vitals in range, alerts, nutrition),
stored as a snapshot and delivered to the patient (in-app and e-mail, a link only) and to the care team.

`summaries_due()` runs from the hourly beat task: on Monday (program time) it makes last week's summary
of every active patient who has none. One row per patient and week (a unique constraint), so running it
again, or in two workers at once, sends nothing twice."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from clinical.models import Interpretation, Observation
from messaging.notify import notify
from patients.care_team import care_team_for
from patients.models import Patient
from reports.models import WeeklySummary
from reports.sections import care as care_sections
from reports.sections import clinical as clinical_sections
from reports.sections import plain
from reports.sections.common import bounds, day_text

logger = logging.getLogger(__name__)


def week_of(day: date) -> date:
    """The Monday that starts `day`'s week."""
    return day - timedelta(days=day.weekday())


def last_week(patient) -> date:
    return week_of(patient.today) - timedelta(days=7)


# The week's exercise (care's rehab logs and daily scores, the same builder as the report's rehab section).
def exercise_week(patient, week_start: date) -> dict | None:
    return care_sections.rehab_data(patient, week_start, week_start + timedelta(days=6))


def vitals_in_range(patient, start: date, end: date) -> dict:
    first, after = bounds(patient, start, end)
    counts = dict(
        Observation.objects.filter(
            patient_id=patient.pk,
            effective_at__gte=first,
            effective_at__lt=after,
            metric__in=("blood_pressure", "glucose", "spo2", "weight", "heart_rate", "resting_heart_rate"),
        )
        .exclude(interpretation=Interpretation.INVALID)
        .order_by()
        .values_list("interpretation")
        .annotate(n=Count("id"))
        .values_list("interpretation", "n")
    )
    total = sum(counts.values())
    normal = counts.get(Interpretation.NORMAL, 0)
    return {"total": total, "in_range": normal, "percent": round(100 * normal / total) if total else None}


def compose(patient, week_start: date) -> dict:
    end = week_start + timedelta(days=6)
    meds = care_sections.medications(patient, week_start, end)
    alerts = clinical_sections.alerts(patient, week_start, end)
    food = care_sections.nutrition_section(patient, week_start, end)
    return plain(
        {
            "week_start": week_start.isoformat(),
            "week": f"{day_text(week_start)} – {day_text(end)}",
            "adherence": None
            if meds.get("empty")
            else {"percent": meds["percent"], "taken": meds["taken"], "due": meds["due"]},
            "exercise": exercise_week(patient, week_start),
            "vitals": vitals_in_range(patient, week_start, end),
            "alerts": None
            if alerts.get("empty")
            else {"total": alerts["total"], "critical": alerts["critical"], "open": alerts["open"]},
            "nutrition": None
            if food.get("empty")
            else {
                "logged_days": food["logged_days"],
                "sodium_over_days": food["sodium_over_days"],
                "mean_sodium": food["mean_sodium"],
            },
        }
    )


def summary_create(patient, week_start: date) -> WeeklySummary | None:
    """Make and deliver one week's summary; None if it exists already."""
    if WeeklySummary.objects.filter(patient=patient, week_start=week_start).exists():
        return None
    snapshot = compose(patient, week_start)
    try:
        with transaction.atomic():
            summary = WeeklySummary.objects.create(
                project=patient.project,
                patient=patient,
                program=patient.program,
                week_start=week_start,
                snapshot=snapshot,
                delivered_at=timezone.now(),
            )
            context = {"week": snapshot["week"]}
            key = f"weekly_summary:{summary.pk}"
            if patient.user_id:
                notify(
                    event_type="weekly_summary",
                    recipients=[patient.user],
                    context=context,
                    key=key,
                    patient=patient,
                    link=reverse("portal_weekly_summary", args=[summary.pk]),
                )
            team = [link.staff.user for link in care_team_for(patient)]
            if team:
                notify(
                    event_type="weekly_summary",
                    recipients=team,
                    context=context,
                    key=key,
                    patient=patient,
                    link=reverse("patient_reports", args=[patient.pk]),
                    channels=["in_app"],
                )
    except IntegrityError:
        return None  # another worker made it first
    return summary


def summaries_due(now=None, limit: int = 2000) -> int:
    """Last week's summary for active patients whose program it is Monday for and who have none yet."""
    now = now or timezone.now()
    made = 0
    patients = Patient.objects.filter(status=Patient.Status.ACTIVE, program__isnull=False).select_related(
        "program", "project", "user"
    )
    for patient in patients.iterator(chunk_size=500):
        local = now.astimezone(patient.tz).date()
        if local.weekday() != 0:
            continue
        week_start = week_of(local) - timedelta(days=7)
        try:
            if summary_create(patient, week_start) is not None:
                made += 1
        except Exception:  # noqa: BLE001 - one patient's failure must not stop everyone's summary
            logger.exception("Weekly summary for patient %s failed", patient.pk)
        if made >= limit:
            break
    return made
