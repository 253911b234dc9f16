"""Writes about connections: connect (after the OAuth callback) and disconnect."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from mahalo import audit
from patients.models import Patient
from wearables import providers
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
        from wearables.sync import queue_sync

        queue_sync(connection, trigger=SyncLog.Trigger.CONNECT)
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
