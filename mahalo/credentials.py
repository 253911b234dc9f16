"""One stamp for everything that makes a sign-in valid (issue 12, "sessions and tokens").

A user's stamp hashes their password hash, their two-factor authenticators (TOTP, security keys: not
the recovery codes' used-mask, which changes when a code is used), whether the login is active, and
their staff row (active, role, tenant). API tokens (the `cs` claim, checked by StampedJWTAuthentication
and on refresh) carry the stamp they were issued with: changing or resetting the password, adding or
removing an authenticator, deactivating the login or ending the role ends every token of that user at
once. Web sessions (User.get_session_auth_hash) use the stamp without the authenticators: a password,
activity or role change ends them; a staff session left without two-factor is held at enrolment by
StaffMFARequiredMiddleware.
The allauth signals below additionally blacklist the user's outstanding refresh tokens and keep the
session that made the change signed in.
"""

from __future__ import annotations

import hashlib

from django.utils.crypto import salted_hmac
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

CLAIM = "cs"
_STAMPED_TYPES = ("totp", "webauthn")


def stamp(user, *, authenticators: bool = True) -> str:
    from allauth.mfa.models import Authenticator

    from mahalo.models import StaffMember

    if user is None or user.pk is None:
        return ""
    keys = [] if not authenticators else sorted(
        f"{pk}:{kind}:{hashlib.sha256(repr(data.get('secret', '')).encode()).hexdigest()[:12]}"
        for pk, kind, data in Authenticator.objects.filter(user_id=user.pk, type__in=_STAMPED_TYPES)
        .values_list("pk", "type", "data")
    )
    staff = StaffMember.objects.filter(user_id=user.pk).values_list("pk", "is_active", "role_id", "project_id")
    parts = [user.password, str(user.is_active), ",".join(keys), repr(sorted(map(str, staff)))]
    return salted_hmac("mahalo.credentials.stamp", "|".join(parts), algorithm="sha256").hexdigest()[:32]


def stamp_token(token, user):
    """Put the user's current stamp in a refresh token (its access tokens copy the claim)."""
    token[CLAIM] = stamp(user)
    return token


def revoke_refresh_tokens(user) -> int:
    """Blacklist every outstanding refresh token of the user; returns how many."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    outstanding = OutstandingToken.objects.filter(user_id=user.pk).exclude(blacklistedtoken__isnull=False)
    rows = [BlacklistedToken(token=t) for t in outstanding]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


class StampedJWTAuthentication(JWTAuthentication):
    """simplejwt's bearer authentication, refusing a token whose stamp is no longer the user's."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        # Every token api_auth issues carries the claim; one without it was minted in code (tests, or
        # before this check existed: at most ACCESS_TOKEN_LIFETIME old, and refresh refuses it).
        if CLAIM in validated_token and validated_token[CLAIM] != stamp(user):
            raise AuthenticationFailed("This session has ended; sign in again.", code="token_not_valid")
        return user


def connect() -> None:
    """Revoke refresh tokens and keep the acting session when allauth changes a credential."""
    from allauth.account import signals as account_signals
    from allauth.mfa import signals as mfa_signals
    from django.contrib.auth import update_session_auth_hash

    def _changed(sender, request=None, user=None, **kwargs):
        if user is None:
            return
        revoke_refresh_tokens(user)
        if request is not None and getattr(request, "user", None) == user and user.is_authenticated:
            # The stamp moved: this browser made the change and stays signed in; every other does not.
            update_session_auth_hash(request, user)

    for signal in (account_signals.password_changed, account_signals.password_set, account_signals.password_reset,
                   mfa_signals.authenticator_added, mfa_signals.authenticator_removed,
                   mfa_signals.authenticator_reset):
        signal.connect(_changed, dispatch_uid=f"mahalo.credentials.{id(signal)}")


try:  # the OpenAPI schema documents the stamped bearer scheme as simplejwt's
    from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme

    class StampedJWTScheme(SimpleJWTScheme):
        target_class = "mahalo.credentials.StampedJWTAuthentication"
except ImportError:  # pragma: no cover - drf-spectacular is a runtime dependency
    pass
