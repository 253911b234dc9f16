"""The one small interface every cloud provider implements, and the HTTP session
that gives all of them the same behaviour on the wire:

- 429: wait for Retry-After (seconds or an HTTP date), else exponential backoff;
- 401: refresh the token once (rotating refresh tokens are stored every time),
  then retry; a failed refresh means the patient must re-consent;
- 5xx and timeouts: retry with exponential backoff, then give up for this run.

A provider module subclasses `Provider`, declares its endpoints and says how to
read one page (`fetch`) and how to turn one record into readings and daily values
(`normalize`). URLs and credentials come from WEARABLES_<NAME>_* settings.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import httpx
from django.conf import settings

from wearables.ingest import Daily, Reading

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """The sync can't go on now; try again later."""


class NeedsReconsent(ProviderError):
    """The grant is gone (refresh refused or revoked): the patient must connect again."""


class RateLimited(ProviderError):
    def __init__(self, message: str, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


class Malformed(ValueError):
    """One record (or page) that can't be read; it is logged and skipped."""


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str = ""
    expires_at: datetime | None = None
    scope: str = ""
    external_user_id: str = ""

    @classmethod
    def from_response(cls, data: dict) -> TokenSet:
        if not isinstance(data, dict) or not data.get("access_token"):
            raise ProviderError("token response without access_token")
        expires = data.get("expires_in")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data.get("refresh_token") or ""),
            expires_at=datetime.now(UTC) + timedelta(seconds=int(expires)) if expires else None,
            scope=str(data.get("scope") or ""),
            external_user_id=str(data.get("user_id") or data.get("userid") or data.get("x_user_id") or ""),
        )


@dataclass
class Page:
    """One page of one endpoint: its records, and the raw body for diagnosis."""

    endpoint: str
    records: list
    raw: str = ""


@dataclass
class Normalized:
    readings: list[Reading] = field(default_factory=list)
    dailies: list[Daily] = field(default_factory=list)


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 S256: (code_verifier, code_challenge)."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _setting(name: str, key: str) -> str:
    return getattr(settings, f"WEARABLES_{name.upper()}_{key}", "")


class Provider:
    name = ""              # slug, = wearables.models.Provider value
    label = ""
    revoke_path = ""       # relative to api_base; empty: the provider has no revocation
    scopes: tuple[str, ...] = ()
    scope_separator = " "
    pkce = False           # send code_challenge (S256)
    # Where the client credentials go when calling the token endpoint.
    client_auth = "body"   # "body" | "basic"

    def __init__(self):
        # Real URLs by default (settings.py); tests point them at a stub on 127.0.0.1.
        self.api_base = _setting(self.name, "API_BASE").rstrip("/")
        self.authorize_url = _setting(self.name, "AUTHORIZE_URL")
        self.token_url = _setting(self.name, "TOKEN_URL")
        self.client_id = _setting(self.name, "CLIENT_ID")
        self.client_secret = _setting(self.name, "CLIENT_SECRET")

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    # --- OAuth 2 --------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
                  "scope": self.scope_separator.join(self.scopes), "state": state}
        if self.pkce and code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        sep = "&" if "?" in self.authorize_url else "?"
        return f"{self.authorize_url}{sep}{urlencode(params)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str = "") -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if self.pkce and code_verifier:
            form["code_verifier"] = code_verifier
        return TokenSet.from_response(self._token_request(form))

    def refresh(self, refresh_token: str) -> TokenSet:
        if not refresh_token:
            raise NeedsReconsent("no refresh token")
        return TokenSet.from_response(self._token_request({"grant_type": "refresh_token",
                                                           "refresh_token": refresh_token}))

    def revoke(self, token: str, external_user_id: str = "") -> None:
        """Revoke the grant where the provider offers it; best effort."""
        if not self.revoke_path or not token:
            return
        with client() as http:
            http.request("DELETE", f"{self.api_base}{self.revoke_path}",
                         headers={"Authorization": f"Bearer {token}"})

    def _token_request(self, form: dict) -> dict:
        auth = None
        if self.client_auth == "basic":
            auth = (self.client_id, self.client_secret)
        else:
            form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        try:
            with client() as http:
                response = http.post(self.token_url, data=form, auth=auth, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderError(f"token endpoint unreachable: {exc}") from exc
        if response.status_code in (400, 401, 403):
            # invalid_grant and friends: the grant is gone.
            raise NeedsReconsent(f"token endpoint refused ({response.status_code}): {response.text[:300]}")
        if response.status_code >= 300:
            raise ProviderError(f"token endpoint answered {response.status_code}")
        try:
            return self.token_payload(response.json())
        except ValueError as exc:
            raise ProviderError("token endpoint sent no JSON") from exc

    def logical_status(self, response: httpx.Response) -> int:
        """The status that decides retries. Withings answers 200 with an error code in the body."""
        return response.status_code

    def token_payload(self, data: dict) -> dict:
        """Hook for providers that wrap the token response (Withings)."""
        return data

    # --- Data -------------------------------------------------------------------
    def fetch(self, session: ApiSession, start: datetime, end: datetime) -> Iterator[Page]:
        """Every page of every endpoint for [start, end), following paging to the end."""
        raise NotImplementedError

    def normalize(self, endpoint: str, record, tz) -> Normalized:
        """One record -> readings and daily values. Raise Malformed to skip it."""
        raise NotImplementedError


def client() -> httpx.Client:
    return httpx.Client(timeout=settings.WEARABLES_HTTP_TIMEOUT, follow_redirects=False)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


class ApiSession:
    """Authorized requests for one connection's sync.

    `get_token()` returns the current access token; `refresh_token()` refreshes and
    stores the new token set, returning the new access token (raises NeedsReconsent).
    """

    def __init__(self, provider: Provider, *, get_token: Callable[[], str], refresh_token: Callable[[], str],
                 sleep: Callable[[float], None] = time.sleep):
        self.provider = provider
        self._get_token = get_token
        self._refresh = refresh_token
        self._sleep = sleep
        self.http = client()
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, *, auth_in: str = "header", **kwargs) -> httpx.Response:
        """One logical request with the shared retry rules. Returns a 2xx/4xx response
        the caller reads; raises ProviderError/RateLimited/NeedsReconsent."""
        if not url.startswith("http"):
            url = f"{self.provider.api_base}{url}"
        refreshed = False
        attempt = 0
        max_attempts = settings.WEARABLES_MAX_ATTEMPTS
        base_headers = kwargs.pop("headers", None) or {}
        base_data = kwargs.pop("data", None)
        while True:
            attempt += 1
            token = self._get_token()
            headers = {**base_headers, "Authorization": f"Bearer {token}"}
            data = base_data
            if auth_in == "form":  # Withings also takes the token as a form field
                data = {**(base_data or {}), "access_token": token}
            self.requests += 1
            try:
                response = self.http.request(method, url, headers=headers, data=data, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if attempt >= max_attempts:
                    raise ProviderError(f"{self.provider.label} unreachable after {attempt} attempts: {exc}") from exc
                self._backoff(attempt)
                continue
            status = self.provider.logical_status(response)
            if status == 401 and not refreshed:
                refreshed = True
                self._refresh()  # raises NeedsReconsent when the refresh is refused
                continue
            if status == 401:
                raise NeedsReconsent(f"{self.provider.label} refused the refreshed token")
            if status == 429:
                wait = _retry_after(response)
                if wait is None:
                    wait = self._backoff_seconds(attempt)
                if wait > settings.WEARABLES_MAX_INLINE_WAIT or attempt >= max_attempts:
                    raise RateLimited(f"{self.provider.label} rate limit (429)",
                                      datetime.now(UTC) + timedelta(seconds=max(wait, 60)))
                self._sleep(wait)
                continue
            if status >= 500:
                if attempt >= max_attempts:
                    raise ProviderError(f"{self.provider.label} answered {status} {attempt} times")
                self._backoff(attempt)
                continue
            return response

    def get_json(self, url: str, **kwargs):
        response = self.request("GET", url, **kwargs)
        if response.status_code >= 400:
            raise ProviderError(f"{self.provider.label} {url} answered {response.status_code}: "
                                f"{response.text[:300]}")
        try:
            return response.json(), response.text
        except ValueError as exc:
            raise Malformed(f"not JSON: {response.text[:200]}") from exc

    def _backoff_seconds(self, attempt: int) -> float:
        return min(settings.WEARABLES_BACKOFF_BASE * (2 ** (attempt - 1)), settings.WEARABLES_MAX_INLINE_WAIT)

    def _backoff(self, attempt: int) -> None:
        self._sleep(self._backoff_seconds(attempt))
