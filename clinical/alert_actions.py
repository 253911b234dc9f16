"""Next steps offered on an alert's page (issue 21 item 8), as a registry.

Clinical registers what exists today (message the patient, log a call note, book a
visit); an app above clinical adds its own from its `ready()` without clinical
importing it - the care app's "Create task" is meant to plug in here:

    from clinical.alert_actions import AlertAction, register_alert_action
    register_alert_action(AlertAction("task", "Create task", 40,
                                      lambda alert: reverse("care_task_new") + f"?alert={alert.pk}",
                                      permission=("care", "write")))

A step is a link (a GET to the page that does it, carrying the patient): the page it
opens gates and audits as it always does. Only steps whose permission the user holds
on the alert's patient are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from mahalo import access


@dataclass(frozen=True)
class AlertAction:
    key: str
    label: str
    order: int
    url: Callable  # (alert) -> str
    permission: tuple[str, str]
    hint: str = ""


ACTIONS: dict[str, AlertAction] = {}


def register_alert_action(action: AlertAction) -> None:
    ACTIONS[action.key] = action


def actions_for(user, alert) -> list[dict]:
    out = []
    for action in sorted(ACTIONS.values(), key=lambda a: (a.order, a.key)):
        resource, verb = action.permission
        if not access.can(user, resource, verb, alert.patient):
            continue
        try:
            url = action.url(alert)
        except NoReverseMatch:  # the app that offers it is not installed here
            continue
        out.append({"key": action.key, "label": action.label, "url": url, "hint": action.hint})
    return out


def register_defaults() -> None:
    register_alert_action(AlertAction(
        "message", "Message the patient", 10,
        lambda a: reverse("message_thread_new") + f"?patient={a.patient_id}", permission=("messaging", "write"),
        hint="Opens a new conversation about this patient."))
    register_alert_action(AlertAction(
        "call_note", "Log a call note", 20,
        lambda a: reverse("patient_rpm", args=[a.patient_id]) + "#rpm-manual-h", permission=("clinical", "write"),
        hint="RPM time: tick “interactive” for a call and say what was agreed."))
    register_alert_action(AlertAction(
        "book_visit", "Book a visit", 30,
        lambda a: reverse("schedule_book") + f"?patient={a.patient_id}", permission=("scheduling", "write")))
