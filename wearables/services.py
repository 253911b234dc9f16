"""Writes about connections: connect (after the OAuth callback), disconnect and "sync now";
and the gated loader of one connection."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from mahalo import access, audit, crypto
from patients.models import Patient
from wearables import providers, sync
from wearables.models import Connection, SyncLog
from wearables.providers.base import TokenSet

logger = logging.getLogger(__name__)


def connection_save_tokens(*, patient: Patient, provider: str, tokens: TokenSet, actor, request=None) -> Connection:
    """Create the live connection, or re-link the existing one (re-consent), and queue
    its first sync. Tokens are encrypted before they reach the database."""
    with transaction.atomic():
        connection = (Connection.objects.select_for_update()
                      .filter(patient=patient, provider=provider)
                      .exclude(status=Connection.Status.DISCONNECTED).first())
        if connection is None:
            connection = Connection(project_id=patient.project_id, patient=patient, provider=provider)
        connection.access_token = tokens.access_token
        connection.refresh_token = tokens.refresh_token
        connection.token_expires_at = tokens.expires_at
        connection.scopes = tokens.scope[:500]
        connection.external_user_id = tokens.external_user_id[:200] or connection.external_user_id
        connection.status = Connection.Status.LINKED
        connection.connected_by = actor
        connection.last_error = ""
        connection.retry_after = None
        connection.save()
        audit.record(action="write", request=request, actor=actor, resource="wearables", patient=patient,
                     object_id=connection.pk, metadata={"event": "connected", "provider": provider})
        sync.queue_sync(connection, trigger=SyncLog.Trigger.CONNECT)
    return connection


def connection_disconnect(*, connection: Connection, actor, request=None) -> Connection:
    """Revoke at the provider where it allows (best effort), forget the tokens, keep
    every reading already synced."""
    token = connection.access_token
    try:
        providers.get(connection.provider).revoke(token, connection.external_user_id)
    except Exception as exc:  # noqa: BLE001 - a failed revocation must not block a disconnect
        logger.warning("wearables: revoking %s failed: %s", connection.provider, exc)
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(
            status=Connection.Status.DISCONNECTED, access_token_encrypted="", refresh_token_encrypted="",
            disconnected_at=timezone.now(), lease_until=None)
        audit.record(action="write", request=request, actor=actor, resource="wearables",
                     patient=connection.patient, object_id=connection.pk,
                     metadata={"event": "disconnected", "provider": connection.provider})
    connection.refresh_from_db()
    return connection


def connection_load(request, connection_id, *, patient: Patient, action: str, statuses=None) -> Connection:
    """One of `patient`'s connections through the gate (access.load): 404 for missing, another
    patient's and forbidden alike; `statuses` narrows which states count (e.g. only linked)."""
    queryset = Connection.objects.filter(patient=patient).select_related("patient")
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
    return access.load(request, queryset, connection_id, resource="wearables", action=action)


def connection_sync_now(*, connection: Connection, actor, request=None) -> SyncLog | None:
    """Queue a manual sync of a linked connection, unless one is already waiting (a second
    click would only fail on the lease). Returns the queued run, or None."""
    with transaction.atomic():
        pending = SyncLog.objects.filter(connection=connection, status__in=(
            SyncLog.Status.QUEUED, SyncLog.Status.RUNNING), created_at__gte=timezone.now() - timedelta(minutes=15))
        if pending.exists():
            return None
        log = sync.queue_sync(connection, trigger=SyncLog.Trigger.MANUAL)
        audit.record(action="write", request=request, actor=actor, resource="wearables", patient=connection.patient,
                     object_id=connection.pk, metadata={"event": "sync_now", "provider": connection.provider,
                                                        "sync_log": str(log.pk)})
    return log


def rotate_token_encryption() -> int:
    """Re-encrypt every stored OAuth token with the newest key (caller holds a transaction)."""
    tokens = 0
    for connection in Connection.objects.select_for_update().exclude(access_token_encrypted="",
                                                                     refresh_token_encrypted=""):
        for field in ("access_token_encrypted", "refresh_token_encrypted"):
            if getattr(connection, field):
                setattr(connection, field, crypto.rotate(getattr(connection, field)))
                tokens += 1
        connection.save(update_fields=["access_token_encrypted", "refresh_token_encrypted"])
    return tokens
