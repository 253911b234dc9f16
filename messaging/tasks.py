"""Celery tasks of the notification outbox. Thin: they take ids and call messaging.delivery."""

from celery import shared_task


@shared_task(name="messaging.deliver_notification", acks_late=True)
def deliver_notification(notification_id: str) -> str | None:
    """Deliver one outbox row (messaging.delivery.deliver). Idempotent: a row that is
    delivered, failed, not yet due or being delivered by another worker is left alone.
    Retries are scheduled on the row (next_attempt_at) and re-queued by sweep_outbox."""
    from messaging.delivery import deliver

    n = deliver(notification_id)
    return n.status if n is not None else None


@shared_task(name="messaging.sweep_outbox")
def sweep_outbox() -> int:
    """Beat (every minute): re-queue pending notifications that are due."""
    from messaging.delivery import sweep

    return len(sweep())
