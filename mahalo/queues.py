"""Celery's named queues and which task goes where (issue 20).

Each queue gets its own worker pool (Procfile), so a slow PDF, a 2 GB Apple Health import or a
wellness analysis never sits in front of a safety notification. Routing is by task name:
exact names first, then the glob families, in this order; anything else lands on `default`.
A new task is routed by its name, so name it for what it is (`reports.render_pdf`, not `run`).
"""

from kombu import Queue

DEFAULT = "default"
NOTIFICATIONS = "notifications"
SYNC = "sync"
REPORTS = "reports"
ML = "ml"
QUEUES = (DEFAULT, NOTIFICATIONS, SYNC, REPORTS, ML)

# (task name or glob, queue). Exact names are matched before globs (Celery's MapRoute).
ROUTES: tuple[tuple[str, str], ...] = (
    # The safety path: a reading → its rules → an alert → the notification, and what times out a
    # ringing call. Short tasks only; nothing here may wait behind a batch.
    ("messaging.*", NOTIFICATIONS),
    ("clinical.evaluate_patient", NOTIFICATIONS),
    ("clinical.escalate_alerts", NOTIFICATIONS),
    ("scheduling.expire_unanswered_call", NOTIFICATIONS),
    ("scheduling.sweep_unanswered_calls", NOTIFICATIONS),
    # Data coming in: wearable syncs, webhooks, Apple Health files, patient imports.
    ("wearables.*", SYNC),
    ("patients.import_patients", SYNC),
    ("patients.requeue_stalled_imports", SYNC),
    # Documents: PDFs, report renders, FHIR exports (whichever app defines them).
    ("reports.*", REPORTS),
    ("*.render_pdf*", REPORTS),
    ("*.export_*", REPORTS),
    ("*fhir_export*", REPORTS),
    # Analyses (the wellness check-in models).
    ("assessments.wellness_*", ML),
)


def task_routes() -> dict[str, dict[str, str]]:
    return {pattern: {"queue": queue} for pattern, queue in ROUTES}


def task_queues() -> tuple[Queue, ...]:
    # Declared, so a worker started without -Q (a laptop, `make worker`) consumes every queue.
    return tuple(Queue(name, routing_key=name) for name in QUEUES)
