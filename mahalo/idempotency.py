"""`Idempotency-Key` on create endpoints (issue 20 fault 6): a mobile app that retries a
POST (a timeout, a lost answer) sends the same key and gets the first answer back instead
of a second message, thread or reading.

    return idempotency.once(request, "messaging.message_send", lambda: self._send(request))

The key row is inserted in the request's transaction before the work: concurrent requests
with one key wait on its unique index (PostgreSQL; SQLite serialises writers), then find the
committed row and replay its answer (header `Idempotent-Replayed: true`). Only 2xx answers
are kept: an error (raised or returned) rolls the key back, so a corrected retry can succeed.
The same key on another endpoint is refused (422). Keys are per user; kept 24 hours
(`purge()`, run by messaging's outbox sweeper).
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from mahalo.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_LENGTH = 200
KEEP = dt.timedelta(hours=24)


def once(request, scope: str, work) -> Response:
    key = (request.headers.get(HEADER) or "").strip()
    if not key or not getattr(request.user, "is_authenticated", False):
        return work()
    if len(key) > MAX_LENGTH:
        return Response({HEADER: [f"Use at most {MAX_LENGTH} characters."]}, status=400)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the loser of a race continues below
                record = IdempotencyKey.objects.create(user=request.user, key=key, scope=scope, path=request.path[:300])
        except IntegrityError:
            return _replay(request, key, scope)
        response = work()
        if not 200 <= response.status_code < 300:
            transaction.set_rollback(True)  # the key is free again; so is anything the work wrote
            return response
        record.status_code = response.status_code
        record.response = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
        record.save(update_fields=["status_code", "response"])
        return response


def _replay(request, key: str, scope: str) -> Response:
    record = IdempotencyKey.objects.filter(user=request.user, key=key).first()
    if record is None or record.status_code is None:
        return Response({"detail": "A request with this Idempotency-Key is still running; retry shortly."},
                        status=409)
    if record.scope != scope or record.path != request.path[:300]:
        return Response({HEADER: ["This key was already used for another request."]}, status=422)
    return Response(record.response, status=record.status_code, headers={"Idempotent-Replayed": "true"})


def purge(now: dt.datetime | None = None) -> int:
    return IdempotencyKey.objects.filter(created_at__lt=(now or timezone.now()) - KEEP).delete()[0]
