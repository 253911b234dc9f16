"""Celery tasks of the notification outbox, and handing rows to them. Thin: they take ids and
call messaging.delivery. messaging.notify queues through here; delivery knows nothing of Celery."""

import datetime as dt
import logging

from celery import shared_task

from mahalo import idempotency
from messaging import delivery

logger = logging.getLogger(__name__)


@shared_task(name="messaging.deliver_notification", acks_late=True)
def deliver_notification(notification_id: str) -> str | None:
    """Deliver one outbox row (messaging.delivery.deliver). Idempotent: a row that is
    delivered, failed, not yet due or being delivered by another worker is left alone.
    Retries are scheduled on the row (next_attempt_at) and re-queued by sweep_outbox."""
    n = delivery.deliver(notification_id)
    return n.status if n is not None else None


@shared_task(name="messaging.sweep_outbox")
def sweep_outbox() -> int:
    """Beat (every minute): re-queue pending notifications that are due; drop idempotency
    keys past their 24 hours (mahalo.idempotency)."""
    idempotency.purge()
    return len(sweep())


def sweep(now: dt.datetime | None = None, batch: int = delivery.SWEEP_BATCH) -> list[str]:
    """Re-queue pending rows that are due and older than the grace period: their
    queueing failed (broker down), their worker died, a retry's backoff ended, or
    quiet hours are over. Safe to run often: deliver() is idempotent."""
    ids = delivery.due_for_sweep(now, batch)
    return ids[:queue_many(ids)]  # stops at the first broker failure: the next sweep tries again


def queue_many(ids: list[str]) -> int:
    """Queue rows until the broker fails: one timeout at most, not one per row."""
    for done, pk in enumerate(ids):
        if not queue_delivery(pk):
            return done
    return len(ids)


def queue_delivery(notification_id: str) -> bool:
    """Hand one row to Celery. A broker outage is logged, not raised: the row stays
    pending and the sweeper re-queues it."""
    try:
        # No publish retries: a request must not hang on a dead broker; the sweeper retries.
        # mahalo.celery.SafeTask answers None (logged) when the broker refused the publish.
        sent = deliver_notification.apply_async(args=[str(notification_id)], retry=False)
    except Exception:  # noqa: BLE001 - the outbox row is the source of truth
        sent = None
    if sent is None:
        logger.warning("Couldn't queue notification %s; the outbox sweeper will retry", notification_id)
        return False
    return True
