"""Celery app. Tasks take ids, call services, are idempotent, and are queued
with transaction.on_commit. With no broker configured they run eagerly."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahalo.settings")

app = Celery("mahalo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="mahalo.ping")
def ping() -> str:
    """Round trip used by /healthz-style checks and the worker smoke test."""
    return "pong"
