"""Celery tasks of the wearables app. Thin: ids in, services do the work."""

from celery import shared_task

from wearables import apple_import, sync, webhooks


@shared_task(name="wearables.run_sync", acks_late=True)
def run_sync(log_id: str) -> str:
    return sync.run(log_id).status


@shared_task(name="wearables.schedule_syncs")
def schedule_syncs() -> int:
    """Beat: queue an incremental sync for every connection that is due."""
    return sync.schedule_due()


@shared_task(name="wearables.sweep_stale_syncs")
def sweep_stale_syncs() -> int:
    return sync.sweep_stale()


@shared_task(name="wearables.process_webhook_event", acks_late=True)
def process_webhook_event(event_id: str) -> str:
    """One stored Garmin push/ping (wearables/webhooks.py)."""
    return webhooks.process_event(event_id)


@shared_task(name="wearables.sweep_webhook_events")
def sweep_webhook_events() -> int:
    """Beat: re-queue Garmin pushes still pending a few minutes after they arrived."""
    return webhooks.sweep_pending()


@shared_task(name="wearables.import_apple_health", acks_late=True)
def import_apple_health(import_id: str) -> str:
    """One uploaded Apple Health export (wearables/apple_import.py)."""
    return apple_import.run(import_id)


@shared_task(name="wearables.sweep_apple_health_imports")
def sweep_apple_health_imports() -> int:
    """Beat: re-queue imports whose worker died or that never started."""
    return apple_import.sweep_stale()
