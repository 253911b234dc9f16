"""The FHIR endpoints' base: the same authentication classes as /api/v1/ (bearer token or session),
`application/fhir+json` in and out, and every refusal as an OperationOutcome (401, 403, 404 for missing
and forbidden alike, 400 naming the element, 405, 415) instead of DRF's or Django's bodies."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from rest_framework import exceptions, permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from mahalo.credentials import StampedJWTAuthentication
from reports.fhir.query import SearchError

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"


class FhirJSONParser(JSONParser):
    media_type = FHIR_JSON


class FhirInvalid(Exception):
    """Bad input: 400 with an OperationOutcome naming each element (FHIRPath-like expressions)."""

    def __init__(self, issues: list[tuple[str, str]]):
        super().__init__("; ".join(f"{e}: {m}" for e, m in issues))
        self.issues = issues


def outcome(issues: list[tuple[str, str]], *, severity: str = "error", code: str = "invalid") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": code,
                "diagnostics": message,
                **({"expression": [element]} if element else {}),
            }
            for element, message in issues
        ],
    }


def fhir_response(body: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False), status=status, content_type=FHIR_JSON
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error(status: int, message: str, *, code: str, element: str = "") -> HttpResponse:
    return fhir_response(outcome([(element, message)], code=code), status=status)


class FhirView(APIView):
    """Derive every FHIR endpoint from this. Reads are gated in the view (404 for missing and
    forbidden alike); writes check the role through `mahalo.access.can`."""

    authentication_classes = [StampedJWTAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [FhirJSONParser, JSONParser]
    # No throttles or pagination of DRF here: FHIR paging is Bundle links.

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            response = error(401, str(exc.detail), code="login")
            response["WWW-Authenticate"] = 'Bearer realm="fhir"'
            return response
        if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
            return error(403, "Your role does not allow this.", code="forbidden")
        if isinstance(exc, Http404 | exceptions.NotFound):
            return error(404, "Not found.", code="not-found")
        if isinstance(exc, exceptions.MethodNotAllowed):
            return error(405, str(exc.detail), code="not-supported")
        if isinstance(exc, exceptions.UnsupportedMediaType):
            return error(415, f"Send {FHIR_JSON}.", code="not-supported")
        if isinstance(exc, exceptions.ParseError):
            return error(400, f"The body is not JSON: {exc.detail}", code="structure")
        if isinstance(exc, SearchError):
            return error(400, exc.message, code="invalid", element=exc.element)
        if isinstance(exc, FhirInvalid):
            return fhir_response(outcome(exc.issues), status=400)
        if isinstance(exc, DjangoValidationError):
            issues = [(k, m) for k, msgs in getattr(exc, "message_dict", {"": exc.messages}).items() for m in msgs]
            return fhir_response(outcome(issues), status=400)
        if isinstance(exc, exceptions.Throttled):
            return error(429, str(exc.detail), code="throttled")
        if isinstance(exc, exceptions.APIException):
            return error(exc.status_code, str(exc.detail), code="processing")
        return super().handle_exception(exc)
