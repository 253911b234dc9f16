"""Celery tasks of scheduling. Thin: they take ids (or nothing) and call services;
every one is safe to run twice."""

from celery import shared_task

from mahalo import config
from scheduling import calls, services, telehealth
from scheduling.models import VirtualVisitSession


@shared_task(name="scheduling.release_expired_holds")
def release_expired_holds() -> int:
    """Beat (every minute): free held slots past their deadline."""
    return services.release_expired_holds()


@shared_task(name="scheduling.send_visit_reminders")
def send_visit_reminders() -> int:
    """Beat (every five minutes): visit reminders at the program's offsets."""
    return services.send_due_reminders()


@shared_task(name="scheduling.prepare_video_room", acks_late=True)
def prepare_video_room(session_id: str) -> str:
    """Make the provider's room for one session (after the booking committed).
    A failure is recorded on the session; the first join tries again."""
    session = VirtualVisitSession.objects.filter(pk=session_id).select_related("visit__patient__project",
                                                                              "patient__project").first()
    if session is None:
        return "gone"
    patient = session.patient if session.patient_id else getattr(session.visit, "patient", None)
    if patient is not None and not config.feature_on(patient.project, config.TELEHEALTH):
        return "switched off"  # the tenant turned video off: no provider room is made
    try:
        telehealth.ensure_room(session)
    except telehealth.TelehealthError:
        return "failed"
    return "ready"


@shared_task(name="scheduling.expire_unanswered_call")
def expire_unanswered_call(call_id: str) -> str:
    """Queued with the ring timeout as countdown: an unanswered call becomes missed."""
    return calls.call_expire(call_id)


@shared_task(name="scheduling.sweep_unanswered_calls")
def sweep_unanswered_calls() -> int:
    """Beat (every minute): ringing calls past their deadline whose countdown task was lost."""
    return calls.sweep_unanswered()
