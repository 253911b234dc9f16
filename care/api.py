"""Care over the API (DESIGN "Fixed points"):

    GET  /api/v1/me/doses/?date=YYYY-MM-DD    my doses on a local day (default today)
    POST /api/v1/me/doses/<uuid>/             {"status": "taken" | "skipped", "taken_at"?: ISO-8601, "note"?}

The dose is loaded through the gate (another patient's dose is a 404, like a missing one) and
marked by care.services.medications.dose_log, the function the portal's buttons call."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from care.models import MedicationDose
from care.services import medications as services
from care.services.tasks import RESOURCE as R
from clinical.api import AwareDateTime
from mahalo import access, audit
from mahalo.api import RecordOpen
from mahalo.credentials import StampedJWTAuthentication


class DoseSerializer(serializers.ModelSerializer):
    medication = serializers.CharField(source="medication.name")
    medication_id = serializers.UUIDField()
    dose = serializers.SerializerMethodField()
    instructions = serializers.CharField(source="medication.instructions")

    class Meta:
        model = MedicationDose
        fields = ["id", "medication_id", "medication", "dose", "instructions", "scheduled_at", "local_date",
                  "status", "taken_at", "logged_at", "note"]

    def get_dose(self, obj) -> str:
        return obj.medication.dose_label


class DoseIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=["taken", "skipped"])
    taken_at = AwareDateTime(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


def _me(request):
    patient = access.patient_of(request.user)
    if patient is None or access.is_staff_user(request.user):
        raise Http404
    return patient


@extend_schema(parameters=[OpenApiParameter("date", str, description="Local day, YYYY-MM-DD (default today)")],
               responses=DoseSerializer(many=True), summary="My doses on a day")
@api_view(["GET"])
@authentication_classes([StampedJWTAuthentication, SessionAuthentication])
@permission_classes([IsAuthenticated, RecordOpen])
def my_doses(request):
    me = _me(request)
    raw = request.query_params.get("date") or ""
    try:
        day = date.fromisoformat(raw) if raw else me.today
    except ValueError:
        raise serializers.ValidationError({"date": ["Use YYYY-MM-DD."]}) from None
    rows = access.scoped(request.user, MedicationDose.objects.all(), R).filter(patient=me, local_date=day)
    audit.record(request=request, action="list", resource="care.dose", patient=me,
                 metadata={"via": "api", "date": day.isoformat()})
    return Response(DoseSerializer(rows.select_related("medication").order_by("scheduled_at"), many=True).data)


@extend_schema(request=DoseIn, responses={200: DoseSerializer, 400: inline_serializer("DoseError", {
    "status": serializers.ListField(child=serializers.CharField())})}, summary="Mark one of my doses taken or skipped")
@api_view(["POST"])
@authentication_classes([StampedJWTAuthentication, SessionAuthentication])
@permission_classes([IsAuthenticated, RecordOpen])
def my_dose(request, pk):
    me = _me(request)
    dose = access.load(request, MedicationDose.objects.filter(patient=me), pk, resource=R, action="write",
                       via="patient")
    incoming = DoseIn(data=request.data)
    incoming.is_valid(raise_exception=True)
    data = incoming.validated_data
    try:
        dose = services.dose_log(dose=dose, actor=request.user, status=data["status"], taken_at=data.get("taken_at"),
                                 note=data["note"], request=request, via="api")
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None
    return Response(DoseSerializer(dose).data)
