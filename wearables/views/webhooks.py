"""The Garmin push receiver (/wearables/webhooks/garmin/): no session, the HMAC signature of
the body is the credential. Storing and processing are wearables.webhooks'."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from wearables import webhooks

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def garmin_webhook(request: HttpRequest) -> JsonResponse:
    secret = settings.WEARABLES_GARMIN_WEBHOOK_SECRET
    if not secret:
        # Unsigned pushes would let anyone write readings into a patient's record.
        return JsonResponse({"detail": "Garmin pushes are not enabled."}, status=403)
    body = request.read(webhooks.MAX_BODY + 1)
    if len(body) > webhooks.MAX_BODY:
        return JsonResponse({"detail": "Body too large."}, status=413)
    if not webhooks.signature_ok(body, request.headers.get(webhooks.SIGNATURE_HEADER, ""), secret):
        logger.warning("wearables: garmin push with a missing or bad signature refused")
        return JsonResponse({"detail": "Bad signature."}, status=401)
    event, problem = webhooks.event_receive(provider="garmin", text=body.decode("utf-8", errors="replace"))
    if problem:
        return JsonResponse({"detail": problem}, status=400)
    return JsonResponse({"received": str(event.pk)}, status=200)
