"""Patient-reported sleep and the daily score (DailyScores 004).

The daily score is a transparent composition: medication adherence, exercise against the
prescription, sodium/fluid against the targets, sleep, vitals in range. Each component is 0-100
with the facts behind it ("3 of 4 doses taken"); a component without data is shown as "not counted"
and the others' weights are renormalised (a day without meals logged is not a bad nutrition day).
The weights are a program setting (`care.daily_score_weights`, JSON, e.g. {"medication": 30, ...}).
`week_scores` is the plain service the weekly summary (reports) calls."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from care.models import DailyScore, ExerciseLog, MedicationDose, SleepLog
from care.services import rehab
from mahalo import audit, config

WEIGHTS_SETTING = "care.daily_score_weights"
DEFAULT_WEIGHTS = {"medication": 30, "exercise": 25, "nutrition": 15, "sleep": 15, "vitals": 15}
LABELS = {"medication": "Medications", "exercise": "Exercise", "nutrition": "Sodium and fluid",
          "sleep": "Sleep", "vitals": "Vitals in range"}
GOOD, POOR = 80, 60
SLEEP_HOURS_FULL = 7.0
SCORE_METRICS_EXCLUDED = {"workout", "steps", rehab.CHEST_PAIN_METRIC, rehab.HR_OVER_METRIC}


# --- Sleep ------------------------------------------------------------------------------------

@transaction.atomic
def sleep_log(*, patient, actor, night: date | None, quality: int | None, interruptions: int | None = 0,
              hours: float | None = None, notes: str = "", request=None, via: str = "") -> SleepLog:
    """The patient's own account of a night (one per night; logging again corrects it)."""
    errors: dict[str, list[str]] = {}
    if night is None or night > patient.today or night < patient.today - timedelta(days=14):
        errors["night"] = ["A night in the last two weeks."]
    if quality is None or not 1 <= quality <= 5:
        errors["quality"] = ["Choose how well you slept, 1 to 5."]
    if interruptions is not None and not 0 <= interruptions <= 30:
        errors["interruptions"] = ["Between 0 and 30."]
    if hours is not None and not 0 <= hours <= 24:
        errors["hours"] = ["Between 0 and 24 hours."]
    if errors:
        raise ValidationError(errors)
    row, created = SleepLog.objects.update_or_create(
        patient=patient, night=night,
        defaults={"project_id": patient.project_id, "quality": quality, "interruptions": interruptions or 0,
                  "hours": hours, "notes": (notes or "").strip()[:1000], "logged_by": actor})
    audit.record(action="write" if created else "update", request=request, actor=actor, resource="care.sleep_log",
                 patient=patient, object_id=row.pk, metadata={"event": "sleep_logged", "via": via})
    return row


def device_sleep(patient, nights: list[date]) -> dict:
    """{night: hours} from the wearables' daily summaries (best-known source per day), shown beside
    the patient's own log, never merged into it."""
    from wearables.models import DailyMetric

    out: dict = {}
    for day, hours in (DailyMetric.objects.filter(patient=patient, date__in=nights, sleep_hours__isnull=False)
                       .order_by("date", "source").values_list("date", "sleep_hours")):
        out.setdefault(day, round(hours, 1))
    return out


# --- The score --------------------------------------------------------------------------------

def weights_for(patient) -> dict[str, float]:
    raw = config.get_setting(WEIGHTS_SETTING, kind=dict, default=None, program=patient.program,
                             project=patient.project)
    if isinstance(raw, dict):
        try:
            weights = {k: float(raw.get(k, 0)) for k in DEFAULT_WEIGHTS}
        except (TypeError, ValueError):
            weights = {}
        if weights and all(w >= 0 for w in weights.values()) and sum(weights.values()) > 0:
            return weights
    return {k: float(v) for k, v in DEFAULT_WEIGHTS.items()}


def _pct(part: float, whole: float) -> int:
    return max(0, min(100, round(100 * part / whole)))


def _limit_score(total: float, limit: float) -> int:
    """100 at or under a limit, falling by the share over it (50% over: 50)."""
    return 100 if total <= limit else max(0, round(100 - 100 * (total - limit) / limit))


def _medication(patient, day):
    rows = list(MedicationDose.objects.filter(patient=patient, local_date=day)
                .exclude(status=MedicationDose.Status.SCHEDULED).values_list("status", flat=True))
    if not rows:
        return None, "No doses due with a known outcome"
    taken = sum(1 for s in rows if s == MedicationDose.Status.TAKEN)
    return _pct(taken, len(rows)), f"{taken} of {len(rows)} doses taken"


def _exercise(patient, day):
    rxs = rehab.active_prescriptions(patient, day)
    if not rxs:
        return None, "No exercise prescribed"
    target = sum(rehab.dose_on(rx, day)[0] * rehab.dose_on(rx, day)[1] for rx in rxs)
    done = (ExerciseLog.objects.filter(patient=patient, local_date__range=(day - timedelta(days=6), day))
            .aggregate(m=Sum("duration_min"))["m"] or 0)
    return _pct(done, target), f"{round(done)} of {target} prescribed minutes in the 7 days to this day"


def _nutrition(patient, day):
    from nutrition.services import daily_totals, target_of

    target = target_of(patient)
    limits = [(f, getattr(target, f, None)) for f in ("sodium_mg", "fluid_ml")] if target else []
    limits = [(f, v) for f, v in limits if v]
    if not limits:
        return None, "No sodium or fluid target set"
    totals = daily_totals(patient, day, day).get(day)
    if not totals or not (totals["meals"] or totals["fluid_ml"]):
        return None, "Nothing logged"
    parts, words = [], []
    for name, limit in limits:
        total = totals[name]
        parts.append(_limit_score(total, limit))
        words.append(f"sodium {round(total):,} of {limit:,} mg" if name == "sodium_mg"
                     else f"fluid {round(total):,} of {limit:,} mL")
    return round(sum(parts) / len(parts)), "; ".join(words).capitalize()


def _sleep(patient, day):
    log = SleepLog.objects.filter(patient=patient, night=day).first()
    device = device_sleep(patient, [day]).get(day)
    seen = f" (device: {device:g} h)" if device is not None else ""
    if log is not None:
        return log.quality * 20, f"You rated it {log.quality}/5, {log.interruptions} interruption" \
                                 f"{'s' if log.interruptions != 1 else ''}{seen}"
    if device is not None:
        return _pct(device, SLEEP_HOURS_FULL), f"Not rated; the device measured {device:g} h"
    return None, "Not logged"


def _vitals(patient, day):
    from clinical.models import Interpretation, Observation

    start, end = rehab_day_bounds(patient, day)
    rows = list(Observation.objects.filter(patient=patient, effective_at__gte=start, effective_at__lt=end,
                                           interpretation__in=[Interpretation.NORMAL, Interpretation.ABNORMAL,
                                                               Interpretation.CRITICAL])
                .exclude(metric__in=SCORE_METRICS_EXCLUDED).values_list("interpretation", flat=True)[:500])
    if not rows:
        return None, "No readings"
    normal = sum(1 for i in rows if i == Interpretation.NORMAL)
    return _pct(normal, len(rows)), f"{normal} of {len(rows)} readings in range"


def rehab_day_bounds(patient, day: date):
    from datetime import datetime, time

    start = datetime.combine(day, time(0), tzinfo=patient.tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=patient.tz)


PARTS = {"medication": _medication, "exercise": _exercise, "nutrition": _nutrition, "sleep": _sleep,
         "vitals": _vitals}


def compose(components: list[dict]) -> int | None:
    """The weighted mean over the components with data; None if none has data."""
    counted = [c for c in components if c["score"] is not None and c["weight"] > 0]
    total = sum(c["weight"] for c in counted)
    if not total:
        return None
    return round(sum(c["weight"] * c["score"] for c in counted) / total)


def compute(patient, day: date) -> dict:
    weights = weights_for(patient)
    components = []
    for key, fn in PARTS.items():
        score, detail = fn(patient, day)
        components.append({"key": key, "label": LABELS[key], "weight": weights.get(key, 0), "score": score,
                           "detail": detail})
    overall = compose(components)
    counted = sum(c["weight"] for c in components if c["score"] is not None and c["weight"] > 0)
    for c in components:
        # Points this component added, and the points it cost (what lowered the day).
        share = c["weight"] / counted if counted and c["score"] is not None else 0
        c["points"] = round(share * c["score"]) if c["score"] is not None else None
        c["lost"] = round(share * (100 - c["score"])) if c["score"] is not None else None
    return {"date": day, "overall": overall, "components": components, **explain(components)}


def explain(components: list[dict]) -> dict:
    shown = [c for c in components if c["score"] is not None and c["weight"] > 0]
    return {"highlights": [f"{c['label']}: {c['detail']}" for c in shown if c["score"] >= GOOD],
            "misses": [f"{c['label']}: {c['detail']}" for c in sorted(shown, key=lambda c: c["score"])
                       if c["score"] < POOR]}


def day_score(patient, day: date | None = None) -> dict:
    """Compute and keep one day's score (upsert); returns the computed view."""
    day = day or patient.today
    view = compute(patient, day)
    DailyScore.objects.update_or_create(patient=patient, date=day, defaults={
        "project_id": patient.project_id, "overall": view["overall"], "components": view["components"]})
    return view


def week_scores(patient, week_start: date) -> list[dict]:
    """The week's daily scores (7 days from week_start, none after the patient's today), each with its
    components, highlights and misses: for reports.WeeklySummary."""
    days = [week_start + timedelta(days=i) for i in range(7)]
    return [day_score(patient, d) for d in days if d <= patient.today]


def recent_scores(patient, days: int = 30) -> list[DailyScore]:
    first = patient.today - timedelta(days=days - 1)
    return list(DailyScore.objects.filter(patient=patient, date__gte=first).order_by("date"))


def score_all_yesterday() -> int:
    """Nightly: keep yesterday's score for every patient with an active prescription."""
    from care.models import ExercisePrescription
    from patients.models import Patient

    ids = (ExercisePrescription.objects.filter(status=ExercisePrescription.Status.ACTIVE)
           .values_list("patient_id", flat=True).distinct())
    n = 0
    for patient in Patient.objects.filter(pk__in=ids).select_related("program", "project").iterator():
        day_score(patient, patient.today - timedelta(days=1))
        n += 1
    return n
