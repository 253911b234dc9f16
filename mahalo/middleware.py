"""Session rules: staff idle timeout and mandatory MFA enrolment, user time zone, NUL bytes, closed records."""

import time
import zoneinfo
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from mahalo import access, actors

# Paths a staff member without MFA may still open: enrolment itself, logout,
# static files and the health probe.
MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/media/", "/favicon")
# Machine clients (the API and FHIR R4) get a status code, never a redirect to a page.
API_PREFIXES = ("/api/", "/fhir/")
IDLE_KEY = "mahalo_last_seen"
IDLE_WRITE_EVERY = 60  # seconds; settings.MAHALO_IDLE_WRITE_SECONDS overrides (tests pin it)


def _to(request, url):
    # An HTMX request must move the whole page, not swap a login form into a table.
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class StaffMFARequiredMiddleware:
    """With MAHALO_REQUIRE_STAFF_MFA on, staff without TOTP are sent to /accounts/2fa/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.MAHALO_REQUIRE_STAFF_MFA
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and access.is_staff_user(request.user)
            and not _has_mfa(request.user)
        ):
            if request.path.startswith(API_PREFIXES):
                return JsonResponse({"detail": "Enrol two-factor authentication at /accounts/2fa/ first."},
                                    status=403)
            messages.warning(request, "Staff accounts need two-factor authentication. Set it up to continue.")
            return _to(request, reverse("mfa_index"))
        return self.get_response(request)


class StaffIdleTimeoutMiddleware:
    """Logs staff out after MAHALO_STAFF_IDLE_TIMEOUT seconds without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if access.is_staff_user(request.user) and not request.path.startswith(("/static/", "/healthz")):
            now = int(time.time())
            last = request.session.get(IDLE_KEY)
            if last is not None and now - int(last) > settings.MAHALO_STAFF_IDLE_TIMEOUT:
                logout(request)
                messages.info(request, "You were signed out after a period of inactivity.")
                if request.path.startswith(API_PREFIXES):
                    return JsonResponse({"detail": "Session expired."}, status=401)
                return _to(request, f"{reverse('account_login')}?{urlencode({'next': request.get_full_path()})}")
            # Written at most once a minute: saving the session on every request
            # would be a database write per page view for a minute's precision.
            if last is None or now - int(last) >= getattr(settings, "MAHALO_IDLE_WRITE_SECONDS", IDLE_WRITE_EVERY):
                request.session[IDLE_KEY] = now
        return self.get_response(request)


class UserTimezoneMiddleware:
    """Show times in the user's program timezone (staff: focused or first program)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import timezone as djtz

        from mahalo.shell import current_program

        user = request.user
        tzname = None
        if access.is_staff_user(user):
            focus = current_program(request)
            programs = access.program_list(user)
            tzname = focus.timezone if focus else (programs[0].timezone if programs else None)
        elif (patient := access.patient_of(user)) is not None:
            tzname = str(patient.tz)
        if tzname:
            try:
                djtz.activate(zoneinfo.ZoneInfo(tzname))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                djtz.deactivate()
        else:
            djtz.deactivate()
        return self.get_response(request)


class RejectNulBytesMiddleware:
    """A NUL byte is never valid text here, and PostgreSQL refuses it in any string:
    answer 400 up front instead of failing deep in a query (a 500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", "").lower() \
                or any("\x00" in v for values in request.GET.lists() for v in values[1]):
            return _bad_request(request)
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                  "multipart/form-data"):
            try:
                posted = request.POST
            except Exception:  # noqa: BLE001 - a malformed body is Django's to answer
                return self.get_response(request)
            if any("\x00" in v for _, values in posted.lists() for v in values):
                return _bad_request(request)
        return self.get_response(request)


def _bad_request(request):
    message = "The request contained a character that isn't allowed (NUL)."
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class ClosedRecordReadOnlyMiddleware:
    """A patient whose record is archived signs in and reads, but every write through the portal is
    refused here, in one place (issue 12 item 10), with a page that says why. Signing out and
    changing one's password stay open. Token-authenticated API calls are refused by the API's
    permission classes (`mahalo.api`), which see the token's user; this middleware sees the session's."""

    OPEN_PREFIXES = ("/accounts/", "/api/v1/auth/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (request.method not in ("GET", "HEAD", "OPTIONS")
                and not request.path.startswith(self.OPEN_PREFIXES)
                and actors.record_closed(request.user)):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": actors.CLOSED_RECORD_MESSAGE}, status=403)
            return render(request, "403.html", {"exception": actors.CLOSED_RECORD_MESSAGE}, status=403)
        return self.get_response(request)
