"""Alerts: running the rules for a patient, raising and updating alerts, their
transitions (acknowledge, resolve, dismiss, snooze, assign) and escalation.

One open alert per rule and patient (the partial unique constraint on Alert): a
rule that fires again updates its open alert (last_triggered_at, evidence, and
trigger_count when the evidence changed) instead of adding one. Two workers evaluating the same patient at once
both try to create; the loser's IntegrityError is caught and it updates the
winner's row instead.

After an alert is resolved or dismissed, the same rule opens a new one only for
news: a reading the closed alert's evidence did not hold (for `missing`: a whole
new window of silence since then). Otherwise the nightly run would re-open the alert a
clinician just closed, from the very readings they looked at.

Worsening after an acknowledgement or a snooze (issue 21, item 1)
-----------------------------------------------------------------
An acknowledgement says "I have seen this and I am acting on it"; a snooze says "I
expect more of the same for a while". Neither may silence news. When a rule fires
again on an acknowledged or snoozed alert, the firing is compared with
`Alert.seen_evidence` (the evidence as it stood when the alert was last
acknowledged or snoozed):

- snoozed (until a future time): a repeat of the same level stays hidden; data
  that is *worse* wakes it (see `is_worse`: a value beyond the most extreme one
  seen, a larger mean/rise/change, or a critical reading where none was seen);
- acknowledged and critical: any *new* reading meeting the rule re-opens it (the
  patient is still in crisis after someone decided what to do);
- acknowledged and not critical: only worse data re-opens it.
Only new readings can do this (the nightly re-run of the same data never does).

Design chosen: the alert *returns to the queue as worsened* (status back to
active, snooze cleared, `worsened_at`/`worsened_count` set, escalation restarted
from `worsened_at`), rather than a new alert linked to the old one. Why: one
clinical problem stays one alert (the partial unique constraint "one open alert
per rule and patient" keeps holding; issue 21 item 8 asks for exactly that); the
clinician finds the acknowledgement, its note, the snooze and the worsening in one
history instead of following links between records; and the queue, the nav count,
the API and escalation all already key on `status = active`, so nothing else has
to learn a second "open" state. The acknowledgement that came before stays on the
record (acknowledged_by/at/note and the django-simple-history versions).

Notifications (messaging.notify, event "alert_created", safety-critical):
- a new critical alert notifies the care team at once (urgent);
- a rule whose action is `notify` notifies the care team once per alert (its
  episode: key "alert:<id>"), whatever the severity;
- a worsened alert notifies its assignee, whoever acknowledged it and the care team
  (urgent; key "alert-worsened:<id>:<n>", once per worsening);
- other updates of an open alert, and repeats on a snoozed alert, are silent;
- escalation: an active critical alert nobody acknowledged within
  `alerts.escalation_minutes` (default 30; program overrides project) of its
  opening, or of its last worsening, notifies the program's leads once per episode
  (escalated_at; a worsening clears it).
"Care team" is the patient's active care-team links; with nobody on it, the
program's leads, so a critical alert is never sent to no one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clinical import rules as rule_engine
from clinical.models import Alert, ClinicalRule, RuleExecution, Severity
from clinical.triggers import queue_evaluation  # noqa: F401 - re-exported: run a patient's rules on commit
from mahalo import access, audit, config
from mahalo.models import Role, StaffMember, User
from messaging.notify import notify
from patients.models import CareTeamLink

logger = logging.getLogger(__name__)

ESCALATION_MINUTES_KEY = "alerts.escalation_minutes"
DEFAULT_ESCALATION_MINUTES = 30
MAX_SNOOZE = timedelta(days=30)
ALERT_ACTIONS = (ClinicalRule.Action.ALERT, ClinicalRule.Action.SUGGEST_VISIT, ClinicalRule.Action.ASSIGN_TASK,
                 ClinicalRule.Action.NOTIFY)
SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}

# What a rule's action does beyond its alert, registered by the app that owns the work (care turns
# assign_task into a care.Task): those apps sit above clinical, which can't import them.
ACTION_HANDLERS: dict[str, list] = {}


def register_action(action: str, handler) -> None:
    """handler(alert=, rule=, patient=) runs once, when a firing of a rule with this action opens an alert."""
    handlers = ACTION_HANDLERS.setdefault(action, [])
    if handler not in handlers:
        handlers.append(handler)


def _run_action_handlers(alert: Alert, rule: ClinicalRule, patient) -> None:
    for handler in ACTION_HANDLERS.get(rule.action, ()):
        try:
            with transaction.atomic():  # savepoint: a failing handler must not lose the alert
                handler(alert=alert, rule=rule, patient=patient)
        except Exception:  # noqa: BLE001 - logged; the alert stands and its assignee is set
            logger.exception("Action handler %s failed for alert %s", getattr(handler, "__name__", handler), alert.pk)


class AlertError(ValueError):
    """A transition that isn't allowed, or input it needs that is missing. `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class Outcome:
    rule: ClinicalRule
    result: rule_engine.RuleResult
    alert: Alert | None = None
    created: bool = False
    suppressed: bool = False
    worsened: bool = False  # an acknowledged or snoozed alert came back to the queue


# --- Which rules apply ---------------------------------------------------------------

def applicable_rules(patient) -> list[ClinicalRule]:
    """The enabled rules for the patient's program, highest priority first.

    A program-level rule replaces the project-level rule with the same code, even
    when the program's copy is disabled (that is how a program opts out)."""
    rows = ClinicalRule.objects.filter(project_id=patient.project_id).filter(
        Q(program__isnull=True) | Q(program_id=patient.program_id))
    by_code: dict[str, ClinicalRule] = {}
    for rule in rows:
        current = by_code.get(rule.code)
        if current is None or (rule.program_id is not None and current.program_id is None):
            by_code[rule.code] = rule
    chosen = [r for r in by_code.values() if r.enabled]
    return sorted(chosen, key=lambda r: (-r.priority, r.name, r.code))


# --- People --------------------------------------------------------------------------

def care_team_users(patient) -> list:
    links = (CareTeamLink.objects.filter(patient=patient, status=CareTeamLink.Status.ACTIVE, staff__is_active=True,
                                         staff__user__is_active=True)
             .select_related("staff__user").order_by("activated_at", "created_at"))
    return [link.staff.user for link in links]


def program_leads(program) -> list:
    """Who an escalation goes to: the project's Clinical Leads (global, or assigned to
    the program); failing that, global-scope staff whose role may update clinical data."""
    base = StaffMember.objects.filter(project_id=program.project_id, is_active=True, user__is_active=True)
    leads = base.filter(role__name="Clinical Lead").filter(
        Q(role__scope=Role.SCOPE_GLOBAL) | Q(assignments__program=program))
    if not leads.exists():
        leads = base.filter(role__scope=Role.SCOPE_GLOBAL, role__permissions__resource="clinical",
                            role__permissions__action="update")
    return [m.user for m in leads.select_related("user").distinct().order_by("user__email")]


def recipients_for(patient) -> list:
    return care_team_users(patient) or program_leads(patient.program)


def default_assignee(rule: ClinicalRule, patient):
    """assign_task: params["assignee"] (a user's email or id, who must be able to
    see the patient), else the first active care-team member."""
    wanted = (rule.params or {}).get("assignee")
    if wanted:
        user = User.objects.filter(Q(email__iexact=str(wanted)) | Q(pk=_as_uuid(wanted)), is_active=True).first()
        if user is not None and access.can(user, "clinical", "read", patient):
            return user
    team = care_team_users(patient)
    return team[0] if team else None


def _as_uuid(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- Evaluation ------------------------------------------------------------------------

def evaluate_patient(patient, rules=None, now: datetime | None = None) -> list[Outcome]:
    """Run the applicable (or given) rules for one patient; raise or update alerts for
    those that fire. Each rule in its own transaction: one broken rule can't block
    the others (it is logged)."""
    now = now or timezone.now()
    outcomes = []
    for rule in (rules if rules is not None else applicable_rules(patient)):
        try:
            result = rule_engine.evaluate(rule, patient, now)
        except Exception:  # noqa: BLE001 - one bad rule (bad params) must not silence the others
            logger.exception("Rule %s (%s) failed for patient %s", rule.pk, rule.code, patient.pk)
            continue
        outcome = Outcome(rule=rule, result=result)
        if result.fired:
            with transaction.atomic():
                _fire_for_problem(outcome, patient, now)
        outcomes.append(outcome)
    return outcomes


# --- One clinical problem, one alert (clinical/rules.py "One clinical problem, one alert") ----

def problem_alert(rule: ClinicalRule, patient, *, lock: bool = False) -> Alert | None:
    """The open alert another rule of `rule`'s problem raised for the patient, if any."""
    problem = rule_engine.problem_of(rule)
    if problem.startswith("rule:"):
        return None
    qs = Alert.objects.filter(patient=patient, status__in=Alert.OPEN, rule__isnull=False).exclude(rule=rule)
    if lock:
        qs = qs.select_for_update()
    for alert in qs.order_by("created_at"):
        if rule_engine.problem_of(alert.rule) == problem:
            return alert
    return None


def _fire_for_problem(outcome: Outcome, patient, now) -> None:
    rule = outcome.rule
    own = Alert.objects.filter(rule=rule, patient=patient, status__in=Alert.OPEN).exists()
    other = None if own else problem_alert(rule, patient, lock=True)
    if other is not None and SEVERITY_RANK[other.severity] <= SEVERITY_RANK[rule.severity]:
        _fold(outcome, other, patient, now)
        return
    _fire(outcome, patient, now)
    if other is not None and outcome.alert is not None:
        _merge_into(other, outcome.alert, now)


def _fold(outcome: Outcome, alert: Alert, patient, now) -> None:
    """Another rule of the alert's problem fired: its evidence joins the open alert
    (under evidence["also"][code]) instead of opening a second alert."""
    rule, result = outcome.rule, outcome.result
    evidence = dict(alert.evidence or {})
    also = dict(evidence.get("also") or {})
    before = also.get(rule.code) or {}
    also[rule.code] = {"rule": rule.name, "summary": result.summary, "readings": result.evidence,
                       "numbers": result.numbers}
    evidence["also"] = also
    changed = _evidence_keys(before.get("readings")) != _evidence_keys(result.evidence)
    alert.evidence = evidence
    alert.last_triggered_at = now
    fields = ["evidence", "last_triggered_at", "updated_at"]
    if changed:
        alert.trigger_count += 1
        fields.append("trigger_count")
    alert.save(update_fields=fields)
    RuleExecution.objects.create(project_id=patient.project_id, rule=rule, patient=patient, triggered=True,
                                 result=result.to_json(), alert=alert)
    outcome.alert, outcome.created = alert, False
    # Worse data of a side the clinician already saw re-opens the alert, as for its own rule.
    seen_side = ((alert.seen_evidence or {}).get("also") or {}).get(rule.code)
    if (seen_side and (_snoozed(alert, now) or alert.status == Alert.Status.ACKNOWLEDGED)
            and is_worse(rule, seen_side, result)):
        _reopen(alert, now)
        outcome.worsened = True
        audit.record(action="update", resource="clinical.alert", patient=patient, object_id=alert.pk,
                     metadata={"event": "worsened", "why": "worse", "rule": rule.code,
                               "times": alert.worsened_count})
        _notify_worsened(alert, patient)


def _merge_into(milder: Alert, worse: Alert, now) -> None:
    """A more severe rule of the same problem opened its alert: the milder one closes into it."""
    milder = Alert.objects.select_for_update().get(pk=milder.pk)
    if milder.status not in Alert.OPEN:
        return
    milder.status = Alert.Status.RESOLVED
    milder.closed_at = now
    milder.snoozed_until = None
    milder.closed_note = f"Merged into the more severe alert of the same problem: {worse.title}."
    milder.save(update_fields=["status", "closed_at", "closed_note", "snoozed_until", "updated_at"])
    evidence = dict(worse.evidence or {})
    also = dict(evidence.get("also") or {})
    ev = milder.evidence or {}
    also[milder.code] = {"rule": milder.title, "summary": milder.body, "readings": ev.get("readings") or [],
                         "numbers": ev.get("numbers") or {}}
    evidence["also"] = also
    worse.evidence = evidence
    worse.save(update_fields=["evidence", "updated_at"])
    audit.record(action="update", resource="clinical.alert", patient=milder.patient, object_id=milder.pk,
                 metadata={"event": "merged", "into": str(worse.pk)})


def _title(rule: ClinicalRule) -> str:
    if rule.action == ClinicalRule.Action.SUGGEST_VISIT:
        return f"Visit suggested: {rule.name}"[:200]
    if rule.action == ClinicalRule.Action.ASSIGN_TASK:
        return f"Task: {rule.name}"[:200]
    return rule.name[:200]


def _evidence(result: rule_engine.RuleResult) -> dict:
    return {"readings": result.evidence, "numbers": result.numbers, "summary": result.summary,
            "window_start": result.window_start.isoformat() if result.window_start else None,
            "window_end": result.window_end.isoformat() if result.window_end else None}


def _evidence_keys(readings) -> set:
    return {(r.get("id") or "", r.get("day") or "", r.get("at"), r.get("value"), r.get("value2"))
            for r in readings or []}


def is_news(rule: ClinicalRule, patient, result: rule_engine.RuleResult) -> bool:
    """May a firing result open a new alert, given the last closed one of this rule?

    Yes when its evidence holds a reading (or a day's value) that the closed alert's
    evidence did not: the clinician has not seen it. Compared by content, not by
    timestamps, so a reading whose ingest began before the closure and committed
    after it still counts as new. `missing`: only after a whole new window of
    silence since the closure."""
    # The rule's own closed alert, or one of its problem's into which its firing was folded.
    last = (Alert.objects.filter(Q(rule=rule) | Q(executions__rule=rule), patient=patient, closed_at__isnull=False)
            .order_by("-closed_at").only("closed_at", "evidence", "rule_id").first())
    if last is None:
        return True
    if rule.condition == ClinicalRule.Condition.MISSING:
        return result.window_start is not None and result.window_start >= last.closed_at
    evidence = last.evidence or {}
    if last.rule_id != rule.pk:
        evidence = (evidence.get("also") or {}).get(rule.code) or {}
    return bool(_evidence_keys(result.evidence) - _evidence_keys(evidence.get("readings")))


def plan(rule: ClinicalRule, patient, result: rule_engine.RuleResult) -> str:
    """What evaluate_patient would do with this result (the admin's dry run): reads only."""
    if not result.fired:
        return "nothing (the rule did not fire)"
    open_alert = Alert.objects.filter(rule=rule, patient=patient, status__in=Alert.OPEN).first()
    if open_alert is not None:
        if attention_change(open_alert, rule, result, timezone.now()):
            return "re-open the alert as worsened and notify the care team"
        return "update the open alert" + (" silently (snoozed)" if _snoozed(open_alert, timezone.now()) else "")
    sibling = problem_alert(rule, patient)
    if sibling is not None and SEVERITY_RANK[sibling.severity] <= SEVERITY_RANK[rule.severity]:
        return f"add its readings to the open alert of the same problem ({sibling.title})"
    if not is_news(rule, patient, result):
        return "nothing: no new data since the last alert of this rule was closed"
    return "open a new alert"


def _snoozed(alert: Alert, now) -> bool:
    return alert.snoozed_until is not None and alert.snoozed_until > now


def _fire(outcome: Outcome, patient, now) -> None:
    rule, result = outcome.rule, outcome.result
    alert, created, worsened = _open_or_update(rule, patient, result, now)
    outcome.alert, outcome.created, outcome.suppressed = alert, created, alert is None
    outcome.worsened = bool(worsened)
    RuleExecution.objects.create(project_id=patient.project_id, rule=rule, patient=patient, triggered=True,
                                 result=result.to_json(), alert=alert)
    if alert is not None and worsened:
        audit.record(action="update", resource="clinical.alert", patient=patient, object_id=alert.pk,
                     metadata={"event": "worsened", "why": worsened, "rule": rule.code,
                               "times": alert.worsened_count})
        _notify_worsened(alert, patient)
        return
    if alert is None or not created:
        return  # an update (or nothing new): silent
    audit.record(action="write", resource="clinical.alert", patient=patient, object_id=alert.pk,
                 metadata={"event": "alert_opened", "rule": rule.code, "severity": alert.severity})
    _run_action_handlers(alert, rule, patient)
    if alert.severity == Severity.CRITICAL or rule.action == ClinicalRule.Action.NOTIFY:
        _notify_new(alert, patient)


def _open_or_update(rule, patient, result, now) -> tuple[Alert | None, bool, str]:
    """(alert, created, why it worsened or "")."""
    existing = (Alert.objects.select_for_update()
                .filter(rule=rule, patient=patient, status__in=Alert.OPEN).first())
    if existing is not None:
        return _update(existing, rule, result, now)
    if not is_news(rule, patient, result):
        return None, False, ""
    alert = Alert(project_id=patient.project_id, patient=patient, program_id=patient.program_id, rule=rule,
                  code=rule.code, severity=rule.severity, title=_title(rule), body=result.summary,
                  evidence=_evidence(result), last_triggered_at=now, trigger_count=1)
    if rule.action == ClinicalRule.Action.ASSIGN_TASK:
        alert.assignee = default_assignee(rule, patient)
    try:
        with transaction.atomic():  # savepoint: the race's loser continues in this transaction
            alert.save()
    except IntegrityError:
        existing = Alert.objects.select_for_update().get(rule=rule, patient=patient, status__in=Alert.OPEN)
        return _update(existing, rule, result, now)
    return alert, True, ""


def _update(alert: Alert, rule, result, now) -> tuple[Alert, bool, str]:
    # Judged before the bump: a legacy row with no seen_evidence falls back to the
    # evidence it held until this firing.
    why = attention_change(alert, rule, result, now)
    alert = _bump(alert, rule, result, now)
    if why:
        _reopen(alert, now)
    return alert, False, why


# --- Worsening (module docstring) ------------------------------------------------------

WORSE_HIGHER = (ClinicalRule.Condition.GT, ClinicalRule.Condition.GTE, ClinicalRule.Condition.TREND_UP,
                ClinicalRule.Condition.RISE)


def _extreme(readings, key: str, higher: bool):
    values = [r.get(key) for r in readings or [] if isinstance(r.get(key), int | float)]
    if not values:
        return None
    return max(values) if higher else min(values)


def _beyond(new, old, higher: bool) -> bool:
    if new is None:
        return False
    if old is None:
        return True
    return new > old if higher else new < old


def is_worse(rule: ClinicalRule, seen: dict, result: rule_engine.RuleResult) -> bool:
    """Does this firing show a worse level than the evidence `seen` (an alert's
    evidence dict)? Pure. A critical reading where none was seen is worse; for
    comparisons a value (or the diastolic) beyond the most extreme seen in the
    rule's direction; for means, rises and trends a larger mean, rise or change.
    `missing` never worsens (silence has no level)."""
    C = ClinicalRule.Condition
    old_readings = (seen or {}).get("readings") or []
    old_numbers = (seen or {}).get("numbers") or {}
    new_keys = _evidence_keys(result.evidence) - _evidence_keys(old_readings)
    fresh = [r for r in result.evidence if (r.get("id") or "", r.get("day") or "", r.get("at"), r.get("value"),
                                            r.get("value2")) in new_keys]
    if rule.condition == C.MISSING or not fresh:
        return False
    if any(r.get("interpretation") == "critical" for r in fresh) and not any(
            r.get("interpretation") == "critical" for r in old_readings):
        return True
    higher = rule.condition in WORSE_HIGHER
    numbers = result.numbers or {}
    if rule.condition == C.RISE:
        return _beyond(numbers.get("rise"), old_numbers.get("rise"), True)
    if rule.condition in (C.TREND_UP, C.TREND_DOWN):
        return _beyond(numbers.get("change_pct"), old_numbers.get("change_pct"), higher)
    if "mean" in numbers:
        return (_beyond(numbers.get("mean"), old_numbers.get("mean"), higher)
                or _beyond(numbers.get("mean2"), old_numbers.get("mean2"), higher))
    for key in ("value", "value2"):
        if _beyond(_extreme(fresh, key, higher), _extreme(old_readings, key, higher), higher):
            return True
    return False


def attention_change(alert: Alert, rule: ClinicalRule, result: rule_engine.RuleResult, now) -> str:
    """Why this firing must put an acknowledged or snoozed alert back in front of a
    person ("worse" or "new_critical"), or "" when the update stays silent."""
    snoozed = _snoozed(alert, now)
    if not snoozed and alert.status != Alert.Status.ACKNOWLEDGED:
        return ""  # awake and active: it is in the queue already
    seen = alert.seen_evidence or alert.evidence or {}
    if not (_evidence_keys(result.evidence) - _evidence_keys(seen.get("readings"))):
        return ""  # nothing new (the nightly run, or a reading leaving the window)
    if is_worse(rule, seen, result):
        return "worse"
    if not snoozed and alert.severity == Severity.CRITICAL:
        return "new_critical"
    return ""


def _reopen(alert: Alert, now) -> None:
    alert.status = Alert.Status.ACTIVE
    alert.snoozed_until = None
    alert.escalated_at = None  # a new episode: escalation starts again from worsened_at
    alert.worsened_at = now
    alert.worsened_count += 1
    alert.save(update_fields=["status", "snoozed_until", "escalated_at", "worsened_at", "worsened_count",
                              "updated_at"])


def _notify_worsened(alert: Alert, patient) -> None:
    people = [u for u in (alert.assignee, alert.acknowledged_by) if u is not None
              and access.can(u, "clinical", "read", patient)]
    recipients = list({u.pk: u for u in [*people, *recipients_for(patient)]}.values())
    notify(event_type="alert_created", recipients=recipients,
           context={"patient_name": patient.full_name, "alert": f"WORSENED: {alert.title}. {alert.body}".strip(),
                    "severity": alert.get_severity_display()},
           key=f"alert-worsened:{alert.pk}:{alert.worsened_count}", patient=patient, urgent=True,
           link=f"/alerts/{alert.pk}/")
    for user in recipients:
        forget_count(user)


def _bump(alert: Alert, rule, result, now) -> Alert:
    # trigger_count counts firings that brought new evidence: the nightly run and
    # every ingest re-evaluate, and "fired 9 times" for one reading would be noise.
    old = [(r.get("id"), r.get("at"), r.get("value"), r.get("value2")) for r in (alert.evidence or {}).get(
        "readings", [])]
    new = [(r.get("id"), r.get("at"), r.get("value"), r.get("value2")) for r in result.evidence]
    if new != old:
        alert.trigger_count += 1
    alert.last_triggered_at = now
    also = (alert.evidence or {}).get("also")
    alert.evidence = _evidence(result)
    if also:  # what other rules of the same problem added (see _fold)
        alert.evidence["also"] = also
    alert.body = result.summary
    alert.save(update_fields=["trigger_count", "last_triggered_at", "evidence", "body", "updated_at"])
    return alert


def _notify_new(alert: Alert, patient) -> None:
    notify(event_type="alert_created", recipients=recipients_for(patient),
           context={"patient_name": patient.full_name, "alert": alert.title, "severity": alert.get_severity_display()},
           key=f"alert:{alert.pk}", patient=patient, urgent=alert.severity == Severity.CRITICAL,
           link=f"/alerts/{alert.pk}/")


# --- Transitions -----------------------------------------------------------------------

def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().select_related("patient__program", "patient__project").get(pk=alert.pk)


def _audit(alert: Alert, actor, request, event: str, **extra) -> None:
    audit.record(request=request, actor=actor, action="update", resource="clinical.alert", patient=alert.patient,
                 object_id=alert.pk, metadata={"event": event, **extra})
    forget_count(actor)


def _require_open(alert: Alert, verb: str) -> None:
    if alert.status not in Alert.OPEN:
        raise AlertError(f"This alert is already {alert.get_status_display().lower()}; it can't be {verb}.")


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor, note: str = "", request=None, now=None) -> Alert:
    alert = _locked(alert)
    if alert.status != Alert.Status.ACTIVE:
        raise AlertError(f"Only an active alert can be acknowledged; this one is "
                         f"{alert.get_status_display().lower()}.")
    alert.status = Alert.Status.ACKNOWLEDGED
    alert.acknowledged_by, alert.acknowledged_at = actor, now or timezone.now()
    alert.acknowledged_note = (note or "").strip()
    alert.seen_evidence = alert.evidence  # what "new" and "worse" are judged against from now on
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "acknowledged_note", "seen_evidence",
                              "updated_at"])
    _audit(alert, actor, request, "acknowledged")
    return alert


@transaction.atomic
def alert_resolve(*, alert: Alert, actor, note: str = "", request=None, now=None) -> Alert:
    alert = _locked(alert)
    _require_open(alert, "resolved")
    now = now or timezone.now()
    if alert.status == Alert.Status.ACTIVE:
        # Resolving implies it was seen: keep who and when, as an acknowledgement would.
        alert.acknowledged_by, alert.acknowledged_at = actor, now
    alert.status = Alert.Status.RESOLVED
    alert.closed_by, alert.closed_at, alert.closed_note = actor, now, (note or "").strip()
    alert.snoozed_until = None
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "closed_by", "closed_at",
                              "closed_note", "snoozed_until", "updated_at"])
    _audit(alert, actor, request, "resolved")
    return alert


@transaction.atomic
def alert_dismiss(*, alert: Alert, actor, note: str, request=None, now=None) -> Alert:
    note = (note or "").strip()
    if not note:
        raise AlertError("Say why the alert is dismissed.", field="note")
    alert = _locked(alert)
    _require_open(alert, "dismissed")
    alert.status = Alert.Status.DISMISSED
    alert.closed_by, alert.closed_at, alert.closed_note = actor, now or timezone.now(), note
    alert.snoozed_until = None
    alert.save(update_fields=["status", "closed_by", "closed_at", "closed_note", "snoozed_until", "updated_at"])
    _audit(alert, actor, request, "dismissed")
    return alert


@transaction.atomic
def alert_snooze(*, alert: Alert, actor, until: datetime | None, reason: str, request=None, now=None) -> Alert:
    now = now or timezone.now()
    reason = (reason or "").strip()
    if until is None:
        raise AlertError("Give the date and time to snooze until.", field="until")
    if timezone.is_naive(until):
        raise AlertError("Give the time with its time zone.", field="until")
    if until <= now:
        raise AlertError("Snooze until a moment in the future.", field="until")
    if until - now > MAX_SNOOZE:
        raise AlertError(f"Snooze for at most {MAX_SNOOZE.days} days.", field="until")
    if not reason:
        raise AlertError("Say why the alert is snoozed.", field="reason")
    alert = _locked(alert)
    _require_open(alert, "snoozed")
    alert.snoozed_until, alert.snooze_reason = until, reason
    alert.seen_evidence = alert.evidence  # a repeat of this level stays hidden; worse wakes it
    alert.save(update_fields=["snoozed_until", "snooze_reason", "seen_evidence", "updated_at"])
    _audit(alert, actor, request, "snoozed", until=until.isoformat())
    return alert


@transaction.atomic
def alert_unsnooze(*, alert: Alert, actor, request=None) -> Alert:
    alert = _locked(alert)
    _require_open(alert, "woken")
    alert.snoozed_until = None
    alert.save(update_fields=["snoozed_until", "updated_at"])
    _audit(alert, actor, request, "unsnoozed")
    return alert


def assignable_users(alert: Alert) -> list:
    """Active staff of the alert's project who may read the patient's clinical data."""
    members = (StaffMember.objects.filter(project_id=alert.project_id, is_active=True, user__is_active=True)
               .select_related("user", "role").order_by("user__full_name", "user__email"))
    return [m.user for m in members if access.can(m.user, "clinical", "read", alert.patient)]


@transaction.atomic
def alert_assign(*, alert: Alert, actor, assignee, request=None) -> Alert:
    alert = _locked(alert)
    _require_open(alert, "assigned")
    if assignee is not None and not access.can(assignee, "clinical", "read", alert.patient):
        raise AlertError("That person can't see this patient.", field="assignee")
    alert.assignee = assignee
    alert.save(update_fields=["assignee", "updated_at"])
    _audit(alert, actor, request, "assigned", assignee=str(assignee.pk) if assignee else "")
    if assignee is not None:
        forget_count(assignee)
    return alert


# --- Escalation --------------------------------------------------------------------------

def escalate_due(now: datetime | None = None) -> int:
    """Notify the program's leads of every active (unacknowledged), unsnoozed critical
    alert older than the program's escalation time (counted from its last worsening,
    if any). Once per alert and episode."""
    now = now or timezone.now()
    candidates = (Alert.objects.filter(status=Alert.Status.ACTIVE, severity=Severity.CRITICAL,
                                       escalated_at__isnull=True)
                  .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
                  .select_related("patient__program__project").order_by("created_at"))
    minutes_by_program: dict = {}
    done = 0
    for alert in candidates.iterator(chunk_size=200):
        program = alert.patient.program
        if program.pk not in minutes_by_program:
            minutes = config.get_int(ESCALATION_MINUTES_KEY, DEFAULT_ESCALATION_MINUTES, program=program,
                                     project=program.project)
            minutes_by_program[program.pk] = max(minutes if minutes is not None else DEFAULT_ESCALATION_MINUTES, 0)
        # The clock starts at the opening, or again at the last worsening.
        if (alert.worsened_at or alert.created_at) > now - timedelta(minutes=minutes_by_program[program.pk]):
            continue
        with transaction.atomic():
            # The conditional update is the "once": a concurrent sweeper matches no row.
            claimed = Alert.objects.filter(pk=alert.pk, escalated_at__isnull=True,
                                           status=Alert.Status.ACTIVE).update(escalated_at=now)
            if not claimed:
                continue
            notify(event_type="alert_created", recipients=program_leads(program),
                   context={"patient_name": alert.patient.full_name, "alert": f"ESCALATED: {alert.title}",
                            "severity": alert.get_severity_display()},
                   key=f"alert-escalated:{alert.pk}" + (f":{alert.worsened_count}" if alert.worsened_count else ""),
                   patient=alert.patient, urgent=True,
                   link=f"/alerts/{alert.pk}/", now=now)
            audit.record(action="update", resource="clinical.alert", patient=alert.patient, object_id=alert.pk,
                         metadata={"event": "escalated", "minutes": minutes_by_program[program.pk]})
            done += 1
    return done


# --- The nav count -------------------------------------------------------------------------

COUNT_TTL = 30


def _count_key(user_id) -> str:
    return f"clinical:open-alerts:{user_id}"


def open_alerts_for(user):
    """Open alerts of the patients the user may see (clinical:read)."""
    return access.scoped(user, Alert.objects.filter(status__in=Alert.OPEN), "clinical")


def open_alert_count(user) -> int:
    """Open, unsnoozed alerts the user may see, for the nav badge: one COUNT query,
    cached on the user object for the request and in the cache for COUNT_TTL seconds."""
    from django.core.cache import cache

    if not getattr(user, "is_authenticated", False):
        return 0
    if hasattr(user, "_open_alert_count"):
        return user._open_alert_count
    key = _count_key(user.pk)
    value = cache.get(key)
    if value is None:
        now = timezone.now()
        value = open_alerts_for(user).filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)).count()
        cache.set(key, value, COUNT_TTL)
    user._open_alert_count = value
    return value


def forget_count(user) -> None:
    from django.core.cache import cache

    if user is not None and getattr(user, "pk", None):
        cache.delete(_count_key(user.pk))
        if hasattr(user, "_open_alert_count"):
            del user._open_alert_count
