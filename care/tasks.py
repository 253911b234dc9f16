"""Celery tasks: thin, idempotent, calling care's services."""

from celery import shared_task


@shared_task(name="care.generate_doses")
def generate_doses() -> int:
    """Keep dose rows two days ahead for every active scheduled medication (unique per time)."""
    from care.services import medications

    return medications.doses_generate_all()


@shared_task(name="care.mark_missed_doses")
def mark_missed_doses() -> int:
    from care.services import medications

    return medications.doses_mark_missed()


@shared_task(name="care.notify_due_tasks")
def notify_due_tasks() -> dict:
    """Due-soon and overdue task notifications (idempotent: a stamp per task and a key per due time)."""
    from care.services import task_notify

    return task_notify.notify_due_tasks()
