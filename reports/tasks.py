"""Celery tasks of the reports app: thin, idempotent, taking ids and calling reports' services.

A report is a row before it is a task (status queued): a broker outage leaves it queued and the beat
sweeper `reports.requeue_stalled` queues it again; a worker that died mid-render leaves it rendering
with an old `started_at`, and the sweeper queues that too."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


def queue_render(report_id) -> bool:
    """Hand one report to Celery (eager without a broker). A broker outage is logged, not raised."""
    try:
        render_report.apply_async(args=[str(report_id)], retry=False)
    except Exception:  # noqa: BLE001 - the Report row is the source of truth; the sweeper retries
        logger.warning("Couldn't queue report %s; the sweeper will retry", report_id, exc_info=True)
        return False
    return True


@shared_task(name="reports.render_report", acks_late=True)
def render_report(report_id: str) -> str | None:
    """Snapshot, render and store one report. A report already done (or being rendered by a live
    worker) is left alone. Returns its status."""
    from reports.services import report_render

    report = report_render(report_id)
    return report.status if report is not None else None


@shared_task(name="reports.requeue_stalled")
def requeue_stalled() -> int:
    """Beat: queue reports left queued (broker down) or rendering by a worker that died."""
    from reports.services import stalled_reports

    return sum(queue_render(pk) for pk in stalled_reports())


@shared_task(name="reports.weekly_summaries")
def weekly_summaries() -> int:
    """Beat (hourly): the weekly summary of every active patient whose program week just ended
    (Monday morning in the program's time zone). Idempotent: one summary per patient and week."""
    from reports.weekly import summaries_due

    return summaries_due()
