"""The triage queue (/alerts/), an alert's page, its transitions, the nav badge and
the rule dry run. Every alert is reached through the gate: the queue through
`clinical.triage.filter_alerts` (the same filter as /api/v1/alerts/), one alert
through `access.load` - a patient the user may not see has no alerts for them, and
an alert id of such a patient is a 404 like a missing one."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from clinical import alerting, triage
from clinical import rules as rule_engine
from clinical.alert_actions import actions_for
from clinical.alert_chart import alert_chart
from clinical.metrics import METRICS
from clinical.models import Alert, RuleExecution, Severity
from mahalo import access, audit
from mahalo.decorators import permission_required, staff_required
from mahalo.models import User
from mahalo.shell import current_program

STATUS_FILTERS = [("", "Open (not snoozed)"), ("active", "Active"), ("acknowledged", "Acknowledged"),
                  ("snoozed", "Snoozed"), ("resolved", "Resolved"), ("dismissed", "Dismissed"), ("all", "All")]
RELATED = ("patient__program", "assignee", "acknowledged_by", "closed_by")


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@vary_on_headers("HX-Request")
@permission_required("clinical", "read")
def alert_queue(request: HttpRequest) -> HttpResponse:
    focus = current_program(request)
    qs, filters, errors = triage.filter_alerts(request.user, request.GET, focus=focus)
    page = Paginator(qs.select_related(*RELATED), 50).get_page(request.GET.get("page"))
    audit.record(request=request, action="list", resource="clinical.alert",
                 metadata={"filters": {k: v for k, v in filters.items() if v}, "page": page.number,
                           "count": len(page.object_list)})
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page, "alerts": page.object_list, "filters": filters, "errors": errors, "focus": focus,
        "programs": access.program_list(request.user), "severities": Severity.choices,
        "statuses": STATUS_FILTERS, "query": query.urlencode(), "now": timezone.now(),
        "can_update": access.can(request.user, "clinical", "update"), "snooze_presets": SNOOZE_PRESETS,
        "open_count": alerting.open_alert_count(request.user),
    }
    template = "clinical/alert_queue.html#results" if request.htmx else "clinical/alert_queue.html"
    return render(request, template, context)


@staff_required
@require_GET
def alert_badge(request: HttpRequest) -> HttpResponse:
    """The nav badge's count, polled by HTMX (cached per user: cheap to ask every minute)."""
    count = alerting.open_alert_count(request.user) if access.can(request.user, "clinical", "read") else 0
    return render(request, "clinical/_alert_badge.html", {"count": count})


def _alert_for(request, alert_id, action: str = "read") -> Alert:
    # Audited by the page (as "clinical.alert"), not twice by the loader.
    return access.load(request, Alert.objects.select_related(*RELATED, "patient__project", "rule"), alert_id,
                       resource="clinical", action=action, audit_read=False)


def _detail_context(request, alert: Alert, **extra) -> dict:
    history = list(alert.history.select_related("history_user").order_by("-history_date", "-history_id")[:50])
    executions = list(access.scoped(request.user, RuleExecution.objects, "clinical").filter(alert=alert)
                      .order_by("-executed_at")[:20])
    can_update = access.can(request.user, "clinical", "update")
    return {
        "alert": alert, "patient": alert.patient, "tz": str(alert.patient.tz),
        "readings": evidence_rows(alert), "numbers": (alert.evidence or {}).get("numbers", {}),
        "also": also_rows(alert), "chart": alert_chart(alert), "next_alert": next_alert(request, alert),
        "actions": actions_for(request.user, alert), "snooze_presets": SNOOZE_PRESETS,
        "history": history_rows(history), "executions": executions, "can_update": can_update,
        "assignable": alerting.assignable_users(alert) if can_update and alert.status in Alert.OPEN else [],
        "snoozed": alert.snoozed_until is not None and alert.snoozed_until > timezone.now(),
        "errors": {}, "values": {}, **extra,
    }


@permission_required("clinical", "read")
def alert_detail(request: HttpRequest, alert_id) -> HttpResponse:
    alert = _alert_for(request, alert_id)
    audit.record(request=request, action="read", resource="clinical.alert", patient=alert.patient,
                 object_id=alert.pk)
    return render(request, "clinical/alert_detail.html", _detail_context(request, alert))


def next_alert(request, alert: Alert) -> Alert | None:
    """The alert after this one in the user's queue (its default view and order), else the first
    other one: "next" after acting never sends a clinician back to the list."""
    qs, _filters, _errors = triage.filter_alerts(request.user, {}, focus=current_program(request))
    ids = list(qs.values_list("pk", flat=True)[:500])
    if not ids or ids == [alert.pk]:
        return None
    following = ids[ids.index(alert.pk) + 1:] if alert.pk in ids else []
    target = next((i for i in following), None) or next(i for i in ids if i != alert.pk)
    return qs.select_related("patient").filter(pk=target).first()


def also_rows(alert: Alert) -> list[dict]:
    """What the other rules of the same clinical problem added (clinical/rules.py)."""
    return [{"rule": side.get("rule", code), "summary": side.get("summary", ""),
             "readings": evidence_rows(alert, side.get("readings") or [])}
            for code, side in ((alert.evidence or {}).get("also") or {}).items()]


def evidence_rows(alert: Alert, readings: list | None = None) -> list[dict]:
    """The readings behind an alert, for display (times in the program's time zone)."""
    tz = alert.patient.tz
    out = []
    for r in (alert.evidence or {}).get("readings", []) if readings is None else readings:
        try:
            at = datetime.fromisoformat(r["at"]).astimezone(tz)
        except (KeyError, ValueError, TypeError):
            at = None
        metric = r.get("metric", "")
        label = {"bp_systolic": "BP systolic", "bp_diastolic": "BP diastolic"}.get(
            metric, METRICS[metric].label if metric in METRICS else metric.replace("_", " ").capitalize())
        value = rule_engine.fmt(r.get("value"))
        if r.get("value2") is not None:
            value = f"{value}/{rule_engine.fmt(r['value2'])}"
        out.append({"at": at, "day": r.get("day"), "metric": label, "value": value, "unit": r.get("unit", ""),
                    "context": r.get("context", ""), "category": r.get("category", "").replace("_", " "),
                    "interpretation": r.get("interpretation", ""), "source": r.get("source", ""),
                    "method": r.get("method", "").upper()})
    return out


HISTORY_FIELDS = ("status", "assignee_id", "snoozed_until", "severity", "escalated_at", "worsened_at")


def history_rows(records) -> list[dict]:
    """What changed in each saved version (django-simple-history), newest first."""
    rows = []
    for i, rec in enumerate(records):
        prev = records[i + 1] if i + 1 < len(records) else None
        if prev is None:
            what = "Opened"
        else:
            changes = [f for f in HISTORY_FIELDS if getattr(rec, f) != getattr(prev, f)]
            if "worsened_at" in changes and rec.worsened_at:
                what = "Worsened: back in the queue"
            elif "status" in changes:
                what = rec.get_status_display()
            elif "assignee_id" in changes:
                what = "Assigned" if rec.assignee_id else "Unassigned"
            elif "snoozed_until" in changes:
                what = "Snoozed" if rec.snoozed_until else "Woken"
            elif "escalated_at" in changes:
                what = "Escalated to the program leads"
            elif rec.trigger_count != prev.trigger_count:
                what = f"Fired again (×{rec.trigger_count})"
            else:
                continue
        note = ""
        if what in ("Acknowledged",):
            note = rec.acknowledged_note
        elif what in ("Resolved", "Dismissed"):
            note = rec.closed_note
        elif what == "Snoozed":
            note = rec.snooze_reason
        who = rec.history_user.get_full_name() if rec.history_user else "System"
        rows.append({"at": rec.history_date, "what": what, "who": who, "note": note})
    return rows


# --- Transitions -------------------------------------------------------------------------

ACTIONS = ("acknowledge", "resolve", "dismiss", "snooze", "unsnooze", "assign")


# One click for the usual snoozes; "tomorrow morning" is 08:00 in the patient's program zone.
SNOOZE_PRESETS = [("4h", "4 hours"), ("tomorrow", "Tomorrow 08:00"), ("3d", "3 days"), ("7d", "1 week")]


def snooze_preset_until(preset: str, tz, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    if preset == "4h":
        return now + timedelta(hours=4)
    if preset == "tomorrow":
        day = now.astimezone(tz).date() + timedelta(days=1)
        return datetime.combine(day, time(8), tzinfo=tz)
    return now + timedelta(days=int(preset.rstrip("d")))


def _parse_until(raw: str, tz) -> datetime | None:
    """A datetime-local value ("2026-03-01T14:30") in the program's time zone."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except (ValueError, AttributeError):
        return None
    if not 2000 <= value.year <= 2200:
        return None
    return value.replace(tzinfo=tz) if timezone.is_naive(value) else value


def _apply(request, alert: Alert, action: str) -> Alert:
    post, user = request.POST, request.user
    if action == "acknowledge":
        return alerting.alert_acknowledge(alert=alert, actor=user, note=post.get("note", ""), request=request)
    if action == "resolve":
        return alerting.alert_resolve(alert=alert, actor=user, note=post.get("note", ""), request=request)
    if action == "dismiss":
        return alerting.alert_dismiss(alert=alert, actor=user, note=post.get("note", ""), request=request)
    if action == "snooze":
        raw = post.get("until", "")
        preset = post.get("preset", "")
        if preset:
            if preset not in dict(SNOOZE_PRESETS):
                raise alerting.AlertError("Choose one of the snooze options.", field="until")
            until = snooze_preset_until(preset, alert.patient.tz)
        else:
            until = _parse_until(raw, alert.patient.tz)
        if until is None:
            raise alerting.AlertError("Give a valid date and time." if raw else "Give the date and time to snooze "
                                      "until.", field="until")
        return alerting.alert_snooze(alert=alert, actor=user, until=until, reason=post.get("reason", ""),
                                     request=request)
    if action == "unsnooze":
        return alerting.alert_unsnooze(alert=alert, actor=user, request=request)
    raw = post.get("assignee", "")
    assignee = None
    if raw == "me":
        assignee = user
    elif raw:
        assignee = User.objects.filter(pk=_uuid(raw) or uuid.UUID(int=0), is_active=True).first()
        if assignee is None:
            raise alerting.AlertError("Choose someone from the list.", field="assignee")
    return alerting.alert_assign(alert=alert, actor=user, assignee=assignee, request=request)


DONE = {"acknowledge": "Alert acknowledged.", "resolve": "Alert resolved.", "dismiss": "Alert dismissed.",
        "snooze": "Alert snoozed.", "unsnooze": "Alert is awake again.", "assign": "Assignment saved."}


@require_POST
@permission_required("clinical", "update")
def alert_action(request: HttpRequest, alert_id, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    alert = _alert_for(request, alert_id, "update")
    from_row = request.htmx and request.POST.get("from") == "row"
    try:
        alert = _apply(request, alert, action)
    except alerting.AlertError as exc:
        if from_row:
            return render(request, "clinical/_alert_row.html",
                          _row_context(request, alert, error=exc.message), status=400)
        errors = {(exc.field or "form") + "_" + action: exc.message}
        return render(request, "clinical/alert_detail.html",
                      _detail_context(request, alert, errors=errors, values=request.POST, failed=action), status=400)
    if from_row:
        return render(request, "clinical/_alert_row.html", _row_context(request, alert, done=DONE[action]))
    messages.success(request, DONE[action])
    return redirect(_next(request, reverse("alert_detail", args=[alert.pk])))


def _row_context(request, alert: Alert, **extra) -> dict:
    alert = access.scoped(request.user, Alert.objects.select_related(*RELATED), "clinical").get(pk=alert.pk)
    return {"alert": alert, "can_update": access.can(request.user, "clinical", "update"), "now": timezone.now(),
            "snooze_presets": SNOOZE_PRESETS, **extra}


def _next(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@require_POST
@permission_required("clinical", "update")
def alert_bulk(request: HttpRequest) -> HttpResponse:
    """Acknowledge the checked alerts. Ids the user may not update, or alerts no
    longer active, are skipped (and counted), never touched."""
    ids = [i for i in (_uuid(v) for v in request.POST.getlist("alert")) if i is not None]
    back = _next(request, reverse("alert_queue"))
    if request.POST.get("action", "acknowledge") != "acknowledge":
        messages.error(request, "Unknown bulk action.")
        return redirect(back)
    if not ids:
        messages.error(request, "Select at least one alert.")
        return redirect(back)
    done = skipped = 0
    for alert in triage.visible_alerts(request.user, "update").filter(pk__in=ids[:200]):
        try:
            alerting.alert_acknowledge(alert=alert, actor=request.user, note=request.POST.get("note", ""),
                                       request=request)
            done += 1
        except alerting.AlertError:
            skipped += 1
    skipped += len(ids) - done - skipped
    text = f"{done} alert{'s' if done != 1 else ''} acknowledged."
    if skipped:
        text += f" {skipped} skipped (already acknowledged or closed)."
    messages.success(request, text)
    return redirect(back)


# --- Dry run ----------------------------------------------------------------------------------

@permission_required("clinical", "read")
def rule_dry_run(request: HttpRequest, rule_id) -> HttpResponse:
    """Evaluate a rule against one of the user's patients and show what would fire. Writes nothing."""
    rule = triage.rule_for(request, rule_id)  # 404 for another program's or tenant's rule
    patients = access.patients_for(request.user, "read", "clinical").filter(project_id=rule.project_id)
    if rule.program_id:
        patients = patients.filter(program_id=rule.program_id)
    patient = result = plan = None
    if raw := request.GET.get("patient"):
        patient = access.patient_for_request(request, _uuid(raw) or uuid.UUID(int=0), "read", "clinical")
        if patient.project_id != rule.project_id or (rule.program_id and patient.program_id != rule.program_id):
            raise Http404("The rule doesn't apply to this patient's program.")
        result = rule_engine.evaluate(rule, patient)
        plan = alerting.plan(rule, patient, result)
    choices = list(patients.order_by("last_name", "first_name").only("id", "first_name", "last_name", "mrn",
                                                                      "program_id")[:500])
    return render(request, "clinical/rule_dry_run.html", {
        "rule": rule, "patient": patient, "result": result, "plan": plan, "choices": choices,
        "readings": _result_rows(result, patient) if result else [],
        "threshold": rule_engine.effective_threshold(rule, patient.program if patient else rule.program,
                                                     patient.project if patient else rule.project),
    })


def _result_rows(result, patient) -> list[dict]:
    fake = Alert(evidence={"readings": result.evidence})
    fake.patient = patient
    return evidence_rows(fake)
