"""Celery tasks for check-ins: thin, idempotent, queued after the commit (eager without a broker)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

MAX_ATTEMPTS = 3


@shared_task(name="assessments.wellness_process", autoretry_for=(Exception,), max_retries=MAX_ATTEMPTS - 1,
             retry_backoff=10, retry_jitter=True)
def process_session(session_id: str) -> str:
    from assessments.wellness.models import WellnessSession
    from assessments.wellness.services import session_process
    from mahalo import config

    row = WellnessSession.objects.filter(pk=session_id).select_related("project").first()
    if row is not None and not config.feature_on(row.project, config.WELLNESS):
        return "switched off"  # the tenant switched check-ins off: the session waits, untouched

    session = session_process(session_id)
    return session.status if session else "skipped"


@shared_task(name="assessments.wellness_sweep")
def sweep(minutes: int = 10) -> int:
    """Re-queue check-ins a dead worker left pending or processing, and failed ones with attempts left."""
    from django.db.models import Q

    from assessments.wellness.models import WellnessSession
    from mahalo import config

    cutoff = timezone.now() - dt.timedelta(minutes=minutes)
    stale = (WellnessSession.objects.filter(updated_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS)
             .filter(config.feature_q(config.WELLNESS))
             .filter(Q(status__in=["pending", "processing"]) | Q(status="failed"))
             .values_list("pk", flat=True)[:200])
    for pk in stale:
        process_session.delay(str(pk))
    return len(stale)
