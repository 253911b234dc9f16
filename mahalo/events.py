"""Events raised by the lower layers (the core, `patients`) for the apps above them to deliver.

DESIGN "Layout": dependencies point one way, so `patients` may not import `messaging` to tell a
clinician that a patient asked for them. It calls `emit(...)` instead; messaging connects its
receiver in `MessagingConfig.ready()` and hands the event to `messaging.notify.notify`, which stays
the one entry point for notifications. The receiver runs synchronously, inside the caller's
transaction, so the outbox rows commit (or roll back) with the change that raised the event.

    from mahalo import events
    events.emit("care_team_request", recipients=[staff.user], patient=patient,
                context={"patient_name": patient.full_name}, key=f"care-team-request:{link.pk}")

The signature mirrors `notify` (keyword-only, same names); anything the receiver needs beyond
those goes in `**extra`. With no receiver connected (messaging not installed), an event is
dropped on purpose: nothing below messaging depends on delivery.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with: event_type, recipients, context, key, patient, project, program, urgent, channels, link.
event_raised = Signal()


def emit(event_type: str, *, recipients, context: dict, key: str, patient=None, project=None, program=None,
         urgent: bool = False, channels=None, link: str = "") -> list:
    """Raise an event for delivery; returns what the receivers returned (messaging: its outbox rows).

    `key` identifies the event (raising it twice delivers once). Receivers' errors propagate: a
    notification that can't be written must fail the transaction like any other write."""
    responses = event_raised.send(sender=event_type, event_type=event_type, recipients=list(recipients),
                                  context=context, key=key, patient=patient, project=project, program=program,
                                  urgent=urgent, channels=channels, link=link)
    return [result for _receiver, result in responses]
