"""Celery tasks: thin, idempotent, calling care's services. Imported by care's AppConfig
so they are registered in web processes too; services queue them by name, never import this module."""

from celery import shared_task

from care.services import medications, rehab, scores, task_notify
from patients.models import Patient


@shared_task(name="care.generate_doses")
def generate_doses() -> int:
    """Keep dose rows two days ahead for every active scheduled medication (unique per time)."""
    return medications.doses_generate_all()


@shared_task(name="care.mark_missed_doses")
def mark_missed_doses() -> int:
    return medications.doses_mark_missed()


@shared_task(name="care.notify_due_tasks")
def notify_due_tasks() -> dict:
    """Due-soon and overdue task notifications (idempotent: a stamp per task and a key per due time)."""
    return task_notify.notify_due_tasks()


@shared_task(name="care.match_workouts")
def match_workouts(patient_id: str) -> int:
    """Device workouts of one patient -> exercise logs on the day's prescription (idempotent)."""
    patient = Patient.objects.filter(pk=patient_id).select_related("program").first()
    return rehab.match_device_workouts(patient) if patient else 0


@shared_task(name="care.match_workouts_sweep")
def match_workouts_sweep() -> int:
    return rehab.match_recent_all()


@shared_task(name="care.daily_scores")
def daily_scores() -> int:
    return scores.score_all_yesterday()
