"""Celery tasks of the wearables app. Thin: ids in, services do the work."""

from celery import shared_task


@shared_task(name="wearables.run_sync", acks_late=True)
def run_sync(log_id: str) -> str:
    from wearables import sync

    return sync.run(log_id).status


@shared_task(name="wearables.schedule_syncs")
def schedule_syncs() -> int:
    """Beat: queue an incremental sync for every connection that is due."""
    from wearables import sync

    return sync.schedule_due()


@shared_task(name="wearables.sweep_stale_syncs")
def sweep_stale_syncs() -> int:
    from wearables import sync

    return sync.sweep_stale()


@shared_task(name="wearables.process_webhook_event", acks_late=True)
def process_webhook_event(event_id: str) -> str:
    """One stored Garmin push/ping (wearables/webhooks.py)."""
    from wearables import webhooks

    return webhooks.process_event(event_id)


@shared_task(name="wearables.sweep_webhook_events")
def sweep_webhook_events() -> int:
    """Beat: re-queue Garmin pushes still pending a few minutes after they arrived."""
    from wearables import webhooks

    return webhooks.sweep_pending()


# Apple Health imports live in their own module; imported here so Celery autodiscovers them.
from wearables.apple_tasks import import_apple_health, sweep_apple_health_imports  # noqa: E402, F401
