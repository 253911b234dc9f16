"""Manual readings (staff on the chart and the API, patients in the portal and the app).

`observation_record` is the one writer for a reading a person typed: it validates,
converts to the canonical unit (clinical.units), and stores through
`clinical.ingest.store`, like every other reading, so the same upsert, the
classification (clinical.interpret), Patient.last_data_at and the rules trigger
(`data_ingested`, on commit) apply. The value and unit the person typed are kept in
`details.entered`.

Impossible values (a weight of 900 kg) are *kept* and classified "invalid" (shown
struck through, left out of trends and rules): a person typed them, and losing a
reading is worse than flagging one. Input that is not a number at all never gets
here: forms and serializers refuse it.

Critical values (issue 21 item 2). A reading a person types that classifies as
critical (BP crisis, level 2 hypoglycaemia, SpO2 < 90 %, any critical band of
clinical/interpret.py) must reach the care team through the safety path before the
person is told it did. So `observation_record` runs the rules that read that metric
at once (not only on commit), and then:
- a critical alert that holds this reading and was opened or re-opened now (worsened)
  has notified the care team (clinical/alerting.py);
- a critical alert that already held readings like it (active in the queue, or
  snoozed at that level) has told them before: the reading joins it;
- otherwise (no critical rule covers it, the rule is off, nobody was reachable for
  the alert) the care team gets a direct safety-critical notification
  (`alert_created`, urgent, key "critical-reading:<id>").
What happened is stored in `details["safety"]` so the portal, the API and the chart
say the same thing later. `crisis_guidance` builds what the person sees: re-measure
after 5 minutes of rest, call the emergency number with symptoms, whether the care
team was told. The wording comes from program settings (`safety.crisis_remeasure`,
`safety.crisis_emergency` with "{number}", `safety.emergency_number`), else the defaults.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinical import alerting, classify, units
from clinical.ingest import Reading, data_ingested, store
from clinical.interpret import interpret
from clinical.metrics import METRICS
from clinical.models import Interpretation, Observation, Severity, Source
from mahalo import audit, config
from messaging.models import Notification
from messaging.notify import notify

# What people enter by hand. Height lives on the patient record (it feeds BMI); BMI is
# computed, never typed; the rest come from devices.
ENTRY_METRICS = ("blood_pressure", "heart_rate", "resting_heart_rate", "spo2", "respiratory_rate",
                 "body_temperature", "weight", "glucose")
PORTAL_METRICS = ("blood_pressure", "weight", "glucose", "heart_rate", "spo2", "body_temperature")
MANUAL_SOURCES = (Source.STAFF.value, Source.PATIENT.value)

BP_SETTINGS = [("home", "Home"), ("office", "Office / clinic"), ("cuffless", "Cuffless wearable")]
GLUCOSE_CONTEXTS = [("fasting", "Fasting"), ("post_meal", "2 h after a meal"), ("random", "Random (any time)")]
CONTEXT_LABELS = {"home": "home", "office": "office", "cuffless": "cuffless", "fasting": "fasting",
                  "post_meal": "after a meal", "random": "random"}

# A phone or meter clock a little ahead of the server is not "the future".
FUTURE_SLACK = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # an older date is a typo, not a reading

CATEGORY_LABELS = {
    "blood_pressure": {"normal": "Normal", "elevated": "Elevated", "stage_1": "Stage 1 hypertension",
                       "stage_2": "Stage 2 hypertension", "crisis": "Hypertensive crisis"},
    "bmi": {"severe_thinness": "Severe thinness", "moderate_thinness": "Moderate thinness",
            "mild_thinness": "Mild thinness", "normal": "Normal weight", "pre_obese": "Pre-obese",
            "obese_1": "Obese class I", "obese_2": "Obese class II", "obese_3": "Obese class III"},
    "glucose": {"normal": "Normal", "prediabetes": "Prediabetes range", "diabetes": "Diabetes range",
                "hypo_1": "Hypoglycemia level 1", "hypo_2": "Hypoglycemia level 2"},
}
# The table each category comes from (decision support: always shown with it).
CATEGORY_SOURCES = {"blood_pressure": classify.BP_SOURCE, "bmi": classify.BMI_SOURCE,
                    "glucose": classify.GLUCOSE_SOURCE}
SHORT_SOURCES = {"blood_pressure": "ACC/AHA 2017", "bmi": "WHO", "glucose": "ADA 2025"}
REFERENCE_NOTE = "Common adult reference range (no published table)"
INTERPRETATION_LABELS = dict(Interpretation.choices)


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _finite(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _error(field, "Enter a number.")
    return float(value)


def check_time(effective_at: datetime, *, now: datetime | None = None) -> datetime:
    if not isinstance(effective_at, datetime) or timezone.is_naive(effective_at):
        raise _error("effective_at", "The time needs a time zone.")
    now = now or timezone.now()
    if effective_at > now + FUTURE_SLACK:
        raise _error("effective_at", "The time is in the future.")
    if effective_at < EARLIEST:
        raise _error("effective_at", "The date is before 2000: check the year.")
    return effective_at


def observation_record(patient, metric: str, value: float, unit: str, effective_at: datetime, *,
                       value2: float | None = None, context: str = "", actor, source: str = Source.STAFF,
                       note: str = "", request=None, via: str = "web") -> Observation:
    """Record one reading typed by a person. Raises ValidationError (a dict of field
    errors) and stores nothing when the input can't be stored honestly.

    Precondition: the caller has checked the actor may write clinical data for
    `patient` (the gate); this function trusts it."""
    source = str(source)
    if source not in MANUAL_SOURCES:
        raise _error("source", "Manual readings come from staff or the patient.")
    if metric not in ENTRY_METRICS:
        raise _error("metric", "Choose one of: " + ", ".join(METRICS[m].label.lower() for m in ENTRY_METRICS) + ".")
    errors: dict[str, list[str]] = {}
    try:
        value = _finite(value, "value")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if metric == "blood_pressure":
        if value2 is None:
            errors["value2"] = ["Blood pressure needs the diastolic value too."]
        else:
            try:
                value2 = _finite(value2, "value2")
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if context not in dict(BP_SETTINGS):
            errors["context"] = ["Say where it was taken: home, office or cuffless wearable."]
    elif value2 is not None:
        errors["value2"] = ["Only blood pressure has a second value."]
    if metric == "glucose":
        context = context or "random"  # the safest reading: "random" never calls prediabetes
        if context not in dict(GLUCOSE_CONTEXTS):
            errors["context"] = ["Glucose context is fasting, post_meal or random."]
    elif metric != "blood_pressure" and context:
        errors["context"] = ["Only blood pressure and glucose take a context."]
    try:
        units.check_unit(metric, unit)
    except units.UnitError as exc:
        errors["unit"] = [str(exc)]
    try:
        check_time(effective_at)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    canonical = units.to_canonical(metric, value, unit)
    canonical2 = units.to_canonical(metric, value2, unit) if value2 is not None else None
    entered = {"value": value, "unit": unit.strip()}
    if value2 is not None:
        entered["value2"] = value2
    details = {"entered": entered}
    if note.strip():
        details["note"] = note.strip()[:500]
    observation = _store(patient, metric, canonical, canonical2, effective_at, context=context, details=details,
                         actor=actor, source=source, request=request, via=via)
    if observation.interpretation == Interpretation.CRITICAL and "safety" not in (observation.details or {}):
        tell_care_team(observation, patient=patient)
    return observation


# --- Critical values: the safety path (module docstring) ---------------------------------

CRISIS_REMEASURE_KEY = "safety.crisis_remeasure"
CRISIS_EMERGENCY_KEY = "safety.crisis_emergency"
EMERGENCY_NUMBER_KEY = "safety.emergency_number"
DEFAULT_EMERGENCY_NUMBER = "911"
DEFAULT_REMEASURE = "Sit down and rest quietly for 5 minutes, then measure again."
DEFAULT_EMERGENCY = ("Call {number} now if you have chest pain, shortness of breath, weakness or numbness, "
                     "or changes in your vision or speech.")
CRISIS_SYMPTOMS = ("chest pain", "shortness of breath", "weakness", "vision or speech changes")


def _rule_reads(rule, metric: str) -> bool:
    return rule.metric == metric or (metric == "blood_pressure" and rule.metric in ("bp_systolic", "bp_diastolic"))


def _alert_told(alert) -> bool:
    """Did anyone get a (not opted-out) notification about this alert?"""
    return (Notification.objects.filter(patient_id=alert.patient_id, event_type="alert_created",
                                        link=f"/alerts/{alert.pk}/")
            .exclude(status=Notification.Status.SKIPPED).exists())


def tell_care_team(observation: Observation, *, patient) -> dict:
    """Make sure the care team hears about a critical reading a person entered; record how
    in details["safety"] and return it. Idempotent (notification keys)."""
    oid = str(observation.pk)
    rules = [r for r in alerting.applicable_rules(patient) if _rule_reads(r, observation.metric)]
    safety: dict = {"told": False, "how": "not_reached", "alert": None}
    for outcome in alerting.evaluate_patient(patient, rules):
        alert = outcome.alert
        if alert is None or alert.severity != Severity.CRITICAL or not any(
                r.get("id") == oid for r in (alert.evidence or {}).get("readings", [])):
            continue
        if _alert_told(alert):
            # Raised by this reading: here, or by the on-commit run when there was no outer
            # transaction (the ingest's own commit already ran the rules).
            raised = outcome.created or outcome.worsened or alert.created_at >= observation.created_at or (
                alert.worsened_at is not None and alert.worsened_at >= observation.created_at)
            how = "alert_raised" if raised else "alert_open"
            safety = {"told": True, "how": how, "alert": str(alert.pk)}
            if how == "alert_raised":
                break
    if not safety["told"]:
        obs = decorate(observation)
        who = "by the patient" if observation.source == Source.PATIENT else "by staff"
        what = f"{observation.get_metric_display().lower()} {obs.display} {obs.unit_label}"
        rows = notify(event_type="alert_created", recipients=alerting.recipients_for(patient),
                      context={"patient_name": patient.full_name, "severity": "Critical",
                               "alert": f"Critical reading entered {who}: {what}, {obs.plain_category or 'critical'}"},
                      key=f"critical-reading:{oid}", patient=patient, urgent=True,
                      link=f"/patients/{patient.pk}/vitals/")
        if any(n.status != Notification.Status.SKIPPED for n in rows):
            safety = {"told": True, "how": "direct", "alert": safety["alert"]}
    safety["at"] = timezone.now().isoformat()
    details = {**(observation.details or {}), "safety": safety}
    Observation.objects.filter(pk=observation.pk).update(details=details)
    observation.details = details
    audit.record(action="write", resource="clinical", patient=patient, object_id=observation.pk,
                 metadata={"event": "critical_reading_escalated", "metric": observation.metric, **safety})
    return safety


def crisis_guidance(obs: Observation, *, audience: str = "patient") -> dict | None:
    """What to show (page) and return (API) for a critical reading; None otherwise.
    The same fields for the portal, the app and the chart ("staff" words the care-team
    line for a clinician)."""
    if obs.interpretation != Interpretation.CRITICAL or entered_in_error(obs):
        return None
    program = obs.patient.program if obs.patient_id and obs.patient.program_id else None
    scope = {"program": program, "project": program.project if program else None}
    number = config.get_setting(EMERGENCY_NUMBER_KEY, default=DEFAULT_EMERGENCY_NUMBER, **scope) or \
        DEFAULT_EMERGENCY_NUMBER
    remeasure = config.get_setting(CRISIS_REMEASURE_KEY, default=DEFAULT_REMEASURE, **scope) or DEFAULT_REMEASURE
    emergency = (config.get_setting(CRISIS_EMERGENCY_KEY, default=DEFAULT_EMERGENCY, **scope)
                 or DEFAULT_EMERGENCY).replace("{number}", number)
    safety = (obs.details or {}).get("safety") or {}
    told = bool(safety.get("told"))
    how = safety.get("how", "not_reached" if safety else "pending")
    if audience == "staff":
        message = {"alert_raised": "Critical alert raised; the care team was notified.",
                   "alert_open": "Added to the open critical alert (the care team was notified when it opened).",
                   "direct": "No critical rule covered it: the care team was notified directly.",
                   }.get(how, "Nobody could be notified automatically: act on it now.")
    elif told and how == "alert_open":
        message = "Your care team has been told: this reading was added to the alert they already have open for you."
    elif told:
        message = "Your care team has been told about this reading."
    else:
        message = ("We could not reach your care team automatically. Call your clinic now, or " + number +
                   " if you have any of the symptoms above.")
    label = category_label(obs) or "Far outside the usual range"
    return {
        "critical": True, "title": f"{label}: this reading is in a dangerous range",
        "category": plain_category(obs), "remeasure": remeasure, "emergency": emergency,
        "emergency_number": number, "symptoms": list(CRISIS_SYMPTOMS), "care_team_told": told,
        "care_team_status": how, "care_team_message": message, "told_at": safety.get("at"),
        "alert": safety.get("alert"),
    }


def _store(patient, metric, value, value2, effective_at, *, context, details, actor, source, request, via):
    with transaction.atomic():
        existing = (Observation.objects.select_for_update()
                    .filter(patient=patient, source=source, metric=metric, effective_at=effective_at).first())
        if existing is not None and not (existing.details or {}).get("entered_in_error"):
            if existing.value == value and existing.value2 == value2 and existing.context == context:
                return existing  # the same reading sent twice (a retried request): nothing new
            # The store is an upsert: a second, different reading at the same instant would
            # silently replace the first. A person must decide.
            raise _error("effective_at", f"There is already a {METRICS[metric].label.lower()} reading at this "
                                         f"time ({existing}). Change the time, or mark that one entered in error.")
        readings = [Reading(metric=metric, effective_at=effective_at, value=value, value2=value2, context=context,
                            details=details)]
        bmi = None
        height = float(patient.height_cm) if patient.height_cm else None
        if metric == "weight" and height and interpret("weight", value)[0] != Interpretation.INVALID:
            # BMI with the height known now; a later height change does not rewrite old BMIs
            # (they record the height used), new weights use the new height.
            bmi = classify.bmi(value, height)  # unrounded: the class follows the exact value
            readings.append(Reading(metric="bmi", effective_at=effective_at, value=bmi,
                                    details={"computed_from": {"weight_kg": value, "height_cm": height}}))
        store(patient, source, readings)
        rows = Observation.objects.filter(patient=patient, source=source, effective_at=effective_at,
                                          metric__in=[r.metric for r in readings])
        rows.update(entered_by=actor)
        observation = rows.select_related("entered_by").get(metric=metric)
        metadata = {"event": "observation_record", "metric": metric, "source": source, "via": via,
                    "interpretation": observation.interpretation, "category": observation.category}
        if existing is not None:
            metadata["replaced_entered_in_error"] = str(existing.pk)
        if bmi is not None:
            metadata["bmi"] = bmi
        audit.record(action="write", request=request, actor=actor, resource="clinical", patient=patient,
                     object_id=observation.pk, metadata=metadata)
    return observation


def observation_mark_error(observation: Observation, *, actor, reason: str, request=None) -> Observation:
    """Staff mark a manual reading entered in error. The row stays (with who, when and
    why) and becomes "invalid", so trends and rules leave it out; a BMI computed from
    a weight goes with it."""
    if observation.source not in MANUAL_SOURCES:
        raise _error("observation", "Only readings entered by a person can be marked entered in error.")
    reason = (reason or "").strip()
    if not reason:
        raise _error("reason", "Say what was wrong.")
    with transaction.atomic():
        targets = [observation]
        if observation.metric == "weight":
            targets += list(Observation.objects.filter(patient_id=observation.patient_id, source=observation.source,
                                                       metric="bmi", effective_at=observation.effective_at))
        for row in targets:
            details = dict(row.details or {})
            if details.get("entered_in_error"):
                continue
            details.update({"entered_in_error": True, "error_reason": reason[:300],
                            "error_by": actor.get_full_name() or actor.email, "error_at": timezone.now().isoformat(),
                            "original": {"interpretation": row.interpretation, "category": row.category}})
            row.details = details
            row.interpretation = Interpretation.INVALID
            row.save(update_fields=["details", "interpretation"])
        audit.record(action="update", request=request, actor=actor, resource="clinical",
                     patient=observation.patient, object_id=observation.pk,
                     metadata={"event": "observation_entered_in_error", "metric": observation.metric,
                               "reason": reason[:300]})
        patient_id, source, metrics = observation.patient_id, observation.source, {r.metric for r in targets}
        # The rules engine re-evaluates without the withdrawn value.
        transaction.on_commit(lambda: data_ingested.send(sender=Observation, patient_id=patient_id, source=source,
                                                         metrics=metrics, days=set()))
    return observation


# --- Presentation shared by the chart, the portal and the API -------------------------


def entered_in_error(obs: Observation) -> bool:
    return bool((obs.details or {}).get("entered_in_error"))


def category_label(obs: Observation) -> str:
    return CATEGORY_LABELS.get(obs.metric, {}).get(obs.category, "")


def category_source(obs: Observation) -> str:
    if obs.category and obs.metric in CATEGORY_SOURCES:
        return CATEGORY_SOURCES[obs.metric]
    if obs.interpretation in (Interpretation.NORMAL, Interpretation.ABNORMAL, Interpretation.CRITICAL):
        return REFERENCE_NOTE if obs.metric in ("spo2", "resting_heart_rate", "heart_rate", "respiratory_rate",
                                                 "body_temperature") else ""
    return ""


def plain_category(obs: Observation) -> str:
    """What a patient reads: "Stage 1 hypertension (ACC/AHA 2017, home)"."""
    if entered_in_error(obs):
        return "Entered in error"
    if obs.interpretation == Interpretation.INVALID:
        return "Not a possible value: please check it"
    label = category_label(obs)
    if not label:
        return {"normal": "In the usual range", "abnormal": "Outside the usual range",
                "critical": "Far outside the usual range"}.get(obs.interpretation, "")
    where = [SHORT_SOURCES[obs.metric]]
    if obs.context and obs.metric in ("blood_pressure", "glucose"):
        where.append(CONTEXT_LABELS.get(obs.context, obs.context))
    return f"{label} ({', '.join(where)})"


def display_value(obs: Observation) -> str:
    """The stored value in its canonical unit, as a clinician reads it."""
    decimals = 0 if obs.metric in ("blood_pressure", "heart_rate", "resting_heart_rate", "glucose", "steps") else 1
    if obs.metric == "bmi":
        decimals = 1
    number = f"{obs.value:.{decimals}f}"
    if obs.value2 is not None:
        number += f"/{obs.value2:.{decimals}f}"
    return number


def entered_as(obs: Observation) -> str:
    """"98.6 °F" when the person typed another unit than the one stored."""
    entered = (obs.details or {}).get("entered") or {}
    unit = entered.get("unit")
    if not unit or unit == obs.unit or unit in ("bpm", "mmHg", "%"):
        return ""
    shown = f"{entered.get('value'):g}"
    if entered.get("value2") is not None:
        shown += f"/{entered['value2']:g}"
    return f"{shown} {units.label(unit)}"


def decorate(obs: Observation) -> Observation:
    """Attach the display strings templates use (no queries)."""
    obs.in_error = entered_in_error(obs)
    obs.category_label = category_label(obs)
    obs.category_source = category_source(obs)
    obs.short_source = SHORT_SOURCES.get(obs.metric, "") if obs.category else (
        "Reference range" if obs.category_source else "")
    obs.plain_category = plain_category(obs)
    obs.display = display_value(obs)
    obs.unit_label = units.label(obs.unit)
    obs.entered_as = entered_as(obs)
    obs.note = (obs.details or {}).get("note", "")
    obs.context_label = CONTEXT_LABELS.get(obs.context, obs.context)
    obs.manual = obs.source in MANUAL_SOURCES
    obs.chip = "invalid" if obs.in_error else (obs.interpretation or "none")
    obs.safety = (obs.details or {}).get("safety") or {}
    return obs


def saved_crisis(patient, observation_id) -> tuple[Observation, dict] | tuple[None, None]:
    """The alarm box for a reading of this patient just saved (?saved=<id> after a redirect)."""
    import uuid

    try:
        pk = uuid.UUID(str(observation_id))
    except ValueError:
        return None, None
    obs = Observation.objects.filter(pk=pk, patient_id=patient.pk).select_related("patient__program__project").first()
    guidance = crisis_guidance(obs) if obs is not None else None
    return (decorate(obs), guidance) if guidance else (None, None)
