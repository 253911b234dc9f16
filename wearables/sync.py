"""The sync engine: one run = one SyncLog, for one connection.

A run claims the connection with a lease (an atomic UPDATE), so two workers never
sync one connection at once and a killed worker's lease simply expires. It reads
from the last success minus an overlap window (late-arriving and re-scored data)
to now, page by page, storing each page in its own transaction: a crash keeps
what was stored, and the next run re-reads the window (the upsert makes that free).
`last_success_at` moves only when a run finishes, so nothing is ever skipped.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messaging.notify import notify
from patients.care_team import care_team_for
from wearables import ingest, providers, tasks
from wearables.models import Connection, SyncFailure, SyncLog
from wearables.providers.base import ApiSession, Malformed, NeedsReconsent, ProviderError, RateLimited

logger = logging.getLogger(__name__)


def queue_sync(connection: Connection, *, trigger: str = SyncLog.Trigger.SCHEDULE) -> SyncLog:
    """Write the run's row first, then queue it on commit (a broker outage loses nothing:
    the sweeper re-queues queued rows)."""
    log = SyncLog.objects.create(project_id=connection.project_id, patient_id=connection.patient_id,
                                 connection=connection, source=connection.provider, trigger=trigger)
    transaction.on_commit(lambda: tasks.run_sync.delay(str(log.pk)))
    return log


def _claim(connection_id, now) -> bool:
    lease = now + timedelta(minutes=settings.WEARABLES_LEASE_MINUTES)
    return bool(Connection.objects.filter(pk=connection_id, status=Connection.Status.LINKED).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).update(lease_until=lease, last_attempt_at=now))


def _release(connection_id) -> None:
    Connection.objects.filter(pk=connection_id).update(lease_until=None)


def run(log_id) -> SyncLog:
    """Execute one queued run. Idempotent: a finished log is left alone."""
    log = SyncLog.objects.select_related("connection", "patient__program").get(pk=log_id)
    if log.status not in (SyncLog.Status.QUEUED,):
        return log
    connection = log.connection
    now = timezone.now()
    if connection.retry_after and connection.retry_after > now:
        # In the program's wall clock, like every other time on the Wearables tab (issue 20 fault 7).
        local = connection.retry_after.astimezone(log.patient.tz)
        return _finish(log, SyncLog.Status.FAILED, error=f"rate limited until {local:%H:%M} ({local.tzname()})")
    if not _claim(connection.pk, now):
        connection.refresh_from_db()
        reason = ("another sync of this connection is running" if connection.status == Connection.Status.LINKED
                  else f"connection is {connection.get_status_display().lower()}")
        return _finish(log, SyncLog.Status.FAILED, error=reason)
    try:
        return _run_claimed(log, connection, now)
    finally:
        _release(connection.pk)


def _window(connection: Connection, now):
    if connection.last_success_at:
        start = connection.last_success_at - timedelta(hours=settings.WEARABLES_SYNC_OVERLAP_HOURS)
    else:
        start = now - timedelta(days=settings.WEARABLES_INITIAL_BACKFILL_DAYS)
    return start, now


def _run_claimed(log: SyncLog, connection: Connection, now) -> SyncLog:
    provider = providers.get(connection.provider)
    patient = log.patient
    tz = patient.tz
    start, end = _window(connection, now)
    SyncLog.objects.filter(pk=log.pk).update(status=SyncLog.Status.RUNNING, started_at=now,
                                             window_start=start, window_end=end)
    log.status, log.started_at, log.window_start, log.window_end = SyncLog.Status.RUNNING, now, start, end

    session = ApiSession(provider, get_token=lambda: connection.access_token,
                         refresh_token=lambda: refresh_tokens(connection))
    try:
        for page in provider.fetch(session, start, end):
            stored, skipped = _store_page(log, provider, patient, tz, page)
            log.records += stored
            log.skipped += skipped
            SyncLog.objects.filter(pk=log.pk).update(records=log.records, skipped=log.skipped,
                                                     requests=session.requests)
    except NeedsReconsent as exc:
        mark_needs_reconsent(connection, str(exc))
        return _finish(log, SyncLog.Status.FAILED, error=f"Needs re-consent: {exc}", requests=session.requests)
    except RateLimited as exc:
        Connection.objects.filter(pk=connection.pk).update(retry_after=exc.retry_at, last_error=str(exc))
        return _finish(log, SyncLog.Status.FAILED, error=str(exc), requests=session.requests)
    except Malformed as exc:
        # A page we can't read at all (not JSON, no records list): keep it, fail the run,
        # keep last_success_at so the next run re-reads this window.
        SyncFailure.objects.create(sync_log=log, endpoint="page", error=str(exc)[:2000])
        Connection.objects.filter(pk=connection.pk).update(last_error=str(exc)[:2000])
        return _finish(log, SyncLog.Status.FAILED, error=str(exc), requests=session.requests)
    except ProviderError as exc:
        Connection.objects.filter(pk=connection.pk).update(last_error=str(exc)[:2000])
        return _finish(log, SyncLog.Status.FAILED, error=str(exc), requests=session.requests)
    finally:
        session.close()

    Connection.objects.filter(pk=connection.pk).update(last_success_at=end, last_error="", retry_after=None)
    status = SyncLog.Status.PARTIAL if log.skipped else SyncLog.Status.SUCCESS
    return _finish(log, status, requests=session.requests)


def _store_page(log, provider, patient, tz, page) -> tuple[int, int]:
    readings, dailies, skipped = [], [], 0
    for record in page.records:
        try:
            normalized = provider.normalize(page.endpoint, record, tz)
            for reading in normalized.readings:
                ingest.check(reading)
        except (Malformed, ingest.InvalidReading) as exc:
            skipped += 1
            logger.warning("wearables: skipped a %s record from %s: %s", provider.name, page.endpoint, exc)
            SyncFailure.objects.create(sync_log=log, endpoint=page.endpoint, error=str(exc)[:2000],
                                       raw=_raw(record))
            continue
        readings += normalized.readings
        dailies += normalized.dailies
    stored = ingest.store(patient, provider.name, readings, dailies)
    return stored.total, skipped


def _raw(record) -> str:
    try:
        return json.dumps(record, default=str)[:100_000]
    except (TypeError, ValueError):
        return repr(record)[:100_000]


def _finish(log: SyncLog, status: str, *, error: str = "", requests: int | None = None) -> SyncLog:
    log.status, log.error, log.finished_at = status, error[:4000], timezone.now()
    fields = {"status": status, "error": log.error, "finished_at": log.finished_at,
              "records": log.records, "skipped": log.skipped}
    if requests is not None:
        log.requests = fields["requests"] = requests
    SyncLog.objects.filter(pk=log.pk).update(**fields)
    return log


def refresh_tokens(connection: Connection) -> str:
    """One refresh. The new refresh token is stored at once: WHOOP and Oura rotate
    them and the old one dies (reusing it fails)."""
    provider = providers.get(connection.provider)
    tokens = provider.refresh(connection.refresh_token)  # NeedsReconsent when refused
    connection.access_token = tokens.access_token
    if tokens.refresh_token:
        connection.refresh_token = tokens.refresh_token
    connection.token_expires_at = tokens.expires_at
    Connection.objects.filter(pk=connection.pk).update(
        access_token_encrypted=connection.access_token_encrypted,
        refresh_token_encrypted=connection.refresh_token_encrypted,
        token_expires_at=connection.token_expires_at)
    return connection.access_token


def mark_needs_reconsent(connection: Connection, reason: str) -> None:
    """The grant is gone: flag it and tell the patient and their care team, once per episode."""
    with transaction.atomic():
        updated = Connection.objects.filter(pk=connection.pk, status=Connection.Status.LINKED).update(
            status=Connection.Status.NEEDS_RECONSENT, last_error=reason[:2000])
        if not updated:
            return
        patient = connection.patient
        recipients = [patient.user] if patient.user_id else []
        recipients += [link.staff.user for link in care_team_for(patient)]
        notify(event_type="device_reconsent", recipients=recipients,
               context={"device": connection.get_provider_display(), "patient_name": patient.display_name},
               key=f"reconsent:{connection.pk}:{connection.connected_at:%Y%m%d%H%M%S}", patient=patient,
               link="/portal/devices/")


def due_connections(now=None):
    """Linked connections whose last attempt is older than the sync interval."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.WEARABLES_SYNC_INTERVAL_MINUTES)
    return Connection.objects.filter(status=Connection.Status.LINKED).filter(
        Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff)
    ).filter(Q(retry_after__isnull=True) | Q(retry_after__lt=now)).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now))


def schedule_due(now=None) -> int:
    """Beat: queue a run for each due connection that has none queued already."""
    now = now or timezone.now()
    queued = 0
    for connection in due_connections(now).exclude(sync_logs__status=SyncLog.Status.QUEUED):
        # Marks the attempt now so the next beat tick doesn't queue it again.
        Connection.objects.filter(pk=connection.pk).update(last_attempt_at=now)
        queue_sync(connection)
        queued += 1
    return queued


def sweep_stale(now=None) -> int:
    """Beat: runs whose worker died. RUNNING past the lease -> ABANDONED (the next
    scheduled run re-reads their window); QUEUED for long -> queued again."""
    now = now or timezone.now()
    lease = timedelta(minutes=settings.WEARABLES_LEASE_MINUTES)
    # Only provider syncs: uploads (Apple Health) have their own heartbeat sweeper.
    abandoned = SyncLog.objects.filter(status=SyncLog.Status.RUNNING, started_at__lt=now - lease,
                                       connection__isnull=False).update(
        status=SyncLog.Status.ABANDONED, finished_at=now, error="The worker stopped before the run finished.")
    stale = list(SyncLog.objects.filter(status=SyncLog.Status.QUEUED, created_at__lt=now - timedelta(minutes=10),
                                        connection__isnull=False).values_list("pk", flat=True))
    for pk in stale:
        tasks.run_sync.delay(str(pk))
    return abandoned + len(stale)
