"""Cardiac rehab's rules (issue 17), one service each: prescriptions with their Karvonen heart-rate
zone and Borg RPE range in plain words, exercise logs (manual, device, supervised session), the
safety pathway (chest pain, heart rate above the prescribed maximum -> an observation that a
clinical rule reads, evaluated at once), matching device workouts to the day's prescription,
sessions toward the covered 36, phases, activities, routines and goals computed from data.

Numbers (shared/CLINICAL.md): target heart rate by heart-rate reserve (Karvonen) is
resting + k x (max - resting) with k as prescribed; exertion on the Borg 6-20 scale; Medicare covers
up to 36 sessions; post-op week = whole weeks since surgery."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from care.models import (
    Activity,
    ActivityClearance,
    Exercise,
    ExerciseLog,
    ExercisePrescription,
    PhaseProgress,
    RehabSession,
    TherapyPhase,
    TherapyRoutine,
)
from care.services.tasks import RESOURCE  # noqa: F401 - the one permission name care is gated by
from clinical import alerting
from clinical.default_rules import ensure_project_rule
from clinical.ingest import Reading, store
from clinical.models import ClinicalRule, Observation, Severity
from mahalo import audit, config

logger = logging.getLogger(__name__)

CHEST_PAIN_METRIC = "exercise_chest_pain"
HR_OVER_METRIC = "exercise_hr_over_max"
CHEST_PAIN_RULE = "care_exercise_chest_pain"
HR_OVER_RULE = "care_exercise_hr_over_max"
SESSIONS_SETTING = "care.rehab_sessions_covered"
DEFAULT_SESSIONS = 36  # Medicare: up to 36 one-hour sessions (CLINICAL.md)
MATCH_DAYS = 14  # how far back a sync's workouts are matched

# Borg 6-20 anchors (odd numbers carry the words; an even number sits between two).
BORG = {6: "no exertion at all", 7: "extremely light", 9: "very light", 11: "light", 13: "somewhat hard",
        15: "hard", 17: "very hard", 19: "extremely hard", 20: "maximal exertion"}


def register_metrics() -> None:
    from clinical.units import register_metric

    register_metric(CHEST_PAIN_METRIC, "Chest pain logged with exercise", "count", pint_unit="count")
    register_metric(HR_OVER_METRIC, "Exercise heart rate above the prescribed maximum", "bpm")


# --- Numbers --------------------------------------------------------------------------------

def karvonen(resting: int, maximum: int, fraction) -> int:
    """Target heart rate at `fraction` of the heart-rate reserve (CLINICAL.md)."""
    return round(resting + float(fraction) * (maximum - resting))


def hr_zone(rx: ExercisePrescription) -> tuple[int, int]:
    return karvonen(rx.resting_hr, rx.max_hr, rx.hrr_low), karvonen(rx.resting_hr, rx.max_hr, rx.hrr_high)


def borg_word(value: int) -> str:
    return BORG.get(value) or BORG[max(k for k in BORG if k <= value)]


def borg_words(low: int, high: int) -> str:
    lo, hi = borg_word(low), borg_word(high)
    return lo if lo == hi else f"{lo} to {hi}"


def post_op_week(patient) -> int | None:
    """Whole weeks since surgery (CLINICAL.md): the record's one definition, `Patient.post_op_week`."""
    return patient.post_op_week


def dose_on(rx: ExercisePrescription, day: date) -> tuple[int, int]:
    """(minutes, sessions per week) on `day`: the latest progression step reached, else the base."""
    minutes, sessions = rx.minutes, rx.sessions_per_week
    week = (day - rx.start_date).days // 7 + 1
    for step in sorted(rx.progression or [], key=lambda s: s.get("week", 0)):
        if step.get("week", 0) <= week:
            minutes = step.get("minutes") or minutes
            sessions = step.get("sessions_per_week") or sessions
    return int(minutes), int(sessions)


def plain_words(rx: ExercisePrescription, day: date | None = None) -> str:
    """What the patient reads: "Walking 20 minutes, 4 days a week, heart rate 97–110, feels light to
    somewhat hard"."""
    minutes, sessions = dose_on(rx, day or rx.patient.today)
    low, high = hr_zone(rx)
    days = "every day" if sessions >= 7 else f"{sessions} day{'s' if sessions != 1 else ''} a week"
    return (f"{rx.exercise.name} {minutes} minutes, {days}, heart rate {low}–{high}, "
            f"feels {borg_words(rx.rpe_low, rx.rpe_high)}")


def zone_of(rx: ExercisePrescription | None, hr: int | None) -> str:
    """'below', 'in', 'above' the prescription's zone, or '' (no prescription or heart rate)."""
    if rx is None or not hr:
        return ""
    low, high = hr_zone(rx)
    return "below" if hr < low else "above" if hr > high else "in"


# --- Library and prescriptions ---------------------------------------------------------------

def exercises_for(patient):
    """The tenant's library and the patient's program's own exercises."""
    from django.db.models import Q

    return (Exercise.objects.filter(project_id=patient.project_id, is_active=True)
            .filter(Q(program__isnull=True) | Q(program_id=patient.program_id)))


@dataclass
class PrescriptionIn:
    exercise: Exercise | None
    minutes: int | None
    sessions_per_week: int | None
    hrr_low: Decimal | None
    hrr_high: Decimal | None
    rpe_low: int | None = 11
    rpe_high: int | None = 13
    resting_hr: int | None = None
    max_hr: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    progression: list = field(default_factory=list)
    notes: str = ""


def parse_progression(text: str) -> list[dict]:
    """Lines "week minutes sessions" (e.g. "3 30 5": from week 3, 30 minutes 5 days a week)."""
    steps = []
    for n, line in enumerate((text or "").splitlines(), 1):
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        try:
            week, minutes, *rest = (int(p) for p in parts)
        except ValueError:
            raise ValueError(f"Line {n}: write week, minutes and days a week as numbers, e.g. '3 30 5'.") from None
        sessions = rest[0] if rest else None
        if not (1 <= week <= 52 and 1 <= minutes <= 180 and (sessions is None or 1 <= sessions <= 7)):
            raise ValueError(f"Line {n}: week 1–52, 1–180 minutes, 1–7 days a week.")
        steps.append({"week": week, "minutes": minutes, "sessions_per_week": sessions})
    return sorted(steps, key=lambda s: s["week"])


def _validate_rx(patient, data: PrescriptionIn) -> dict:
    errors: dict[str, list[str]] = {}
    if data.exercise is None or not exercises_for(patient).filter(pk=data.exercise.pk).exists():
        errors["exercise"] = ["Choose an exercise from the library."]
    if not data.minutes or not 1 <= data.minutes <= 180:
        errors["minutes"] = ["Between 1 and 180 minutes."]
    if not data.sessions_per_week or not 1 <= data.sessions_per_week <= 7:
        errors["sessions_per_week"] = ["Between 1 and 7 days a week."]
    resting = data.resting_hr or patient.resting_heart_rate
    maximum = data.max_hr or patient.max_heart_rate
    if not resting or not 30 <= resting <= 130:
        errors["resting_hr"] = ["Give the resting heart rate (30–130)."]
    if not maximum or not 80 <= maximum <= 230:
        errors["max_hr"] = ["Give the maximum heart rate (80–230), e.g. from the exercise test."]
    elif resting and maximum <= resting:
        errors["max_hr"] = ["The maximum is above the resting heart rate."]
    for name in ("hrr_low", "hrr_high"):
        value = getattr(data, name)
        if value is None or not Decimal("0.20") <= value <= Decimal("0.95"):
            errors[name] = ["A fraction of the heart-rate reserve between 0.20 and 0.95 (e.g. 0.40)."]
    if "hrr_low" not in errors and "hrr_high" not in errors and data.hrr_low > data.hrr_high:
        errors["hrr_high"] = ["The upper fraction is at least the lower."]
    for name in ("rpe_low", "rpe_high"):
        value = getattr(data, name)
        if value is None or not 6 <= value <= 20:
            errors[name] = ["Borg RPE runs from 6 to 20."]
    if "rpe_low" not in errors and "rpe_high" not in errors and data.rpe_low > data.rpe_high:
        errors["rpe_high"] = ["The upper RPE is at least the lower."]
    if not data.start_date:
        errors["start_date"] = ["Give the start date."]
    elif data.end_date and data.end_date < data.start_date:
        errors["end_date"] = ["The end date is before the start date."]
    return errors


@transaction.atomic
def prescription_create(*, patient, actor, data: PrescriptionIn, routine: TherapyRoutine | None = None,
                        request=None, via: str = "") -> ExercisePrescription:
    errors = _validate_rx(patient, data)
    if errors:
        raise ValidationError(errors)
    rx = ExercisePrescription.objects.create(
        project_id=patient.project_id, program_id=patient.program_id, patient=patient, exercise=data.exercise,
        minutes=data.minutes, sessions_per_week=data.sessions_per_week,
        resting_hr=data.resting_hr or patient.resting_heart_rate, max_hr=data.max_hr or patient.max_heart_rate,
        hrr_low=data.hrr_low, hrr_high=data.hrr_high, rpe_low=data.rpe_low, rpe_high=data.rpe_high,
        progression=data.progression, start_date=data.start_date, end_date=data.end_date, routine=routine,
        notes=(data.notes or "").strip(), prescriber=actor)
    low, high = hr_zone(rx)
    audit.record(action="write", request=request, actor=actor, resource="care.exercise_prescription",
                 patient=patient, object_id=rx.pk, metadata={"event": "prescribed", "via": via,
                                                             "exercise": rx.exercise.name, "zone": [low, high]})
    return rx


@transaction.atomic
def prescription_set_status(*, prescription: ExercisePrescription, actor, status: str, request=None,
                            via: str = "") -> ExercisePrescription:
    if status not in ExercisePrescription.Status.values:
        raise ValidationError({"status": ["Unknown status."]})
    rx = ExercisePrescription.objects.select_for_update().get(pk=prescription.pk)
    before, rx.status = rx.status, status
    if status != ExercisePrescription.Status.ACTIVE and rx.end_date is None:
        rx.end_date = prescription.patient.today
    rx.save()
    audit.record(action="update", request=request, actor=actor, resource="care.exercise_prescription",
                 patient=prescription.patient, object_id=rx.pk,
                 metadata={"event": "prescription_status", "from": before, "to": status, "via": via})
    return rx


def routine_apply(*, patient, routine: TherapyRoutine, actor, request=None, via: str = "") -> list:
    """Prescribe every item of the routine from today (one transaction: all or none)."""
    by_id = {str(e.pk): e for e in exercises_for(patient)}
    made = []
    with transaction.atomic():
        for item in routine.items or []:
            try:
                low, high = Decimal(str(item.get("hrr_low", "0.4"))), Decimal(str(item.get("hrr_high", "0.6")))
            except InvalidOperation:
                raise ValidationError({"routine": ["This routine has a bad intensity; fix it in admin."]}) from None
            data = PrescriptionIn(exercise=by_id.get(str(item.get("exercise"))), minutes=item.get("minutes"),
                                  sessions_per_week=item.get("sessions_per_week"), hrr_low=low, hrr_high=high,
                                  rpe_low=item.get("rpe_low", 11), rpe_high=item.get("rpe_high", 13),
                                  start_date=patient.today)
            made.append(prescription_create(patient=patient, actor=actor, data=data, routine=routine,
                                            request=request, via=via))
    return made


def active_prescriptions(patient, day: date | None = None) -> list[ExercisePrescription]:
    from django.db.models import Q

    day = day or patient.today
    return list(ExercisePrescription.objects.filter(patient=patient, status=ExercisePrescription.Status.ACTIVE,
                                                    start_date__lte=day)
                .filter(Q(end_date__isnull=True) | Q(end_date__gte=day)).select_related("exercise")
                .order_by("start_date", "exercise__name"))


# --- Logs and the safety pathway ------------------------------------------------------------

@dataclass
class LogIn:
    duration_min: float | None
    performed_at: datetime | None = None
    prescription: ExercisePrescription | None = None
    exercise: Exercise | None = None
    distance_km: float | None = None
    avg_hr: int | None = None
    max_hr: int | None = None
    rpe: int | None = None
    symptoms: list = field(default_factory=list)
    notes: str = ""
    activity: str = ""


def _validate_log(patient, data: LogIn, now) -> dict:
    errors: dict[str, list[str]] = {}
    if data.duration_min is None or not 1 <= data.duration_min <= 600:
        errors["duration_min"] = ["Between 1 and 600 minutes."]
    if data.distance_km is not None and not 0 <= data.distance_km <= 300:
        errors["distance_km"] = ["Between 0 and 300 km."]
    for name in ("avg_hr", "max_hr"):
        value = getattr(data, name)
        if value is not None and not 30 <= value <= 250:
            errors[name] = ["A heart rate between 30 and 250."]
    if data.avg_hr and data.max_hr and "avg_hr" not in errors and "max_hr" not in errors \
            and data.avg_hr > data.max_hr:
        errors["max_hr"] = ["The maximum is at least the average."]
    if data.rpe is not None and not 6 <= data.rpe <= 20:
        errors["rpe"] = ["Borg RPE runs from 6 to 20."]
    unknown = set(data.symptoms or []) - set(ExerciseLog.Symptom.values)
    if unknown:
        errors["symptoms"] = ["Unknown symptom."]
    if data.prescription is not None and data.prescription.patient_id != patient.pk:
        errors["prescription"] = ["Not this patient's prescription."]
    if data.performed_at is not None:
        if timezone.is_naive(data.performed_at):
            errors["performed_at"] = ["Give the time with a time zone."]
        elif data.performed_at > now + timedelta(minutes=5):
            errors["performed_at"] = ["That time is in the future."]
    return errors


@transaction.atomic
def exercise_log(*, patient, actor, data: LogIn, source: str = ExerciseLog.Source.MANUAL,
                 observation: Observation | None = None, request=None, via: str = "",
                 now: datetime | None = None) -> ExerciseLog:
    """Write one log; a chest-pain symptom or a maximum heart rate above the prescribed zone goes to
    the rules engine in the same transaction (the alert exists when this returns)."""
    now = now or timezone.now()
    errors = _validate_log(patient, data, now)
    if errors:
        raise ValidationError(errors)
    at = data.performed_at or now
    rx = data.prescription
    symptoms = [s for s in ExerciseLog.Symptom.values if s in set(data.symptoms or [])]
    log = ExerciseLog.objects.create(
        project_id=patient.project_id, patient=patient, prescription=rx,
        exercise=data.exercise or (rx.exercise if rx else None), activity=(data.activity or "")[:80],
        performed_at=at, local_date=at.astimezone(patient.tz).date(), duration_min=round(data.duration_min, 1),
        distance_km=data.distance_km, avg_hr=data.avg_hr, max_hr=data.max_hr, rpe=data.rpe, symptoms=symptoms,
        symptomatic=bool(symptoms), notes=(data.notes or "").strip()[:2000], source=source,
        observation=observation, logged_by=actor)
    audit.record(action="write", request=request, actor=actor, resource="care.exercise_log", patient=patient,
                 object_id=log.pk, metadata={"event": "exercise_logged", "via": via, "source": source,
                                             "symptoms": symptoms, "prescription": str(rx.pk) if rx else ""})
    safety_check(log, now)
    return log


def chest_pain_rule(patient) -> ClinicalRule:
    return ensure_project_rule(
        patient.project_id, CHEST_PAIN_RULE, metric=CHEST_PAIN_METRIC,
        name="Chest pain logged with exercise",
        description="The patient logged chest pain or pressure with an exercise session. Contact them now: "
                    "advise stopping exercise and, if it persists at rest, calling emergency services.",
        condition=ClinicalRule.Condition.GT, threshold=0, window_days=1, severity=Severity.CRITICAL,
        action=ClinicalRule.Action.ALERT, priority=900)


def hr_over_rule(patient) -> ClinicalRule:
    return ensure_project_rule(
        patient.project_id, HR_OVER_RULE, metric=HR_OVER_METRIC,
        name="Exercise heart rate above the prescribed maximum",
        description="An exercise session's maximum heart rate was above the prescription's upper Karvonen "
                    "target (value: beats per minute above it). Review the prescription and symptoms.",
        condition=ClinicalRule.Condition.GT, threshold=0, window_days=1, severity=Severity.WARNING,
        action=ClinicalRule.Action.ALERT, priority=300)


def safety_check(log: ExerciseLog, now) -> list:
    """Observations for the rules engine (why: the alert then has the engine's one-open-alert,
    queue, escalation and notifications) and the rules evaluated at once. At `now`, not the
    workout's time: a workout synced days late is still today's news for the window."""
    patient, rx = log.patient, log.prescription
    readings, rules = [], []
    details = {"exercise_log": str(log.pk), "performed_at": log.performed_at.isoformat(), "source": log.source}
    if ExerciseLog.Symptom.CHEST_PAIN in (log.symptoms or []):
        readings.append(Reading(CHEST_PAIN_METRIC, now, 1.0, external_id=f"exlog:{log.pk}",
                                details={**details, "symptoms": log.symptoms}))
        rules.append(chest_pain_rule(patient))
    if rx is not None and log.max_hr:
        high = hr_zone(rx)[1]
        if log.max_hr > high:
            readings.append(Reading(HR_OVER_METRIC, now, float(log.max_hr - high), external_id=f"exlog:{log.pk}",
                                    details={**details, "max_hr": log.max_hr, "prescribed_max": high}))
            rules.append(hr_over_rule(patient))
    if not readings:
        return []
    store(patient, "patient" if log.source != ExerciseLog.Source.DEVICE else "device", readings)
    return alerting.evaluate_patient(patient, rules=rules, now=now)


# --- Device workouts -------------------------------------------------------------------------

def _activity_name(obs: Observation) -> str:
    d = obs.details or {}
    return str(d.get("activity") or d.get("sport_name") or d.get("sport") or d.get("detailed_sport_info")
               or d.get("type") or obs.context or "").strip()


def pick_prescription(activity: str, candidates: list[ExercisePrescription]) -> ExercisePrescription | None:
    """The day's prescription a workout is: one whose exercise's device words (or name) the activity
    names; else the only aerobic one; else none (logged, unmatched, shown as such)."""
    text = activity.lower().replace("_", " ")
    for rx in candidates:
        words = [w.strip().lower() for w in (rx.exercise.device_keywords or "").split(",") if w.strip()]
        words.append(rx.exercise.name.lower()[:4])
        if text and any(w and w in text for w in words):
            return rx
    aerobic = [rx for rx in candidates if rx.exercise.category == Exercise.Category.AEROBIC]
    return aerobic[0] if len(aerobic) == 1 else None


def _number(value):
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def match_device_workouts(patient, *, now: datetime | None = None, days: int = MATCH_DAYS) -> int:
    """Make an exercise log of each of the patient's device workouts of the last `days` that has none,
    on the prescription of that local day. Idempotent (one log per observation, unique)."""
    now = now or timezone.now()
    linked = ExerciseLog.objects.filter(patient=patient, observation__isnull=False).values("observation_id")
    workouts = list(Observation.objects.filter(patient=patient, metric="workout", effective_at__gte=now - timedelta(
        days=days), effective_at__lte=now).exclude(pk__in=linked).order_by("effective_at"))
    if not workouts:
        return 0
    made = 0
    by_day: dict = {}
    for obs in workouts:
        day = obs.effective_at.astimezone(patient.tz).date()
        if day not in by_day:
            by_day[day] = active_prescriptions(patient, day)
        d = obs.details or {}
        rx = pick_prescription(_activity_name(obs), by_day[day])
        distance = _number(d.get("distance_km"))
        if distance is None and _number(d.get("distance_m")) is not None:
            distance = round(_number(d.get("distance_m")) / 1000, 3)
        avg, top = _number(d.get("average_heart_rate")), _number(d.get("max_heart_rate"))
        data = LogIn(duration_min=max(1.0, min(600.0, obs.value)), performed_at=obs.effective_at, prescription=rx,
                     distance_km=distance if distance is None or distance <= 300 else None,
                     avg_hr=round(avg) if avg and 30 <= avg <= 250 else None,
                     max_hr=round(top) if top and 30 <= top <= 250 else None,
                     activity=_activity_name(obs), notes=f"From {obs.device or obs.source}")
        try:
            with transaction.atomic():
                exercise_log(patient=patient, actor=None, data=data, source=ExerciseLog.Source.DEVICE,
                             observation=obs, via="device", now=now)
        except IntegrityError:
            continue  # another run linked it first
        except ValidationError:
            logger.warning("Workout %s of patient %s not logged: out of range", obs.pk, patient.pk)
            continue
        made += 1
    return made


def on_data_ingested(sender, patient_id, metrics=(), **kwargs) -> None:
    """clinical.ingest sends this after readings commit: workouts are matched by a task (by name)."""
    if "workout" not in (metrics or ()):
        return
    from celery import current_app

    try:
        current_app.tasks["care.match_workouts"].apply_async(args=[str(patient_id)], retry=False)
    except Exception:  # noqa: BLE001 - the observation is stored; the hourly sweep matches it
        logger.warning("Couldn't queue workout matching for %s; the sweep will", patient_id, exc_info=True)


def match_recent_all(*, now: datetime | None = None) -> int:
    """The sweep: patients with unlinked workouts in the last two days."""
    from patients.models import Patient

    now = now or timezone.now()
    linked = ExerciseLog.objects.filter(observation__isnull=False).values("observation_id")
    ids = set(Observation.objects.filter(metric="workout", effective_at__gte=now - timedelta(days=2))
              .exclude(pk__in=linked).values_list("patient_id", flat=True)[:2000])
    return sum(match_device_workouts(p, now=now, days=2)
               for p in Patient.objects.filter(pk__in=ids).select_related("program"))


# --- Supervised sessions ---------------------------------------------------------------------

def sessions_covered(patient) -> int:
    value = config.get_int(SESSIONS_SETTING, DEFAULT_SESSIONS, program=patient.program, project=patient.project)
    return value if value and value > 0 else DEFAULT_SESSIONS


@transaction.atomic
def session_record(*, patient, actor, starts_at: datetime | None, status: str, minutes: float | None = None,
                   avg_hr: int | None = None, max_hr: int | None = None, rpe: int | None = None,
                   symptoms: list | None = None, notes: str = "", request=None, via: str = "") -> RehabSession:
    """Record a supervised session's attendance; an attended one is also an exercise log (against the
    day's aerobic prescription, so its heart rate is checked like any other)."""
    now = timezone.now()
    errors = {}
    if status not in RehabSession.Status.values:
        errors["status"] = ["Unknown status."]
    if starts_at is None:
        errors["starts_at"] = ["Give the session's date and time."]
    elif starts_at > now + timedelta(days=90):
        errors["starts_at"] = ["More than 90 days ahead."]
    elif status == RehabSession.Status.ATTENDED and starts_at > now + timedelta(minutes=5):
        errors["starts_at"] = ["A session in the future can't have been attended."]
    if errors:
        raise ValidationError(errors)
    session = RehabSession.objects.create(project_id=patient.project_id, patient=patient, starts_at=starts_at,
                                          local_date=starts_at.astimezone(patient.tz).date(), status=status,
                                          notes=(notes or "").strip()[:2000], recorded_by=actor)
    if status == RehabSession.Status.ATTENDED:
        day = session.local_date
        rx = pick_prescription("", active_prescriptions(patient, day))
        session.log = exercise_log(patient=patient, actor=actor, source=ExerciseLog.Source.SESSION, via=via,
                                   request=request, data=LogIn(duration_min=minutes or 60, performed_at=starts_at,
                                                               prescription=rx, avg_hr=avg_hr, max_hr=max_hr,
                                                               rpe=rpe, symptoms=symptoms or [],
                                                               notes="Supervised session"))
        session.save(update_fields=["log"])
    audit.record(action="write", request=request, actor=actor, resource="care.rehab_session", patient=patient,
                 object_id=session.pk, metadata={"event": "session_recorded", "status": status, "via": via})
    return session


def session_counts(patient) -> dict:
    rows = RehabSession.objects.filter(patient=patient).values_list("status", "local_date")
    today = patient.today
    week_start = today - timedelta(days=today.weekday())
    attended = [d for s, d in rows if s == RehabSession.Status.ATTENDED]
    return {"attended": len(attended), "covered": sessions_covered(patient),
            "absent": sum(1 for s, _ in rows if s == RehabSession.Status.ABSENT),
            "this_week": sum(1 for d in attended if d >= week_start)}


# --- Phases, activities ----------------------------------------------------------------------

def phases_for(patient) -> list[TherapyPhase]:
    from django.db.models import Q

    return list(TherapyPhase.objects.filter(project_id=patient.project_id)
                .filter(Q(program__isnull=True) | Q(program_id=patient.program_id))
                .prefetch_related("routines").order_by("order", "week_start"))


def phase_view(patient) -> dict:
    """The phases with what is met, and the current one: the phase the post-op week reaches, held
    back at the first earlier phase whose exit criteria are not all recorded as met."""
    phases = phases_for(patient)
    progress = {p.phase_id: p for p in PhaseProgress.objects.filter(patient=patient)}
    week = post_op_week(patient)
    by_week = None
    for ph in phases:
        if week is not None and ph.week_start <= week:
            by_week = ph
    by_week = by_week or (phases[0] if phases else None)
    held = next((ph for ph in phases if not (progress.get(ph.pk) and progress[ph.pk].completed_on)), None)
    current = by_week
    if held is not None and by_week is not None and held.order < by_week.order:
        current = held
    rows = []
    for ph in phases:
        prog = progress.get(ph.pk)
        met = set(prog.criteria_met if prog else [])
        rows.append({"phase": ph, "current": ph == current, "completed_on": prog.completed_on if prog else None,
                     "criteria": [{"text": c, "met": c in met} for c in ph.exit_criteria or []],
                     "behind": bool(week is not None and ph == current and week > ph.week_end)})
    return {"week": week, "current": current, "phases": rows, "held": current is not None and current != by_week}


@transaction.atomic
def phase_record(*, patient, phase: TherapyPhase, actor, criteria_met: list[str], request=None,
                 via: str = "") -> PhaseProgress:
    known = list(phase.exit_criteria or [])
    unknown = [c for c in criteria_met if c not in known]
    if unknown:
        raise ValidationError({"criteria": ["Tick only this phase's exit criteria."]})
    met = [c for c in known if c in criteria_met]
    prog, _ = PhaseProgress.objects.select_for_update().get_or_create(
        patient=patient, phase=phase, defaults={"project_id": patient.project_id})
    prog.criteria_met = met
    prog.completed_on = (prog.completed_on or patient.today) if known and len(met) == len(known) else None
    prog.recorded_by = actor
    prog.save()
    audit.record(action="update", request=request, actor=actor, resource="care.phase", patient=patient,
                 object_id=prog.pk, metadata={"event": "phase_criteria", "phase": phase.name, "met": met,
                                              "completed": bool(prog.completed_on), "via": via})
    return prog


def activities_for(patient) -> list[dict]:
    from django.db.models import Q

    acts = list(Activity.objects.filter(project_id=patient.project_id)
                .filter(Q(program__isnull=True) | Q(program_id=patient.program_id)))
    decided = {c.activity_id: c for c in ActivityClearance.objects.filter(patient=patient)}
    week = post_op_week(patient)
    return [{"activity": a, "clearance": decided.get(a.pk), "cleared": bool(decided.get(a.pk) and
                                                                             decided[a.pk].cleared),
             "usually_due": a.usual_week is not None and week is not None and week >= a.usual_week} for a in acts]


@transaction.atomic
def activity_set(*, patient, activity: Activity, actor, cleared: bool, note: str = "", request=None,
                 via: str = "") -> ActivityClearance:
    row, _ = ActivityClearance.objects.select_for_update().get_or_create(
        patient=patient, activity=activity,
        defaults={"project_id": patient.project_id, "decided_on": patient.today})
    row.cleared, row.decided_on, row.note, row.decided_by = cleared, patient.today, (note or "")[:300], actor
    row.save()
    audit.record(action="update", request=request, actor=actor, resource="care.activity", patient=patient,
                 object_id=row.pk, metadata={"event": "activity_cleared" if cleared else "activity_not_cleared",
                                             "activity": activity.name, "via": via})
    return row


# --- Reading: minutes against prescription, zones, goals -------------------------------------

def weekly_minutes(patient, weeks: int = 8) -> list[dict]:
    """Per local week (Monday first), oldest first: minutes logged, minutes prescribed, and the logs
    with a heart rate below / in / above their prescription's zone. Two queries."""
    today = patient.today
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    out = [{"start": first + timedelta(days=7 * i), "minutes": 0.0, "target": 0, "below": 0, "in": 0, "above": 0,
            "sessions": 0} for i in range(weeks)]
    logs = (ExerciseLog.objects.filter(patient=patient, local_date__gte=first).select_related("prescription")
            .only("local_date", "duration_min", "avg_hr", "prescription"))
    for log in logs:
        row = out[(log.local_date - first).days // 7]
        row["minutes"] += log.duration_min
        row["sessions"] += 1
        zone = zone_of(log.prescription, log.avg_hr)
        if zone:
            row[zone] += 1
    rxs = list(ExercisePrescription.objects.filter(patient=patient, start_date__lte=today)
               .exclude(status=ExercisePrescription.Status.DISCONTINUED, end_date__lt=first))
    for row in out:
        for rx in rxs:
            if rx.start_date <= row["start"] + timedelta(days=6) and (rx.end_date is None
                                                                       or rx.end_date >= row["start"]):
                minutes, sessions = dose_on(rx, max(row["start"], rx.start_date))
                row["target"] += minutes * sessions
        row["minutes"] = round(row["minutes"])
    return out


def recent_logs(patient, limit: int = 30) -> list[ExerciseLog]:
    logs = list(ExerciseLog.objects.filter(patient=patient).select_related("prescription__exercise", "exercise")
                .order_by("-performed_at")[:limit])
    for log in logs:
        log.zone = zone_of(log.prescription, log.avg_hr)
        log.over_max = bool(log.prescription and log.max_hr and log.max_hr > hr_zone(log.prescription)[1])
    return logs


def goal_values(patient, goals) -> dict:
    """{goal id: current value} for goals naming a metric, from the data (7 days)."""
    from clinical.models import Observation as Obs
    from nutrition.services import daily_totals
    from wearables.models import DailyMetric

    metrics = {g.metric for g in goals if g.metric}
    if not metrics:
        return {}
    today = patient.today
    start = today - timedelta(days=6)
    values: dict[str, float | None] = {}
    if "steps" in metrics:
        steps = [s for s in DailyMetric.objects.filter(patient=patient, date__gte=start, steps__isnull=False)
                 .values_list("steps", flat=True)]
        values["steps"] = round(sum(steps) / len(steps)) if steps else None
    if "exercise_minutes" in metrics:
        total = ExerciseLog.objects.filter(patient=patient, local_date__gte=start).aggregate(m=Sum("duration_min"))
        values["exercise_minutes"] = round(total["m"] or 0)
    if "weight" in metrics:
        values["weight"] = (Obs.objects.filter(patient=patient, metric="weight").order_by("-effective_at")
                            .values_list("value", flat=True).first())
    if "sodium" in metrics:
        days = [d for d in daily_totals(patient, start, today).values() if d["meals"]]
        values["sodium"] = round(sum(d["sodium_mg"] for d in days) / len(days)) if days else None
    return {g.pk: values.get(g.metric) for g in goals if g.metric}


def goals_view(patient) -> list[dict]:
    from care.models import Goal

    goals = list(Goal.objects.filter(patient=patient).exclude(status=Goal.Status.CANCELLED))
    computed = goal_values(patient, goals)
    rows = []
    for g in goals:
        if g.pk in computed:
            g.current_value = computed[g.pk]
        rows.append({"goal": g, "computed": g.pk in computed, "progress": g.progress})
    return rows


def daily_series(patient, days: int = 28) -> list[dict]:
    """Per local day, oldest first: minutes in the 7 days ending that day, the weekly prescribed
    minutes that day, the day's highest average heart rate logged and the zone it was held to
    (the day's first active prescription with a heart-rate zone). Two queries."""
    today = patient.today
    first = today - timedelta(days=days - 1)
    per_day: dict = {}
    hr: dict = {}
    for day, minutes, avg in (ExerciseLog.objects.filter(patient=patient, local_date__gte=first - timedelta(days=6))
                              .values_list("local_date", "duration_min", "avg_hr")):
        per_day[day] = per_day.get(day, 0) + minutes
        if avg and day >= first:
            hr[day] = max(hr.get(day, 0), avg)
    rxs = list(ExercisePrescription.objects.filter(patient=patient, start_date__lte=today)
               .exclude(status=ExercisePrescription.Status.DISCONTINUED, end_date__lt=first)
               .order_by("start_date"))
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        active = [rx for rx in rxs if rx.start_date <= day and (rx.end_date is None or rx.end_date >= day)]
        target = sum(dose_on(rx, day)[0] * dose_on(rx, day)[1] for rx in active)
        rolling = sum(per_day.get(day - timedelta(days=k), 0) for k in range(7))
        zone = hr_zone(active[0]) if active else None
        out.append({"day": day, "rolling": round(rolling), "target": target or None, "hr": hr.get(day),
                    "zone": zone})
    return out
