"""The rules engine's suggest_visit action as a real visit request (issue 16). Clinical can't import
scheduling (siblings), so care, above both, registers this handler with clinical.alerting: when a
firing of a suggest_visit rule opens an alert, an untriaged scheduling.VisitRequest is created through
scheduling's one writer, naming the rule and the alert (it lands in the request queue for triage)."""

from __future__ import annotations

from scheduling import services as scheduling
from scheduling.models import Mode


def on_rule_suggest_visit(*, alert, rule, patient):
    reason = f"Suggested by the clinical rule “{rule.name}”. {alert.body}".strip()
    params = rule.params or {}
    mode = params.get("mode") if params.get("mode") in Mode.values else Mode.VIRTUAL
    # The system asks (no actor): the engine runs in tasks; the alert's assignee triages it like any request.
    return scheduling.request_create(patient=patient, actor=alert.assignee, reason=reason[:2000], mode=mode,
                                     reason_category="clinical rule")
