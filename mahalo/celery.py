"""Celery app. Tasks take ids, call services, are idempotent, and are queued
with transaction.on_commit. With no broker configured they run eagerly."""

import logging
import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahalo.settings")

logger = logging.getLogger(__name__)


# --- Issue 20 fault 4: a broker outage never turns a committed write into an error ---------
class SafeTask(Task):
    """Publishing is best effort: with the broker down, apply_async/delay log the failure and
    return None instead of raising. Every task's work is a row first (DESIGN "Background
    work"), so the row waits for its sweeper; an on_commit hook that raised would answer 500
    for a write that was kept. Eager runs (tests, laptop) are untouched: task errors propagate."""

    def apply_async(self, args=None, kwargs=None, *rest, **options):
        if self.app.conf.task_always_eager:
            return super().apply_async(args, kwargs, *rest, **options)
        try:
            return super().apply_async(args, kwargs, *rest, **options)
        except Exception:  # noqa: BLE001 - kombu/redis/socket errors: the row is the source of truth
            logger.warning(
                "Couldn't queue task %s (args %s); its sweeper will pick the work up", self.name, args, exc_info=True
            )
            return None


app = Celery("mahalo", task_cls=SafeTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="mahalo.ping", ignore_result=False)
def ping() -> str:
    """Round trip of the worker smoke test (kept when a result backend is configured)."""
    return "pong"
