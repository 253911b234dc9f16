"""Celery tasks: thin, idempotent wrappers around assessments.services."""

from celery import shared_task

from assessments import services


@shared_task(name="assessments.generate_due")
def generate_due() -> int:
    """Create the scheduled assignments whose time has come (beat, every 5 minutes)."""
    return services.generate_due()


@shared_task(name="assessments.expire_and_remind")
def expire_and_remind() -> dict:
    """Expire past-window assignments; remind patients when one opens and before it expires."""
    return services.expire_and_remind()
