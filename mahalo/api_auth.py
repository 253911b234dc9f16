"""Token sign-in for the mobile app: short-lived access tokens and rotating refresh
tokens (djangorestframework-simplejwt), with the same rules as the web sign-in:
verified email, account lockout (django-axes), two-factor code where the account
has one, and staff without two-factor refused while MAHALO_REQUIRE_STAFF_MFA is on."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from mahalo import access, audit, credentials


class AuthRateThrottle(AnonRateThrottle):
    """Sign-in attempts per client address, whatever the login (issue 12: per-IP throttling)."""

    scope = "auth"


class TokenRequest(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)
    otp = serializers.CharField(required=False, allow_blank=True, help_text="Authenticator code, if enrolled")


class TokenPair(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshRequest(serializers.Serializer):
    refresh = serializers.CharField()


def _refused(detail: str, code: int = status.HTTP_401_UNAUTHORIZED) -> Response:
    return Response({"detail": detail}, status=code)


@extend_schema(request=TokenRequest, responses={200: TokenPair})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AuthRateThrottle])
def token_obtain(request):
    """Email + password (+ authenticator code) → access and refresh tokens."""
    form = TokenRequest(data=request.data)
    form.is_valid(raise_exception=True)
    django_request = request._request
    user = authenticate(django_request, email=form.validated_data["email"].lower(),
                        password=form.validated_data["password"])
    if getattr(django_request, "axes_locked_out", False):
        return _refused("Too many failed sign-ins: this account is locked for a while.",
                        status.HTTP_403_FORBIDDEN)
    if user is None or not user.is_active:
        return _refused("Email or password is not correct.")
    if not EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists():
        return _refused("Verify your email address first (see the email we sent you).", status.HTTP_403_FORBIDDEN)
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if totp is not None:
        code = (form.validated_data.get("otp") or "").strip()
        if not code:
            return _refused("Enter the code from your authenticator app.", status.HTTP_403_FORBIDDEN)
        if not TOTP(totp).validate_code(code):
            audit.record(action="login_failed", request=django_request, resource="session",
                         metadata={"login": user.email, "via": "api-token", "reason": "otp"})
            return _refused("That authenticator code is not correct.")
    elif access.is_staff_user(user) and settings.MAHALO_REQUIRE_STAFF_MFA:
        return _refused("Set up two-factor authentication in the web portal before using the app.",
                        status.HTTP_403_FORBIDDEN)
    refresh = credentials.stamp_token(RefreshToken.for_user(user), user)
    audit.record(action="login", request=django_request, actor=user, resource="session",
                 metadata={"via": "api-token"})
    return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


@extend_schema(request=RefreshRequest, responses={200: TokenPair})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def token_refresh(request):
    """A refresh token → a new access token and a new refresh token (the old one stops working)."""
    form = RefreshRequest(data=request.data)
    form.is_valid(raise_exception=True)
    try:
        old = RefreshToken(form.validated_data["refresh"])
        user_id = old.payload.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])
        from mahalo.models import User

        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            raise TokenError("inactive")
        # A password, two-factor or role change since the token was issued ends it (mahalo/credentials.py).
        if old.payload.get(credentials.CLAIM) != credentials.stamp(user):
            old.blacklist()
            raise TokenError("stale")
        old.blacklist()
    except TokenError:
        return _refused("This session has ended; sign in again.")
    new = credentials.stamp_token(RefreshToken.for_user(user), user)
    return Response({"access": str(new.access_token), "refresh": str(new)})


@extend_schema(request=RefreshRequest, responses={205: None})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def token_revoke(request):
    """Sign out of the app: the refresh token can't be used again."""
    form = RefreshRequest(data=request.data)
    form.is_valid(raise_exception=True)
    try:
        RefreshToken(form.validated_data["refresh"]).blacklist()
    except TokenError:
        pass  # already unusable: signing out twice is fine
    return Response(status=status.HTTP_205_RESET_CONTENT)
