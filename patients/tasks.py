"""Celery tasks of the patients app. Thin: they take ids and call a service."""

from celery import shared_task

from mahalo.models import User
from patients.importing import import_run, requeue_stalled


@shared_task(name="patients.import_patients", acks_late=True)
def import_patients(import_id: str, actor_id: str | None = None) -> int | None:
    """Import a checked patient import job (patients.importing.import_run). Idempotent: a job
    that is done, failed or being finished by another run is left alone. Returns the number
    of patients the job imported."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    job = import_run(import_id, actor=actor)
    return job.imported_rows if job is not None else None


@shared_task(name="patients.requeue_stalled_imports")
def requeue_stalled_imports() -> int:
    """Beat: re-queue imports whose worker died (see patients.importing.requeue_stalled)."""
    return len(requeue_stalled())
