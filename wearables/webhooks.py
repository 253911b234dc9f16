"""Garmin push and ping notifications: POST /wearables/webhooks/garmin/ (the view is in
wearables/views/webhooks.py).

The receiver verifies an HMAC-SHA256 of the raw body (header
`X-Mahalo-Signature: sha256=<hex>`, key settings.WEARABLES_GARMIN_WEBHOOK_SECRET;
no secret configured: every push is refused), stores the body verbatim as a
WebhookEvent, answers 200 at once and queues the work on commit. A worker or
broker outage delays the event and loses nothing: the beat sweeper re-queues
PENDING events.

Processing: the body is `{"<summary type>": [items...], ...}`; each item names
the Garmin user (`userId`), which finds the linked Connection. A push item is
the summary itself; a ping item carries `callbackURL`, fetched with that
connection's token. Both are normalized by wearables.providers.garmin (the pull
code) and stored through ingest.store(), so a replayed push updates in place
and adds no rows. An unknown user or a malformed item is skipped and noted on
the event; it never fails the rest of the batch.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from wearables import ingest, providers, sync, tasks
from wearables.models import Connection, SyncFailure, SyncLog, WebhookEvent
from wearables.providers.base import ApiSession, Malformed, NeedsReconsent, ProviderError
from wearables.providers.garmin import SUMMARIES

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mahalo-Signature"
# Garmin's pushes carry up to a day of summaries for many users; far above Django's
# form limit, far below anything that would hurt a worker.
MAX_BODY = 32 * 1024 * 1024
MAX_ATTEMPTS = 8
SWEEP_AFTER = timedelta(minutes=5)
# Notification types that carry no summaries: the user left or changed permissions.
DEREGISTRATION = "deregistrations"


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Constant time; compared as bytes so an odd header can't raise.
    return hmac.compare_digest(expected.encode(), header[len("sha256="):].strip().lower().encode())


def _summary_types(data) -> str:
    if not isinstance(data, dict):
        return ""
    return ",".join(sorted(k for k, v in data.items() if isinstance(v, list)))[:40]


def event_receive(*, provider: str, text: str) -> tuple[WebhookEvent, str]:
    """Store a verified push verbatim and queue it on commit. Returns (event, problem):
    a body that is not a JSON object is kept for diagnosis as FAILED, never processed."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        event = WebhookEvent.objects.create(provider=provider, body=text, status=WebhookEvent.Status.FAILED,
                                            error="Body is not a JSON object.", processed_at=timezone.now())
        return event, "Body is not a JSON object."
    event = WebhookEvent.objects.create(provider=provider, summary_type=_summary_types(data), body=text)
    transaction.on_commit(lambda: _enqueue(event.pk))
    return event, ""


def _enqueue(event_id) -> None:
    try:
        tasks.process_webhook_event.delay(str(event_id))
    except Exception as exc:  # noqa: BLE001 - broker down: the row is stored, the sweeper re-queues it
        logger.warning("wearables: could not queue webhook event %s: %s", event_id, exc)


class _Retry(Exception):
    """A transient failure (Garmin unreachable, rate limited): the whole event is retried."""


class _Batch:
    """What one event brings for one connection."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.readings: list = []
        self.dailies: list = []
        self.failures: list[tuple[str, str, str]] = []  # (endpoint, error, raw)


def process_event(event_id) -> str:
    """Process one stored event. Idempotent: a DONE/FAILED event is left alone, and the
    data it carries upserts, so running it twice adds nothing."""
    with transaction.atomic():
        event = (WebhookEvent.objects.select_for_update(skip_locked=True)
                 .filter(pk=event_id, status=WebhookEvent.Status.PENDING).first())
        if event is None:
            return "skipped"
        event.attempts += 1
        try:
            notes = _apply(event)
        except _Retry as exc:
            event.error = str(exc)[:4000]
            if event.attempts >= MAX_ATTEMPTS:
                event.status, event.processed_at = WebhookEvent.Status.FAILED, timezone.now()
        except Exception as exc:  # a bug must not leave the event spinning forever
            logger.exception("wearables: garmin webhook event %s failed", event.pk)
            event.error = f"{type(exc).__name__}: {exc}"[:4000]
            if event.attempts >= MAX_ATTEMPTS:
                event.status, event.processed_at = WebhookEvent.Status.FAILED, timezone.now()
        else:
            event.status, event.processed_at = WebhookEvent.Status.DONE, timezone.now()
            event.error = "\n".join(notes)[:4000]
        event.save(update_fields=["attempts", "status", "error", "processed_at"])
    return event.status


def _apply(event: WebhookEvent) -> list[str]:
    try:
        data = json.loads(event.body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return ["Body is not a JSON object."]
    provider = providers.get("garmin")
    notes: list[str] = []
    batches: dict[str, _Batch] = {}
    connections: dict[str, Connection | None] = {}

    def connection_for(user_id: str) -> Connection | None:
        if user_id not in connections:
            connections[user_id] = (Connection.objects.select_related("patient__program")
                                    .filter(provider="garmin", status=Connection.Status.LINKED,
                                            external_user_id=user_id).first()) if user_id else None
        return connections[user_id]

    for kind, items in data.items():
        if not isinstance(items, list):
            notes.append(f"{kind}: not a list; ignored")
            continue
        if kind not in SUMMARIES and kind != DEREGISTRATION:
            notes.append(f"{kind}: summary type not used; {len(items)} item(s) ignored")
            continue
        for index, item in enumerate(items):
            where = f"{kind}[{index}]"
            if not isinstance(item, dict):
                notes.append(f"{where}: not an object; skipped")
                continue
            user_id = str(item.get("userId") or "")
            connection = connection_for(user_id)
            if connection is None:
                notes.append(f"{where}: no linked connection for Garmin user {user_id[:64]!r}; skipped")
                continue
            if kind == DEREGISTRATION:
                sync.mark_needs_reconsent(connection, "Garmin says the user removed Mahalo's access.")
                connections[user_id] = None
                notes.append(f"{where}: user deregistered at Garmin; connection needs re-consent")
                continue
            batch = batches.setdefault(str(connection.pk), _Batch(connection))
            if item.get("callbackURL"):
                records = _ping(provider, connection, kind, str(item["callbackURL"]), notes, where)
                if records is None:
                    continue
            else:
                records = [item]
            tz = connection.patient.tz
            for record in records:
                try:
                    normalized = provider.normalize(kind, record, tz)
                    for reading in normalized.readings:
                        ingest.check(reading)
                except (Malformed, ingest.InvalidReading) as exc:
                    notes.append(f"{where}: {exc}; skipped")
                    batch.failures.append((kind, str(exc)[:2000], _raw(record)))
                    continue
                batch.readings += normalized.readings
                batch.dailies += normalized.dailies

    for batch in batches.values():
        _store(batch)
    return notes


def _ping(provider, connection: Connection, kind: str, url: str, notes: list, where: str) -> list | None:
    """Fetch a ping's callbackURL with the connection's token. Only Garmin's own API host
    gets a patient's token (the URL comes from the request body)."""
    api = urlsplit(provider.api_base)
    target = urlsplit(url)
    if (target.scheme, target.netloc) != (api.scheme, api.netloc):
        notes.append(f"{where}: callbackURL is not on {api.netloc}; refused")
        return None
    session = ApiSession(provider, get_token=lambda: connection.access_token,
                         refresh_token=lambda: sync.refresh_tokens(connection))
    try:
        page = provider.fetch_callback(session, url, kind)
    except NeedsReconsent as exc:
        sync.mark_needs_reconsent(connection, str(exc))
        notes.append(f"{where}: Garmin refused the token; connection needs re-consent")
        return None
    except Malformed as exc:
        notes.append(f"{where}: callback answer unreadable ({exc}); skipped")
        return None
    except ProviderError as exc:
        raise _Retry(f"{where}: {exc}") from exc
    finally:
        session.close()
    return page.records


def _store(batch: _Batch) -> None:
    """One SyncLog per connection and event (trigger webhook), so staff see pushes
    among the sync attempts."""
    connection = batch.connection
    now = timezone.now()
    stored = ingest.store(connection.patient, "garmin", batch.readings, batch.dailies)
    status = SyncLog.Status.PARTIAL if batch.failures else SyncLog.Status.SUCCESS
    log = SyncLog.objects.create(project_id=connection.project_id, patient_id=connection.patient_id,
                                 connection=connection, source="garmin", trigger=SyncLog.Trigger.WEBHOOK,
                                 status=status, started_at=now, finished_at=timezone.now(),
                                 records=stored.total, skipped=len(batch.failures))
    SyncFailure.objects.bulk_create([SyncFailure(sync_log=log, endpoint=endpoint, error=error, raw=raw)
                                     for endpoint, error, raw in batch.failures])


def _raw(record) -> str:
    try:
        return json.dumps(record, default=str)[:100_000]
    except (TypeError, ValueError):
        return repr(record)[:100_000]


def sweep_pending(now=None) -> int:
    """Beat: re-queue events still PENDING a few minutes after they arrived (a lost
    task, a broker outage, a transient Garmin error)."""
    now = now or timezone.now()
    stale = list(WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING,
                                             received_at__lt=now - SWEEP_AFTER)
                 .order_by("received_at").values_list("pk", flat=True)[:500])
    for pk in stale:
        tasks.process_webhook_event.delay(str(pk))
    return len(stale)
