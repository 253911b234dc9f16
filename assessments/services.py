"""Questionnaire services: the only writers of assessments' models. Pages, the API, the
management commands and the tasks all call these.

The safety pathway (issue 14; CLINICAL.md "PHQ-9 item 9"): `response_submit` stores the
response and, in the same transaction, for an answer to a safety item at or above its
threshold (PHQ-9 item 9 > "not at all", whatever the total):
  1. writes a `safety_answer` Observation and runs clinical's `questionnaire_safety` rule for the
     patient through clinical.alerting.evaluate_patient: a critical alert (assigned to the care
     team's first member: the rule's action is assign_task) and the safety-critical
     `alert_created` notification, which opt-outs and quiet hours can't silence (messaging.notify,
     urgent). Escalation to the program's leads is clinical's existing path (escalate_alerts).
  2. if that alert was already open (a second positive answer before anyone closed the first),
     the rule engine updates it silently, so we notify the care team ourselves, urgently;
     and if the rule engine failed, we notify anyway: a safety answer is never silent.
  3. records a SafetyEvent (the answer, the alert, who, a due time from the program setting
     `assessments.safety_response_minutes`, default 60) that staff close with a documented outcome.
The caller shows the patient `crisis_resources(patient)` at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, prefetch_related_objects
from django.utils import timezone

from assessments import fhir, instruments, scoring
from assessments.models import Answer, Assignment, Question, Questionnaire, Response, SafetyEvent, Schedule
from clinical import alerting
from clinical.alerting import recipients_for
from clinical.default_rules import ensure_project_rule
from clinical.ingest import Reading, store
from clinical.models import Alert, ClinicalRule, Observation, Severity
from mahalo import audit, config

logger = logging.getLogger(__name__)

SAFETY_RULE_CODE = "questionnaire_safety"
SAFETY_METRIC = "safety_answer"
SAFETY_MINUTES_KEY = "assessments.safety_response_minutes"
DEFAULT_SAFETY_MINUTES = 60
CRISIS_KEY = "assessments.crisis_resources"
# Plain words, US defaults (issue 14): a program overrides them with a JSON list in its settings.
DEFAULT_CRISIS = [
    {"label": "988 Suicide & Crisis Lifeline", "detail": "Call or text 988, any time, free and confidential.",
     "href": "tel:988", "action": "Call 988"},
    {"label": "Emergency", "detail": "If you are in danger right now or might act on these thoughts, call 911.",
     "href": "tel:911", "action": "Call 911"},
]
EXPIRY_HOURS_KEY = "assessments.expiry_hours"
DEFAULT_EXPIRY_HOURS = 72
REMIND_BEFORE_EXPIRY = dt.timedelta(hours=24)
MAX_TEXT_ANSWER = 2000


# --- Observations: the one adapter to clinical's writer ------------------------------------------

def _store_observations(patient, source: str, readings: list[dict]) -> None:
    """Write readings (scores, the safety answer) through clinical's one writer of observations."""
    store(patient, source, [Reading(**r) for r in readings])


def _observation_id(patient, metric: str, at):
    return (Observation.objects.filter(patient=patient, metric=metric, effective_at=at)
            .values_list("pk", flat=True).first())


# --- Instruments ---------------------------------------------------------------------------------

def _items(questions) -> list[scoring.Item]:
    return [scoring.Item(link_id=q.link_id, code=q.code,
                         scored=any(o.get("score") is not None for o in q.options or []))
            for q in questions if q.answerable]


@transaction.atomic
def questionnaire_create(*, project, parsed: fhir.Parsed, actor=None, builtin: bool = False, preamble: str = "",
                         status: str = Questionnaire.Status.PUBLISHED, request=None) -> Questionnaire:
    """Store a parsed instrument as the next version of its code in the project. Published
    versions are never changed: a re-import is a new version."""
    items = [scoring.Item(link_id=q["link_id"], code=q["code"],
                          scored=any(o.get("score") is not None for o in q["options"])) for q in parsed.questions
             if q["type"] != "display"]
    try:
        scoring.check_declaration(parsed.scoring, items)
    except scoring.ScoringError as exc:
        raise fhir.ImportRefused([str(exc)]) from None
    latest = (Questionnaire.objects.select_for_update().filter(project=project, code=parsed.code)
              .aggregate(v=Max("version"))["v"] or 0)
    now = timezone.now()
    questionnaire = Questionnaire.objects.create(
        project=project, code=parsed.code, version=latest + 1, version_label=parsed.version_label, url=parsed.url,
        name=parsed.name, description=parsed.description, scoring=parsed.scoring, builtin=builtin,
        preamble=preamble or parsed.preamble, created_by=actor, status=status,
        trigger_mode=Questionnaire.TriggerMode.MANUAL,
        published_at=now if status == Questionnaire.Status.PUBLISHED else None)
    Question.objects.bulk_create([
        Question(questionnaire=questionnaire, order=i, **{k: v for k, v in q.items()})
        for i, q in enumerate(parsed.questions, start=1)])
    if not builtin:  # loading the built-ins is the system's doing, not a person's
        audit.record(action="write", request=request, actor=actor, resource="settings", project=project,
                     object_id=questionnaire.pk, metadata={"event": "questionnaire_create", "code": parsed.code,
                                                           "version": questionnaire.version})
    return questionnaire


def questionnaire_import(*, project, raw: bytes | str | dict, actor=None, request=None) -> Questionnaire:
    """Import a FHIR R4 Questionnaire (JSON text or a parsed dict). Raises fhir.ImportRefused."""
    data = raw if isinstance(raw, dict) else fhir.loads(raw)
    return questionnaire_create(project=project, parsed=fhir.parse(data), actor=actor, request=request)


def ensure_builtins(project) -> int:
    """Load PHQ-9, PHQ-2 and GAD-7 into a project unless it has them. Idempotent."""
    have = set(Questionnaire.objects.filter(project=project, builtin=True).values_list("code", flat=True))
    created = 0
    for data, preamble in instruments.builtin_definitions():
        parsed = fhir.parse(data)
        if parsed.code in have:
            continue
        try:
            with transaction.atomic():
                questionnaire_create(project=project, parsed=parsed, builtin=True, preamble=preamble)
        except IntegrityError:
            continue  # a concurrent run created it
        created += 1
    return created


def published(project):
    """The newest published version of each instrument in the project."""
    rows = Questionnaire.objects.filter(project=project, status=Questionnaire.Status.PUBLISHED)
    newest = {}
    for q in rows.order_by("code", "-version"):
        newest.setdefault(q.code, q)
    return sorted(newest.values(), key=lambda q: q.name.lower())


def resolve(project, ref) -> Questionnaire | None:
    """A questionnaire by id (any version) or by code (the newest published version)."""
    if ref in (None, ""):
        return None
    rows = Questionnaire.objects.filter(project=project)
    try:
        found = rows.filter(pk=str(ref)).first()
    except (ValueError, ValidationError):
        found = None
    if found is not None:
        return found
    return rows.filter(code=str(ref), status=Questionnaire.Status.PUBLISHED).order_by("-version").first()


# --- Assignment ---------------------------------------------------------------------------------

def _expiry_hours(patient) -> int:
    return config.get_int(EXPIRY_HOURS_KEY, DEFAULT_EXPIRY_HOURS, program=patient.program,
                          project=patient.project) or DEFAULT_EXPIRY_HOURS


def assignment_create(*, patient, questionnaire: Questionnaire, actor=None, due: dt.datetime | None = None,
                      available_at: dt.datetime | None = None, expires_at: dt.datetime | None = None,
                      source: str = Assignment.Source.MANUAL, reason: str = "", draft: dict | None = None,
                      schedule: Schedule | None = None, occurrence: dt.datetime | None = None, request=None,
                      now: dt.datetime | None = None) -> Assignment:
    """Assign one questionnaire to one patient. Precondition: the caller gated the actor
    (clinical:write on the patient). Raises ValidationError for a bad window."""
    now = now or timezone.now()
    errors = {}
    if questionnaire.project_id != patient.project_id or not questionnaire.is_published:
        errors["questionnaire"] = ["Choose a published questionnaire of this patient's organisation."]
    for name, value in (("due", due), ("available_at", available_at), ("expires_at", expires_at)):
        if value is not None and timezone.is_naive(value):
            errors[name] = ["The time needs a UTC offset."]
    if errors:
        raise ValidationError(errors)
    available_at = available_at or now
    if due is not None and due < available_at:
        raise ValidationError({"due": ["The due time is before the questionnaire opens."]})
    if expires_at is None:
        expires_at = (due or available_at) + dt.timedelta(hours=_expiry_hours(patient))
    if expires_at <= available_at:
        raise ValidationError({"expires_at": ["It would expire before it opens."]})
    with transaction.atomic():
        assignment = Assignment.objects.create(
            project_id=patient.project_id, program_id=patient.program_id, patient=patient,
            questionnaire=questionnaire, source=source, schedule=schedule, occurrence=occurrence,
            assigned_by=actor, assigned_at=now, available_at=available_at, due_at=due or available_at,
            expires_at=expires_at, reason=reason[:300], draft=draft or {},
            status=Assignment.Status.IN_PROGRESS if draft else Assignment.Status.NEW)
        audit.record(action="write", request=request, actor=actor, resource="clinical", patient=patient,
                     object_id=assignment.pk, metadata={"event": "questionnaire_assign", "code": questionnaire.code,
                                                        "source": source})
        if available_at <= now:
            remind(assignment, now=now)
    return assignment


def remind(assignment: Assignment, *, now=None, before_expiry: bool = False) -> None:
    """The patient's `questionnaire_due` notification (opt-outs and quiet hours apply: it is not
    safety-critical). Idempotent per assignment and kind."""
    from messaging.notify import notify

    now = now or timezone.now()
    user = assignment.patient.user
    if user is not None:
        notify(event_type="questionnaire_due", recipients=[user],
               context={"name": assignment.questionnaire.name,
                        "expires": assignment.expires_at.isoformat() if assignment.expires_at else ""},
               key=f"questionnaire-{'expiring' if before_expiry else 'due'}:{assignment.pk}",
               patient=assignment.patient, link=f"/portal/questionnaires/{assignment.pk}/", now=now)
    field_name = "expiry_reminded_at" if before_expiry else "reminded_at"
    Assignment.objects.filter(pk=assignment.pk).update(**{field_name: now})


def assignment_skip(*, assignment: Assignment, actor, request=None) -> Assignment:
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if not assignment.is_open:
            raise ValidationError({"assignment": [f"It is already {assignment.get_status_display().lower()}."]})
        assignment.status = Assignment.Status.SKIPPED
        assignment.save(update_fields=["status", "updated_at"])
        audit.record(action="update", request=request, actor=actor, resource="clinical",
                     patient=assignment.patient, object_id=assignment.pk, metadata={"event": "questionnaire_skip"})
    return assignment


def open_assignments(patient, now=None):
    now = now or timezone.now()
    return (Assignment.objects.filter(patient=patient, status__in=Assignment.OPEN, available_at__lte=now)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .select_related("questionnaire").annotate(n_questions=Count("questionnaire__questions"))
            .order_by("due_at", "available_at"))


# --- Answers ---------------------------------------------------------------------------------------

@dataclass
class Checked:
    rows: list[tuple[Question, str, str, float | None]] = field(default_factory=list)  # (q, value, display, score)
    scores: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


def _by_key(questions) -> dict[str, Question]:
    """Answers are keyed by linkId, or by the item's code where it is unique in the form."""
    out = {q.link_id: q for q in questions}
    codes: dict[str, list[Question]] = {}
    for q in questions:
        if q.code:
            codes.setdefault(q.code, []).append(q)
    for code, qs in codes.items():
        if len(qs) == 1 and code not in out:
            out[code] = qs[0]
    return out


def _empty(value) -> bool:
    return value is None or value == "" or value == []


def is_enabled(question: Question, values: dict[str, object]) -> bool:
    """FHIR enableWhen over the answers so far (by linkId)."""
    if not question.enable_when:
        return True
    results = []
    for cond in question.enable_when:
        got = values.get(cond.get("question"))
        op, want = cond.get("operator"), cond.get("answer")
        if op == "exists":
            results.append((not _empty(got)) == bool(want))
            continue
        if _empty(got):
            results.append(op == "!=")
            continue
        got_list = got if isinstance(got, list) else [got]
        try:
            if op in ("=", "!="):
                hit = any(str(g).lower() == str(want).lower() for g in got_list)
                results.append(hit if op == "=" else not hit)
            else:
                number = float(got_list[0])
                results.append({">": number > float(want), "<": number < float(want), ">=": number >= float(want),
                                "<=": number <= float(want)}[op])
        except (TypeError, ValueError, KeyError):
            results.append(False)
    return any(results) if question.enable_behavior == "any" else all(results)


def _normalize(question: Question, value) -> tuple[str, str, float | None]:
    """(stored value, display, score) or ValueError with the message for the patient."""
    kind = question.type
    if kind in Question.OPTION_TYPES:
        wanted = value if isinstance(value, list) else [value]
        if kind != Question.Type.MULTIPLE and len(wanted) != 1:
            raise ValueError("Choose one answer.")
        options = {o["code"]: o for o in question.options}
        picked = []
        for w in wanted:
            if isinstance(w, bool) or not isinstance(w, str | int):
                raise ValueError("Give the option's code.")
            option = options.get(str(w))
            if option is None:
                raise ValueError("Not one of the options: " + ", ".join(options) + ".")
            picked.append(option)
        scores = [_option_score(question, o) for o in picked]
        score = None if any(s is None for s in scores) else float(sum(scores))
        return "|".join(o["code"] for o in picked), "; ".join(o.get("display") or o["code"] for o in picked), score
    if isinstance(value, list):
        raise ValueError("Give one value.")
    if kind == Question.Type.BOOLEAN:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise ValueError("Answer true or false.")
        return ("true" if value else "false"), ("Yes" if value else "No"), None
    if kind in (Question.Type.INTEGER, Question.Type.DECIMAL):
        if isinstance(value, bool):
            raise ValueError("Enter a number.")
        try:
            number = float(value) if kind == Question.Type.DECIMAL else int(str(value).strip())
        except (TypeError, ValueError):
            raise ValueError("Enter a whole number." if kind == Question.Type.INTEGER else "Enter a number.") from None
        if not math.isfinite(number):
            raise ValueError("Enter a finite number.")
        return f"{number:g}" if isinstance(number, float) else str(number), str(number), None
    if kind == Question.Type.DATE:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValueError("Enter a date as YYYY-MM-DD.") from None
        return day.isoformat(), day.isoformat(), None
    text = str(value).strip()
    if len(text) > MAX_TEXT_ANSWER:
        raise ValueError(f"Keep it under {MAX_TEXT_ANSWER} characters.")
    return text, text, None


def _option_score(question: Question, option: dict) -> float | None:
    score = option.get("score")
    if score is None or not question.reverse_scored:
        return score
    known = [o["score"] for o in question.options if o.get("score") is not None]
    return max(known) + min(known) - score


def answers_check(questions: list[Question], raw: dict, *, partial: bool = False) -> Checked:
    """Validate {key: value} against the questions: unknown keys, codes not among the options,
    values of the wrong type, answers to disabled or display items, and (unless `partial`)
    missing required items. Errors are keyed by linkId."""
    out = Checked()
    by_key = _by_key(questions)
    values: dict[str, object] = {}
    for key, value in (raw or {}).items():
        question = by_key.get(str(key))
        if question is None:
            out.errors[str(key)] = ["No such question in this questionnaire."]
            continue
        if not question.answerable:
            out.errors[question.link_id] = ["This item is text to read; it takes no answer."]
            continue
        if not _empty(value):
            values[question.link_id] = value
    for question in questions:
        if not question.answerable:
            continue
        value = values.get(question.link_id)
        if not is_enabled(question, values):
            if value is not None:
                out.errors[question.link_id] = ["This question doesn't apply, given the earlier answers."]
            continue
        if value is None:
            if question.required and not partial:
                out.errors[question.link_id] = ["This question needs an answer."]
            continue
        try:
            stored, display, score = _normalize(question, value)
        except ValueError as exc:
            out.errors[question.link_id] = [str(exc)]
            continue
        out.rows.append((question, stored, display, score))
        out.scores[question.link_id] = score
    return out


def draft_save(*, assignment: Assignment, answers: dict, actor, request=None) -> Assignment:
    """Save and resume: keep valid answers so far (not scored). Bad values answer errors."""
    questions = list(assignment.questionnaire.questions.all())
    checked = answers_check(questions, answers, partial=True)
    if checked.errors:
        raise ValidationError(checked.errors)
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if not locked.is_open:
            raise ValidationError({"assignment": [f"This questionnaire is {locked.get_status_display().lower()}."]})
        locked.draft = {q.link_id: (v.split("|") if q.type == Question.Type.MULTIPLE else v)
                        for q, v, _d, _s in checked.rows}
        locked.status = Assignment.Status.IN_PROGRESS
        locked.save(update_fields=["draft", "status", "updated_at"])
    return locked


# --- Submitting a response -----------------------------------------------------------------------

@dataclass
class Submission:
    response: Response
    result: scoring.Result
    safety_events: list[SafetyEvent] = field(default_factory=list)
    triggered: list[Assignment] = field(default_factory=list)
    crisis: list[dict] | None = None


def response_submit(*, assignment: Assignment, answers: dict, actor, via: str, request=None,
                    now: dt.datetime | None = None) -> Submission:
    """Score and store a response, write its total as an Observation, run the safety pathway and
    the instrument's triggers: all in one transaction, so nothing is half-saved. Raises
    ValidationError (errors keyed by linkId) and stores nothing for bad answers.

    Precondition: the caller gated the actor (the patient themselves, or staff with
    clinical:write on the patient; `via="staff"` records that staff entered it)."""
    now = now or timezone.now()
    questionnaire = assignment.questionnaire
    questions = list(questionnaire.questions.all())
    checked = answers_check(questions, answers)
    if checked.errors:
        raise ValidationError(checked.errors)
    result = scoring.score(questionnaire.scoring, _items(questions), checked.scores)
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().select_related("patient__program", "patient__project").get(
            pk=assignment.pk)
        if not locked.is_open:
            raise ValidationError({"assignment": [f"This questionnaire is already "
                                                  f"{locked.get_status_display().lower()}."]})
        if locked.expires_at is not None and locked.expires_at <= now:
            raise ValidationError({"assignment": ["This questionnaire has expired."]})
        patient = locked.patient
        response = Response.objects.create(
            project_id=patient.project_id, patient=patient, assignment=locked, questionnaire=questionnaire,
            submitted_at=now, entered_by=actor, via=via, on_behalf=via == Response.Via.STAFF,
            total=result.total, complete=result.complete, prorated=result.prorated, severity=result.severity,
            subscales=result.subscales)
        Answer.objects.bulk_create([Answer(response=response, question=q, value=v, display=d, score=s)
                                    for q, v, d, s in checked.rows])
        locked.status, locked.completed_at, locked.draft = Assignment.Status.COMPLETED, now, {}
        locked.save(update_fields=["status", "completed_at", "draft", "updated_at"])
        source = "staff" if via == Response.Via.STAFF else "patient"
        metric = ((questionnaire.scoring or {}).get("total") or {}).get("metric")
        if result.total is not None and metric:
            _store_observations(patient, source, [{
                "metric": metric, "effective_at": now, "value": result.total,
                "details": {"questionnaire": questionnaire.code, "version": questionnaire.version,
                            "response": str(response.pk), "severity": result.severity, "prorated": result.prorated,
                            "loinc": questionnaire.scoring["total"].get("code", "")}}])
            response.observation_id = _observation_id(patient, metric, now)
            response.save(update_fields=["observation_id"])
        submission = Submission(response=response, result=result)
        hits = scoring.safety_hits(questionnaire.scoring or {}, _items(questions), checked.scores)
        if hits:
            submission.safety_events = _safety_pathway(response, patient, questions, checked, hits, source, now)
            response.safety_flag = True
            response.save(update_fields=["safety_flag"])
            submission.crisis = crisis_resources(patient)
        submission.triggered = _run_triggers(response, patient, questionnaire, result, checked, actor, now)
        audit.record(action="write", request=request, actor=actor, resource="clinical", patient=patient,
                     object_id=response.pk, metadata={"event": "questionnaire_response", "code": questionnaire.code,
                                                      "version": questionnaire.version, "total": result.total,
                                                      "via": via, "safety": bool(hits)})
    return submission


def _run_triggers(response, patient, questionnaire, result, checked, actor, now) -> list[Assignment]:
    """The instrument's declared triggers (PHQ-2 >= 3 assigns a PHQ-9 at once, carrying the two
    answers over by item code)."""
    made = []
    for trigger in (questionnaire.scoring or {}).get("triggers") or []:
        if result.total is None or result.total < float(trigger.get("min_total", math.inf)):
            continue
        target = resolve(patient.project, trigger.get("assign"))
        if target is None:
            logger.warning("Trigger of %s names %r, which project %s doesn't have", questionnaire.code,
                           trigger.get("assign"), patient.project_id)
            continue
        already = Assignment.objects.filter(patient=patient, questionnaire__code=target.code,
                                            status__in=Assignment.OPEN).exists()
        if already:
            continue
        draft = {}
        if trigger.get("carry"):
            target_by_code = {q.code: q for q in target.questions.all() if q.code}
            for q, value, _d, _s in checked.rows:
                if q.code in target_by_code:
                    draft[target_by_code[q.code].link_id] = value
        made.append(assignment_create(
            patient=patient, questionnaire=target, actor=None, source=Assignment.Source.TRIGGER, draft=draft,
            reason=f"{questionnaire.name} total {result.total:g} (at least {trigger['min_total']:g})", now=now))
    return made


def _safety_minutes(patient) -> int:
    value = config.get_int(SAFETY_MINUTES_KEY, DEFAULT_SAFETY_MINUTES, program=patient.program,
                           project=patient.project)
    return value if value and value > 0 else DEFAULT_SAFETY_MINUTES


def ensure_safety_rule(patient):
    """clinical's rule behind the safety alert: project level, critical, assign_task. A program
    may not switch it off: it is always evaluated explicitly on a safety answer."""

    return ensure_project_rule(
        patient.project_id, SAFETY_RULE_CODE, metric=SAFETY_METRIC,
        name="Safety answer on a questionnaire (PHQ-9 item 9: thoughts of self-harm)",
        description="A questionnaire's safety item answered above 'not at all', whatever the total. "
                    "Contact the patient now and record the outcome.",
        condition=ClinicalRule.Condition.GT, threshold=0, window_days=1, severity=Severity.CRITICAL,
        action=ClinicalRule.Action.ASSIGN_TASK, priority=1000)


def _safety_pathway(response, patient, questions, checked, hits, source, now) -> list[SafetyEvent]:
    rows = {q.link_id: (q, d) for q, _v, d, _s in checked.rows}
    _store_observations(patient, source, [{
        "metric": SAFETY_METRIC, "effective_at": now, "value": max(max(s for _i, s in hits), 1.0),
        "details": {"questionnaire": response.questionnaire.code, "response": str(response.pk),
                    "items": [{"link_id": item.link_id, "code": item.code, "answer": rows[item.link_id][1],
                               "score": score} for item, score in hits]}}])
    alert = None
    try:
        outcomes = alerting.evaluate_patient(patient, rules=[ensure_safety_rule(patient)], now=now)
        outcome = outcomes[0] if outcomes else None
        alert = outcome.alert if outcome else None
        created = bool(outcome and outcome.created)
    except Exception:  # noqa: BLE001 - whatever broke, a human must still hear of it below
        logger.exception("Safety rule failed for patient %s; notifying the care team directly", patient.pk)
        created = False
    if not created:
        _notify_safety(patient, response, alert, hits, rows, now)
    due = now + dt.timedelta(minutes=_safety_minutes(patient))
    events = []
    for item, score in hits:
        question = rows[item.link_id][0]
        events.append(SafetyEvent.objects.create(
            project_id=patient.project_id, patient=patient, response=response, question=question,
            answer_display=rows[item.link_id][1][:300], score=score, alert_id=alert.pk if alert else None,
            assignee=alert.assignee if alert else None, due_at=due))
        audit.record(action="write", resource="clinical", patient=patient, object_id=events[-1].pk,
                     metadata={"event": "safety_answer", "item": item.code or item.link_id, "score": score,
                               "alert": str(alert.pk) if alert else ""})
    if events:
        _safety_task(response, patient, events, rows, hits, due)
    return events


def _safety_task(response, patient, events, rows, hits, due) -> None:
    """One urgent care task per response with safety answers ("My tasks"), completed when the
    outcome is documented. A failure here is logged: the alert and the notification above stand."""
    from care.services import tasks as care_tasks

    answers = "; ".join(f"{rows[i.link_id][0].text[:80]}: {rows[i.link_id][1]}" for i, _s in hits)
    try:
        with transaction.atomic():
            care_tasks.task_for_safety(event=events[0], patient=patient, assignee=events[0].assignee, due_at=due,
                                       title=f"Safety answer on {response.questionnaire.name}: contact the patient",
                                       description=answers)
    except Exception:  # noqa: BLE001 - the safety pathway must not fail on its task
        logger.exception("Safety task failed for response %s", response.pk)


def _notify_safety(patient, response, alert, hits, rows, now) -> None:
    from messaging.notify import notify

    answers = "; ".join(f"{rows[i.link_id][0].text[:80]}: {rows[i.link_id][1]}" for i, _s in hits)
    notify(event_type="alert_created", recipients=recipients_for(patient),
           context={"patient_name": patient.full_name, "alert": f"Safety answer on {response.questionnaire.name} "
                                                               f"({answers})", "severity": "Critical"},
           key=f"safety:{response.pk}", patient=patient, urgent=True,
           link=f"/alerts/{alert.pk}/" if alert else f"/patients/{patient.pk}/assessments/", now=now)


def crisis_resources(patient) -> list[dict]:
    """What the patient sees at once after a safety answer (program setting, US default)."""
    value = config.get_setting(CRISIS_KEY, kind=list, program=patient.program, project=patient.project)
    if isinstance(value, list) and value and all(isinstance(v, dict) and v.get("label") for v in value):
        return value
    return DEFAULT_CRISIS


@transaction.atomic
def safety_outcome_record(*, event: SafetyEvent, outcome: str, note: str, actor, request=None) -> SafetyEvent:
    """Close a safety event with a documented outcome; the alert is resolved with it."""

    errors = {}
    if outcome not in SafetyEvent.Outcome.values:
        errors["outcome"] = ["Choose what was done."]
    if not (note or "").strip():
        errors["note"] = ["Document what happened (who, when, what was agreed)."]
    if errors:
        raise ValidationError(errors)
    event = SafetyEvent.objects.select_for_update().get(pk=event.pk)
    if event.outcome:
        raise ValidationError({"outcome": ["An outcome is already recorded."]})
    event.outcome, event.outcome_note = outcome, note.strip()
    event.outcome_by, event.outcome_at = actor, timezone.now()
    event.save(update_fields=["outcome", "outcome_note", "outcome_by", "outcome_at"])
    alert = Alert.objects.filter(pk=event.alert_id, status__in=Alert.OPEN).first() if event.alert_id else None
    if alert is not None and not SafetyEvent.objects.filter(alert_id=alert.pk, outcome="").exists():
        alerting.alert_resolve(alert=alert, actor=actor, request=request,
                               note=f"{event.get_outcome_display()}: {event.outcome_note}")
    if not SafetyEvent.objects.filter(response_id=event.response_id, outcome="").exists():
        from care.services import tasks as care_tasks

        siblings = SafetyEvent.objects.filter(response_id=event.response_id).values_list("pk", flat=True)
        care_tasks.complete_for_sources(model=SafetyEvent, ids=siblings, actor=actor, request=request,
                                        outcome=f"{event.get_outcome_display()}: {event.outcome_note}")
    audit.record(action="update", request=request, actor=actor, resource="clinical", patient=event.patient,
                 object_id=event.pk, metadata={"event": "safety_outcome", "outcome": outcome})
    return event


# --- Schedules, expiry and reminders (tasks) --------------------------------------------------------

def schedule_create(*, questionnaire: Questionnaire, actor, rrule: str, starts_on: dt.date, local_time: dt.time,
                    window_hours: int = DEFAULT_EXPIRY_HOURS, patient=None, program=None, request=None) -> Schedule:
    """Precondition: the caller gated the patient or program. Raises ValidationError."""
    rule_text = (rrule or "").strip().removeprefix("RRULE:")
    try:
        rrulestr(rule_text, dtstart=dt.datetime.combine(starts_on, local_time))
    except (ValueError, TypeError) as exc:
        raise ValidationError({"rrule": [f"Not a valid RRULE: {exc}"]}) from None
    if "COUNT=" not in rule_text.upper() and "UNTIL=" not in rule_text.upper():
        raise ValidationError({"rrule": ["Give an end: COUNT=… or UNTIL=…."]})
    if not 1 <= window_hours <= 24 * 60:
        raise ValidationError({"window_hours": ["Between 1 hour and 60 days."]})
    project = (patient or program).project
    schedule = Schedule.objects.create(project=project, program=program, patient=patient,
                                       questionnaire=questionnaire, rrule=rule_text, starts_on=starts_on,
                                       local_time=local_time, window_hours=window_hours, created_by=actor)
    audit.record(action="write", request=request, actor=actor, resource="clinical", patient=patient,
                 project=project, object_id=schedule.pk, metadata={"event": "questionnaire_schedule",
                                                                   "rrule": rule_text})
    generate_due(now=timezone.now(), schedules=[schedule])
    return schedule


def occurrences(schedule: Schedule, tz, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The schedule's occurrences in (start, end], computed in the program's wall-clock time
    (so 09:00 stays 09:00 across DST), returned in UTC."""
    first = dt.datetime.combine(schedule.starts_on, schedule.local_time)
    rule = rrulestr(schedule.rrule, dtstart=first)
    out = []
    for naive in rule:
        moment = naive.replace(tzinfo=tz).astimezone(dt.UTC)
        if moment > end:
            break
        if moment > start:
            out.append(moment)
    return out


def generate_due(*, now: dt.datetime | None = None, schedules=None) -> int:
    """Create the assignments whose occurrence has arrived (idempotent: the occurrence is unique
    per schedule and patient). Runs from beat every few minutes."""
    from patients.models import Patient

    now = now or timezone.now()
    made = 0
    qs = schedules if schedules is not None else Schedule.objects.filter(active=True).select_related(
        "questionnaire", "program", "patient__program").filter(config.feature_q(config.QUESTIONNAIRES))
    # (a tenant with questionnaires switched off gets no new assignments; a schedule saved by hand is the
    # caller's own choice, made on a page the flag already guards)
    for schedule in qs:
        patients = ([schedule.patient] if schedule.patient_id else
                    list(Patient.objects.filter(program=schedule.program, status=Patient.Status.ACTIVE)
                         .select_related("program", "project", "user")))
        since = schedule.generated_until or dt.datetime.combine(schedule.starts_on, dt.time.min, tzinfo=dt.UTC) \
            - dt.timedelta(days=1)
        for patient in patients:
            tz = patient.program.tz if patient.program_id else dt.UTC
            for moment in occurrences(schedule, tz, since, now):
                if moment + dt.timedelta(hours=schedule.window_hours) <= now:
                    continue  # a missed window in the past: nothing to answer any more
                try:
                    with transaction.atomic():
                        assignment_create(patient=patient, questionnaire=schedule.questionnaire,
                                          source=Assignment.Source.SCHEDULE, schedule=schedule, occurrence=moment,
                                          available_at=moment, due=moment,
                                          expires_at=moment + dt.timedelta(hours=schedule.window_hours), now=now)
                    made += 1
                except IntegrityError:
                    continue
        Schedule.objects.filter(pk=schedule.pk).update(generated_until=now)
    return made


def expire_and_remind(*, now: dt.datetime | None = None) -> dict:
    """Open assignments past their expiry become expired; those opening now get their reminder,
    those expiring within a day get a second one."""
    now = now or timezone.now()
    switched_on = config.feature_q(config.QUESTIONNAIRES, "patient__project")  # off: nothing changes
    expired = Assignment.objects.filter(switched_on, status__in=Assignment.OPEN, expires_at__lte=now).update(
        status=Assignment.Status.EXPIRED, updated_at=now)
    reminded = 0
    due = (Assignment.objects.filter(switched_on, status__in=Assignment.OPEN, available_at__lte=now,
                                     reminded_at__isnull=True)
           .select_related("questionnaire", "patient__user", "patient__program", "patient__project"))
    for assignment in due.iterator(chunk_size=200):
        with transaction.atomic():
            remind(assignment, now=now)
        reminded += 1
    soon = (Assignment.objects.filter(switched_on, status__in=Assignment.OPEN,
                                      expires_at__lte=now + REMIND_BEFORE_EXPIRY,
                                      expires_at__gt=now, expiry_reminded_at__isnull=True,
                                      available_at__lte=now - dt.timedelta(hours=1))
            .select_related("questionnaire", "patient__user", "patient__program", "patient__project"))
    for assignment in soon.iterator(chunk_size=200):
        with transaction.atomic():
            remind(assignment, now=now, before_expiry=True)
        reminded += 1
    return {"expired": expired, "reminded": reminded}


# --- What the chart shows ------------------------------------------------------------------------------

HISTORY_ROWS = 12


def history(patient, rows: int = HISTORY_ROWS) -> list[dict]:
    """Per instrument: its latest `rows` responses newest first (and how many there are), each
    with the change since the previous one (significant when at least the instrument's
    `significant_change`). Answers are read for the shown rows only: two years of fortnightly
    PHQ-9s are 470 answers the tab would otherwise load and render on every visit."""
    responses = list(Response.objects.filter(patient=patient).select_related("questionnaire", "entered_by")
                     .order_by("submitted_at"))
    by_code: dict[str, dict] = {}
    for r in responses:
        entry = by_code.setdefault(r.questionnaire.code, {"name": r.questionnaire.name, "code": r.questionnaire.code,
                                                          "scoring": r.questionnaire.scoring, "rows": []})
        previous = next((p for p in reversed(entry["rows"]) if p["response"].total is not None), None)
        change = None
        if previous is not None and r.total is not None:
            change = r.total - previous["response"].total
        threshold = (r.questionnaire.scoring or {}).get("significant_change")
        entry["rows"].append({"response": r, "change": change,
                              "significant": change is not None and threshold is not None and abs(change) >= threshold,
                              "severity_label": scoring.band_for(r.questionnaire.scoring, r.total)[1]
                              if r.total is not None and r.questionnaire.scoring else ""})
    out = []
    for entry in by_code.values():
        entry["rows"].reverse()
        entry["count"], entry["rows"] = len(entry["rows"]), entry["rows"][:rows]
        entry["latest"] = entry["rows"][0]
        entry["bands"] = (entry["scoring"] or {}).get("bands") or []
        out.append(entry)
    prefetch_related_objects([row["response"] for e in out for row in e["rows"]], "answers__question")
    return sorted(out, key=lambda e: e["name"])


# --- The portal's one-question-per-screen flow ----------------------------------------------------------

def prune(questions, answers: dict) -> dict:
    """Drop answers to questions that no longer apply (an earlier answer changed), until stable."""
    by_link = {q.link_id: q for q in questions}
    current = {k: v for k, v in answers.items() if k in by_link and not _empty(v)}
    while True:
        kept = {k: v for k, v in current.items() if is_enabled(by_link[k], current)}
        if kept == current:
            return kept
        current = kept


def steps(questions, answers: dict) -> list[Question]:
    """The questions the patient is asked, in order, given the answers so far."""
    return [q for q in questions if q.answerable and is_enabled(q, answers)]


def answer_step(*, assignment: Assignment, question: Question, value, actor, request=None) -> Assignment:
    """Record one screen's answer into the draft (empty: skipped). Raises ValidationError naming
    the item; the draft is unchanged then."""
    questions = list(assignment.questionnaire.questions.all())
    merged = dict(assignment.draft or {})
    if _empty(value):
        if question.required:
            raise ValidationError({question.link_id: ["This question needs an answer."]})
        merged.pop(question.link_id, None)
    else:
        merged[question.link_id] = value
    return draft_save(assignment=assignment, answers=prune(questions, merged), actor=actor, request=request)
