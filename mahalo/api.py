"""The API's locked gate: every viewset under /api/v1/ derives from GatedViewSet.

Authentication, permissions, the queryset and object loading are fixed here and
go through mahalo/access.py; a subclass that tries to override them fails at
import time (PostHog's pattern). A subclass declares:

    model = Patient            # or any model with a `patient` or tenant FK
    resource = "patients"      # RESOURCES entry the role must grant
    serializer_class = ...
    related = ("program",)     # select_related for the list (no N+1)
    prefetch = ("flags",)      # prefetch_related, likewise
    def narrow(self, qs): ...  # optional: filters from query parameters (intersected with the gate's rows)
    patient_url_kwarg = "patient_pk"   # nested under /patients/<uuid>/..., optional
    feature = config.TELEHEALTH        # optional: 404 while the tenant has this module switched off
    own_rows = staticmethod(fn)        # optional: rows that belong to one login, not to a patient

`own_rows(user) -> queryset` replaces the patient gate for the three kinds of rows that belong to
a login (docs/architecture.md: a user's notifications, their calendar events) or to a scope
function of the gate (`access.programs_for`): pass the app's one service for "your own rows".
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mahalo import access, audit, features
from mahalo.api_permissions import RecordOpen
from mahalo.credentials import StampedJWTAuthentication

ACTION_FOR_METHOD = {
    "GET": "read",
    "HEAD": "read",
    "OPTIONS": "read",
    "POST": "write",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}
LOCKED = frozenset(
    {
        "authentication_classes",
        "permission_classes",
        "queryset",
        "get_queryset",
        "get_object",
        "check_permissions",
        "check_object_permissions",
        "get_permissions",
        "get_authenticators",
        "paginate_queryset",
        "filter_queryset",
    }
)


class GatePermission(permissions.BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if view.feature and not features.on_for(request.user, view.feature):
            raise exceptions.NotFound()  # the module is switched off for this tenant: it isn't there
        action = ACTION_FOR_METHOD.get(request.method, "read")
        # Reads are never refused here: the scoped queryset is simply empty, so a
        # forbidden record answers 404 exactly like a missing one.
        # A viewset over a login's own rows (`own_rows`) lets its owner change them, as the pages do
        # (marking a notification read needs no role); the row loader already confined them to it.
        return action == "read" or view.own_rows is not None or access.can(request.user, view.resource, action)


class GatedViewSet(viewsets.GenericViewSet):
    authentication_classes = [StampedJWTAuthentication, SessionAuthentication]
    permission_classes = [RecordOpen, GatePermission]  # RecordOpen first: its refusal says why
    model: type | None = None
    resource: str = ""
    related: tuple[str, ...] = ()
    prefetch: tuple[str, ...] = ()
    patient_url_kwarg: str | None = None
    feature: str = ""
    own_rows = None  # staticmethod((user) -> queryset) for rows owned by a login (see the module doc)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        overridden = LOCKED & set(cls.__dict__)
        if overridden:
            raise TypeError(f"{cls.__name__} may not override {sorted(overridden)}: the access gate owns them.")
        if cls.model is None or not cls.resource:
            raise TypeError(f"{cls.__name__} must set `model` and `resource`.")

    @property
    def gate_action(self) -> str:
        return ACTION_FOR_METHOD.get(self.request.method, "read")

    def get_queryset(self):
        from patients.models import Patient

        user, action = self.request.user, self.gate_action
        if self.own_rows is not None:
            # The caller's own rows; writes still need the role's permission (GatePermission).
            qs = self.own_rows(user)
        elif self.model is Patient:
            qs = access.patients_for(user, action, self.resource)
        else:
            qs = access.scoped(user, self.model.objects.all(), self.resource, action)
        if self.patient_url_kwarg:
            patient = self._url_patient()
            qs = qs.filter(patient=patient)
        if self.related:
            qs = qs.select_related(*self.related)
        if self.prefetch:
            qs = qs.prefetch_related(*self.prefetch)
        return qs

    def filter_queryset(self, queryset):
        """Apply the subclass's `narrow()` (query-parameter filters), intersected with
        the gate's queryset so that a filter can only ever remove rows."""
        narrowed = self.narrow(queryset)
        return queryset if narrowed is queryset else queryset & narrowed

    def narrow(self, queryset):
        return queryset

    def _url_patient(self):
        if not hasattr(self, "_patient"):
            self._patient = access.patient_for_request(
                self.request, self.kwargs[self.patient_url_kwarg], "read", self.resource
            )
        return self._patient

    def get_object(self):
        from patients.models import Patient

        queryset = self.get_queryset()  # list filters (narrow) never hide a record asked for by id
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        try:
            uuid.UUID(str(lookup))
        except ValueError:
            raise Http404 from None
        try:
            obj = queryset.get(**{self.lookup_field: lookup})
        except self.model.DoesNotExist:
            if self.model is Patient:
                # Same 404, but the attempt is audited when the record exists.
                access.patient_for_request(self.request, lookup, self.gate_action, self.resource)
            raise Http404 from None
        patient = obj if isinstance(obj, Patient) else getattr(obj, "patient", None)
        if self.gate_action == "read":
            audit.record(request=self.request, action="read", resource=self.resource, patient=patient,
                         object_id=obj.pk, metadata={"via": "api"})
        return obj

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        ids = [str(getattr(r, "patient_id", None) or r.pk) for r in rows]
        audit.record(request=self.request, action="list", resource=self.resource,
                     patient=self._patient if self.patient_url_kwarg else None,
                     metadata={"via": "api", "count": len(ids), "ids": ids[:200]})
        return page


def exception_handler(exc, context):
    """400 with field errors for bad input, 404 for missing-or-forbidden; never a 500 for either."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    kind = serializers.CharField()
    role = serializers.CharField()
    project = serializers.CharField(allow_null=True)
    patient_id = serializers.UUIDField(allow_null=True)
    permissions = serializers.ListField(child=serializers.CharField())


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request):
    """Who am I, and what may I do: lets the mobile app shape itself."""
    user = request.user
    patient = access.patient_of(user)
    project = access.project_of(user)
    data = {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "kind": "staff" if access.is_staff_user(user) else ("patient" if patient else "user"),
        "role": access.actor_role(user),
        "project": project.name if project else None,
        "patient_id": patient.pk if patient else None,
        "permissions": sorted(f"{r}:{a}" for r, a in access.permissions_of(user)),
    }
    return Response(MeSerializer(data).data)
