"""Apple Health imports: the upload (row and file first), the run, and the sweeper.
The Celery tasks (wearables/tasks.py) are thin wrappers around `run` and `sweep_stale`.

An upload writes an AppleHealthImport row (and its SyncLog) first and queues the
task on commit, so a broker outage delays the import and loses nothing. A run
claims the row (an atomic UPDATE), parses the file as a stream and stores readings
in batches through `wearables.ingest.store`, beating a heartbeat as it goes. A
worker killed mid-file leaves a RUNNING row with a stale heartbeat: the sweeper
queues it again and the parse restarts from the top, which is safe because every
write is an upsert (readings keyed by patient, source, metric and time; days by
patient, date and source) and the daily totals are written only once the whole
file has been read.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinical.models import Observation
from mahalo import audit, db
from wearables import apple_health, ingest, tasks
from wearables.models import AppleHealthImport, SyncFailure, SyncLog

logger = logging.getLogger(__name__)

SOURCE = "apple_health"
# A RUNNING import whose heartbeat is older than this lost its worker.
STALE_AFTER = timedelta(minutes=10)


RECENT = 5


def import_create(*, patient, upload, actor, request=None) -> AppleHealthImport:
    """Row and file first, task on commit: a broker outage delays the import, loses nothing.
    The caller has checked the file (wearables.forms.AppleHealthForm)."""
    with transaction.atomic():
        log = SyncLog.objects.create(project_id=patient.project_id, patient=patient, source=SOURCE,
                                     trigger=SyncLog.Trigger.UPLOAD)
        job = AppleHealthImport(project_id=patient.project_id, patient=patient, uploaded_by=actor,
                                original_name=upload.name[:255], size=upload.size, sync_log=log)
        job.file.save(upload.name, upload, save=False)
        job.save()
        audit.record(action="write", request=request, actor=actor, resource="wearables", patient=patient,
                     object_id=job.pk, metadata={"event": "apple_health_upload", "size": upload.size})
        queue_import(job)
    return job


def recent_imports(patient) -> list[AppleHealthImport]:
    """The patient's latest uploads, newest first (the pages poll the running ones)."""
    return list(AppleHealthImport.objects.filter(patient=patient).select_related("uploaded_by")[:RECENT])


def queue_import(job: AppleHealthImport) -> None:
    transaction.on_commit(lambda: tasks.import_apple_health.delay(str(job.pk)))


def _claim(job_id, now) -> bool:
    """QUEUED, or RUNNING with a dead worker (stale heartbeat) -> RUNNING, ours."""
    stale = now - STALE_AFTER
    return bool(AppleHealthImport.objects.filter(pk=job_id).filter(
        Q(status=AppleHealthImport.Status.QUEUED)
        | Q(status=AppleHealthImport.Status.RUNNING, heartbeat_at__lt=stale)
        | Q(status=AppleHealthImport.Status.RUNNING, heartbeat_at__isnull=True, created_at__lt=stale)
    ).update(status=AppleHealthImport.Status.RUNNING, heartbeat_at=now, bytes_read=0, records_seen=0,
             records_stored=0, error=""))


def run(job_id) -> str:
    """Import one upload. Idempotent: a finished or live import is left alone."""
    now = timezone.now()
    if not _claim(job_id, now):
        return AppleHealthImport.objects.filter(pk=job_id).values_list("status", flat=True).first() or "missing"
    job = AppleHealthImport.objects.select_related("patient__program").get(pk=job_id)
    patient = job.patient
    log = job.sync_log
    if log is None:
        log = SyncLog.objects.create(project_id=job.project_id, patient=patient, source=SOURCE,
                                     trigger=SyncLog.Trigger.UPLOAD)
        AppleHealthImport.objects.filter(pk=job.pk).update(sync_log=log)
    SyncLog.objects.filter(pk=log.pk).update(status=SyncLog.Status.RUNNING, started_at=now, finished_at=None,
                                             records=0, skipped=0, error="")
    if log.failures.exists():  # a restart reads the file again: keep one set of failures
        log.failures.all().delete()

    state = {"stored": 0, "failures": 0}

    def sink(readings, dailies) -> int:
        stored = ingest.store(patient, SOURCE, readings, dailies).total
        state["stored"] += stored
        return stored

    def progress(records_seen: int, bytes_read: int) -> None:
        # Called every PROGRESS_EVERY records: one small UPDATE per few thousand records.
        moment = timezone.now()
        AppleHealthImport.objects.filter(pk=job.pk).update(
            bytes_read=min(bytes_read, job.size or bytes_read), records_seen=records_seen,
            records_stored=state["stored"], heartbeat_at=moment)
        SyncLog.objects.filter(pk=log.pk).update(records=state["stored"])

    def on_skip(kind: str, error: str, raw: str) -> None:
        state["failures"] += 1
        if state["failures"] <= apple_health.MAX_FAILURES_KEPT:
            SyncFailure.objects.create(sync_log=log, endpoint=f"export.xml {kind}", error=error[:2000], raw=raw)

    try:
        with job.file.open("rb") as fileobj:
            result = apple_health.parse_file(fileobj, job.file.name, patient, sink,
                                             progress=progress, on_skip=on_skip)
    except apple_health.ExportError as exc:
        return _fail(job, log, str(exc), state["stored"])
    except Exception as exc:  # noqa: BLE001 - any crash must end as a visible failure, not a stuck bar
        logger.exception("wearables: Apple Health import %s failed", job.pk)
        return _fail(job, log, f"The import stopped unexpectedly ({type(exc).__name__}).", state["stored"])

    finished = timezone.now()
    AppleHealthImport.objects.filter(pk=job.pk).update(
        status=AppleHealthImport.Status.DONE, bytes_read=job.size, records_seen=result.records_seen,
        records_stored=result.stored, heartbeat_at=finished, finished_at=finished, error="")
    # The export is PHI we no longer need: its readings are stored, so the file goes.
    job.file.delete(save=False)
    AppleHealthImport.objects.filter(pk=job.pk).update(file="")
    SyncLog.objects.filter(pk=log.pk).update(
        status=SyncLog.Status.PARTIAL if result.skipped else SyncLog.Status.SUCCESS, finished_at=finished,
        records=result.stored, skipped=result.skipped, error="")
    # Years of readings in one go: statistics now, when they are a real share of the table.
    db.analyze_if_grown(Observation, result.stored)
    logger.info("wearables: Apple Health import %s: %s records, %s stored, %s skipped, %s of unknown types",
                job.pk, result.records_seen, result.stored, result.skipped, result.unknown_total)
    return AppleHealthImport.Status.DONE


def _fail(job: AppleHealthImport, log: SyncLog, error: str, stored: int) -> str:
    finished = timezone.now()
    AppleHealthImport.objects.filter(pk=job.pk).update(
        status=AppleHealthImport.Status.FAILED, error=error[:4000], finished_at=finished, heartbeat_at=finished,
        records_stored=stored)
    SyncLog.objects.filter(pk=log.pk).update(status=SyncLog.Status.FAILED, finished_at=finished, error=error[:4000],
                                             records=stored)
    return AppleHealthImport.Status.FAILED


def sweep_stale(now=None) -> int:
    """Beat: imports whose worker died (RUNNING, heartbeat older than STALE_AFTER) or
    that never started (QUEUED that long: the broker lost the message) are queued again."""
    now = now or timezone.now()
    stale = now - STALE_AFTER
    ids = list(AppleHealthImport.objects.filter(
        Q(status=AppleHealthImport.Status.RUNNING, heartbeat_at__lt=stale)
        | Q(status=AppleHealthImport.Status.RUNNING, heartbeat_at__isnull=True, created_at__lt=stale)
        | Q(status=AppleHealthImport.Status.QUEUED, created_at__lt=stale)
    ).values_list("pk", flat=True))
    for pk in ids:
        tasks.import_apple_health.delay(str(pk))
    return len(ids)
