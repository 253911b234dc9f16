"""Connecting a wearable: OAuth 2 authorization code flow with `state` (and PKCE
where the provider supports it).

/wearables/connect/<provider>/ keeps state, PKCE verifier and the patient in the
session and sends the patient to the provider; /wearables/callback/<provider>/
checks the state (single use, ten minutes), exchanges the code and stores the
tokens encrypted. Anything unexpected ends on the devices page with a message,
never a 500.
"""

from __future__ import annotations

import logging
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from patients.shell import portal_page
from wearables import providers, services
from wearables.providers.base import ProviderError

logger = logging.getLogger(__name__)

SESSION_KEY = "wearables_oauth"
STATE_TTL = 600


def redirect_uri(request: HttpRequest, provider: str) -> str:
    path = reverse("wearables_callback", args=[provider])
    base = settings.MAHALO_BASE_URL.rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def _provider_or_404(name: str):
    try:
        provider = providers.get(name)
    except (KeyError, ModuleNotFoundError):
        raise Http404 from None
    if not provider.configured:
        raise Http404
    return provider


@portal_page
def connect(request: HttpRequest, patient, provider: str) -> HttpResponse:
    client = _provider_or_404(provider)
    state = secrets.token_urlsafe(32)
    verifier, challenge = providers.base.pkce_pair() if client.pkce else ("", "")
    pending = {k: v for k, v in request.session.get(SESSION_KEY, {}).items()
               if v.get("at", 0) > time.time() - STATE_TTL}
    pending[state] = {"provider": provider, "patient": str(patient.pk), "verifier": verifier, "at": time.time()}
    request.session[SESSION_KEY] = pending
    return redirect(client.authorization_url(state=state, redirect_uri=redirect_uri(request, provider),
                                             code_challenge=challenge))


@portal_page
def callback(request: HttpRequest, patient, provider: str) -> HttpResponse:
    client = _provider_or_404(provider)
    devices = reverse("portal_devices")
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.pop(request.GET.get("state", ""), None)
    request.session[SESSION_KEY] = pending  # single use, whatever happens next
    if (entry is None or entry["provider"] != provider or entry["patient"] != str(patient.pk)
            or entry["at"] < time.time() - STATE_TTL):
        messages.error(request, "That connection link has expired or was not started here. Please try again.")
        return redirect(devices)
    if request.GET.get("error"):
        messages.warning(request, f"{client.label} was not connected ({request.GET['error'][:80]}).")
        return redirect(devices)
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, f"{client.label} sent no authorization code. Please try again.")
        return redirect(devices)
    try:
        tokens = client.exchange_code(code=code, redirect_uri=redirect_uri(request, provider),
                                      code_verifier=entry["verifier"])
    except ProviderError as exc:
        logger.warning("wearables: %s code exchange failed: %s", provider, exc)
        messages.error(request, f"{client.label} could not be connected right now. Please try again later.")
        return redirect(devices)
    services.connection_save_tokens(patient=patient, provider=provider, tokens=tokens, actor=request.user,
                                    request=request)
    messages.success(request, f"{client.label} is connected. Your data will appear after the first sync.")
    return redirect(devices)
