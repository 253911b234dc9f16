"""Celery tasks of the FHIR export. Thin: they take ids and call reports.fhir.export (imported when the
task runs: the service queues these tasks, so it imports this module)."""

from celery import shared_task


@shared_task(name="reports.fhir_export", acks_late=True)
def fhir_export(job_id: str) -> int | None:
    """Write one $export job's files (idempotent: see export.run). Returns the resources written."""
    from reports.fhir import export

    job = export.run(job_id)
    return job.rows if job is not None else None


@shared_task(name="reports.fhir_export_sweep")
def fhir_export_sweep() -> dict:
    """Beat: expire old files, re-queue stalled jobs."""
    from reports.fhir import export

    return export.sweep()
