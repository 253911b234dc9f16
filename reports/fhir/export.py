"""FHIR Bulk Data `$export` (system, Group = program, Patient): a job row, a Celery task, NDJSON files.

Kick-off (`Prefer: respond-async`) writes a `FhirExportJob` and queues `reports.fhir_export` on commit;
the status URL answers 202 with `X-Progress` until the files are written, then 200 with the manifest.
Files are streamed: rows come a chunk at a time (`QuerySet.iterator(chunk_size=...)`), each resource
is written as one line to a temporary file and the file is handed to storage, so memory stays bounded
whatever the export's size. Only the requester may poll and download (audited); files expire after
`FHIR_EXPORT_TTL` and the sweeper deletes them (and re-queues a job whose worker died).
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from mahalo import access, audit
from mahalo.models import User
from reports.fhir import query, tasks
from reports.fhir.http import FhirInvalid
from reports.models import FhirExportJob

logger = logging.getLogger(__name__)

TTL = timedelta(hours=getattr(settings, "FHIR_EXPORT_TTL_HOURS", 24))
STALLED_AFTER = timedelta(minutes=30)
FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")


def kick_off(request, kind: str, program=None) -> FhirExportJob:
    """Check the kick-off request and write the job; the task is queued when the row commits."""
    params = request.query_params
    issues = []
    if "respond-async" not in request.headers.get("Prefer", ""):
        issues.append(("Prefer", "Bulk export is asynchronous: send 'Prefer: respond-async'."))
    fmt = params.get("_outputFormat")
    if fmt and fmt not in FORMATS:
        issues.append(("_outputFormat", "Only application/fhir+ndjson is produced."))
    types = []
    for t in filter(None, (params.get("_type") or "").split(",")):
        if t.strip() not in query.PATIENT_TYPES:
            issues.append(("_type", f"'{t}' is not exported (types: {', '.join(query.PATIENT_TYPES)})."))
        types.append(t.strip())
    since = None
    if params.get("_since"):
        try:
            since, _ = query.parse_moment(params["_since"], "_since")
        except query.SearchError as exc:
            issues.append(("_since", exc.message))
    for key in params:
        if key not in ("_type", "_since", "_outputFormat"):
            issues.append((key, f"'{key}' is not supported by this server's $export."))
    if issues:
        raise FhirInvalid(issues)
    with transaction.atomic():
        job = FhirExportJob.objects.create(
            project=access.project_of(request.user) or (program.project if program else None),
            program=program,
            requested_by=request.user,
            kind=kind,
            types=types,
            since=since,
            request_url=request.build_absolute_uri(),
        )
        audit.record(
            request=request,
            action="export",
            resource="reports",
            project=job.project,
            object_id=job.pk,
            metadata={
                "event": "fhir_export_requested",
                "kind": kind,
                "program": str(program.pk) if program else None,
                "types": types,
            },
        )
        transaction.on_commit(lambda: _queue(job.pk))
    return job


def _queue(job_id) -> None:
    try:
        tasks.fhir_export.delay(str(job_id))
    except Exception:  # noqa: BLE001 - a broker outage leaves the row queued; the sweeper retries
        logger.exception("Couldn't queue FHIR export %s", job_id)


def _patients(job: FhirExportJob, user):
    patients = access.patients_for(user, "read", "patients")
    if job.kind == FhirExportJob.Kind.GROUP:
        patients = patients.filter(program_id=job.program_id)
    return patients


def run(job_id, *, chunk_size: int = query.CHUNK) -> FhirExportJob | None:
    """Write the job's NDJSON files. Idempotent: a job that is not queued (done, running elsewhere,
    cancelled) is left alone; a re-run after a crash starts its files again."""
    with transaction.atomic():
        job = FhirExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != FhirExportJob.Status.QUEUED:
            return job
        job.status, job.started_at = FhirExportJob.Status.RUNNING, timezone.now()
        job.transaction_time = job.started_at
        job.save(update_fields=["status", "started_at", "transaction_time"])
    user = User.objects.get(pk=job.requested_by_id)  # fresh: the gate caches on the user object
    try:
        patients = _patients(job, user)
        types = job.types or list(query.PATIENT_TYPES)
        output, rows = [], 0
        for n, resource_type in enumerate(types, 1):
            FhirExportJob.objects.filter(pk=job.pk).update(progress=f"{resource_type} ({n} of {len(types)})")
            count = _write(job, user, resource_type, patients, chunk_size)
            rows += count
            if count:
                output.append({"type": resource_type, "name": f"{resource_type}.ndjson", "count": count})
            if FhirExportJob.objects.filter(pk=job.pk, status=FhirExportJob.Status.CANCELLED).exists():
                delete_files(job)
                return job
    except Exception as exc:  # noqa: BLE001 - the job says it failed rather than staying "running"
        logger.exception("FHIR export %s failed", job.pk)
        FhirExportJob.objects.filter(pk=job.pk).update(
            status=FhirExportJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        delete_files(job)
        return job
    now = timezone.now()
    FhirExportJob.objects.filter(pk=job.pk, status=FhirExportJob.Status.RUNNING).update(
        status=FhirExportJob.Status.DONE,
        output=output,
        rows=rows,
        progress="Done",
        finished_at=now,
        expires_at=now + TTL,
    )
    audit.record(
        actor=user,
        action="export",
        resource="reports",
        project=job.project,
        object_id=job.pk,
        metadata={"event": "fhir_export_done", "rows": rows, "files": len(output)},
    )
    job.refresh_from_db()
    return job


def _write(job, user, resource_type: str, patients, chunk_size: int) -> int:
    """Stream one type into `<folder>/<Type>.ndjson`; returns the resources written."""
    count = 0
    name = f"{job.folder}/{resource_type}.ndjson"
    with tempfile.TemporaryFile() as fh:
        for resource in query.stream(user, resource_type, patients, since=job.since, chunk_size=chunk_size):
            fh.write(json.dumps(resource, separators=(",", ":"), ensure_ascii=False).encode())
            fh.write(b"\n")
            count += 1
        if count:
            fh.seek(0)
            if default_storage.exists(name):
                default_storage.delete(name)  # a re-run replaces, never appends
            default_storage.save(name, File(fh, name=f"{resource_type}.ndjson"))
    return count


def job_for(request, job_id) -> FhirExportJob:
    """The requester's own job, or 404 (another user's job is as missing as a job that never was)."""
    job = FhirExportJob.objects.filter(pk=job_id, requested_by=request.user).first()
    if job is None:
        exists = FhirExportJob.objects.filter(pk=job_id).first()
        if exists is not None:
            audit.record(
                request=request,
                action="denied",
                resource="reports",
                project=exists.project,
                object_id=str(job_id),
                metadata={"model": "reports.FhirExportJob"},
            )
        raise Http404
    return job


def manifest(request, job: FhirExportJob) -> dict:
    base = request.build_absolute_uri(f"/fhir/R4/$export-file/{job.pk}/")
    return {
        "transactionTime": query.r.instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": o["type"], "url": base + o["name"], "count": o["count"]} for o in job.output],
        "error": [],
    }


def cancel(request, job: FhirExportJob) -> None:
    with transaction.atomic():
        FhirExportJob.objects.filter(pk=job.pk).update(
            status=FhirExportJob.Status.CANCELLED, finished_at=timezone.now()
        )
        audit.record(
            request=request,
            action="delete",
            resource="reports",
            project=job.project,
            object_id=job.pk,
            metadata={"event": "fhir_export_cancelled"},
        )
    delete_files(job)


def delete_files(job: FhirExportJob) -> None:
    for resource_type in query.PATIENT_TYPES:
        name = f"{job.folder}/{resource_type}.ndjson"
        if default_storage.exists(name):
            default_storage.delete(name)


def sweep(now=None) -> dict:
    """Beat: delete expired files, and re-queue jobs whose worker died (queued or running too long)."""
    now = now or timezone.now()
    expired = list(FhirExportJob.objects.filter(status=FhirExportJob.Status.DONE, expires_at__lt=now))
    for job in expired:
        delete_files(job)
        FhirExportJob.objects.filter(pk=job.pk).update(status=FhirExportJob.Status.EXPIRED, output=[])
    stalled = list(
        FhirExportJob.objects.filter(
            Q(status=FhirExportJob.Status.QUEUED, created_at__lt=now - timedelta(minutes=5))
            | Q(status=FhirExportJob.Status.RUNNING, started_at__lt=now - STALLED_AFTER)
        ).values_list("pk", flat=True)
    )
    for pk in stalled:
        FhirExportJob.objects.filter(pk=pk).update(status=FhirExportJob.Status.QUEUED)
        _queue(pk)
    return {"expired": len(expired), "requeued": len(stalled)}
