"""Rehab over the API for the patient's own app (same services as the portal's Today):

    GET  /api/v1/me/exercise-logs/          my exercise logs of the last 30 days
    POST /api/v1/me/exercise-logs/          {"duration_min", "prescription"?, "performed_at"?, "distance_km"?,
                                             "avg_hr"?, "max_hr"?, "rpe"?, "symptoms"?: [...], "notes"?}
    GET  /api/v1/me/daily-score/?date=      a day's score with its components (default today)

A prescription is loaded through the gate (another patient's is a 404, like a missing one); a
chest-pain symptom or a heart rate above the prescribed maximum raises the alert before the answer."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from care.api import _me
from care.models import ExerciseLog, ExercisePrescription
from care.services import rehab, scores
from care.services.rehab import RESOURCE as R
from clinical.api import AwareDateTime
from mahalo import access, audit
from mahalo.credentials import StampedJWTAuthentication


class ExerciseLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExerciseLog
        fields = ["id", "prescription", "activity", "performed_at", "local_date", "duration_min", "distance_km",
                  "avg_hr", "max_hr", "rpe", "symptoms", "notes", "source"]


class ExerciseLogIn(serializers.Serializer):
    duration_min = serializers.FloatField()
    prescription = serializers.UUIDField(required=False, allow_null=True)
    performed_at = AwareDateTime(required=False)
    distance_km = serializers.FloatField(required=False, allow_null=True)
    avg_hr = serializers.IntegerField(required=False, allow_null=True)
    max_hr = serializers.IntegerField(required=False, allow_null=True)
    rpe = serializers.IntegerField(required=False, allow_null=True)
    symptoms = serializers.ListField(child=serializers.ChoiceField(choices=ExerciseLog.Symptom.values),
                                     required=False, default=list)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


@extend_schema(methods=["GET"], responses=ExerciseLogSerializer(many=True), summary="My exercise logs (30 days)")
@extend_schema(methods=["POST"], request=ExerciseLogIn, responses={201: ExerciseLogSerializer},
               summary="Log exercise (chest pain or heart rate above the prescribed maximum alerts the care team)")
@api_view(["GET", "POST"])
@authentication_classes([StampedJWTAuthentication, SessionAuthentication])
@permission_classes([IsAuthenticated])
def my_exercise_logs(request):
    me = _me(request)
    if request.method == "GET":
        rows = (access.scoped(request.user, ExerciseLog.objects.all(), R)
                .filter(patient=me, local_date__gte=me.today - timedelta(days=29)).order_by("-performed_at"))
        audit.record(request=request, action="list", resource="care.exercise_log", patient=me,
                     metadata={"via": "api"})
        return Response(ExerciseLogSerializer(rows, many=True).data)
    incoming = ExerciseLogIn(data=request.data)
    incoming.is_valid(raise_exception=True)
    d = incoming.validated_data
    rx = None
    if d.get("prescription"):
        rx = access.load(request, ExercisePrescription.objects.filter(patient=me).select_related("exercise"),
                         d["prescription"], resource=R, action="write", via="patient", audit_read=False)
    data = rehab.LogIn(duration_min=d["duration_min"], prescription=rx, performed_at=d.get("performed_at"),
                       distance_km=d.get("distance_km"), avg_hr=d.get("avg_hr"), max_hr=d.get("max_hr"),
                       rpe=d.get("rpe"), symptoms=d.get("symptoms") or [], notes=d.get("notes") or "")
    try:
        log = rehab.exercise_log(patient=me, actor=request.user, data=data, request=request, via="api")
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None
    return Response(ExerciseLogSerializer(log).data, status=201)


@extend_schema(parameters=[OpenApiParameter("date", str, description="Local day, YYYY-MM-DD (default today)")],
               responses={200: dict}, summary="My daily score with its components")
@api_view(["GET"])
@authentication_classes([StampedJWTAuthentication, SessionAuthentication])
@permission_classes([IsAuthenticated])
def my_daily_score(request):
    me = _me(request)
    raw = request.query_params.get("date") or ""
    try:
        day = date.fromisoformat(raw) if raw else me.today
    except ValueError:
        raise serializers.ValidationError({"date": ["Use YYYY-MM-DD."]}) from None
    if day > me.today or day < me.today - timedelta(days=90):
        raise serializers.ValidationError({"date": ["A day in the last 90 days."]})
    view = scores.day_score(me, day)
    audit.record(request=request, action="read", resource="care.daily_score", patient=me,
                 metadata={"via": "api", "date": day.isoformat()})
    return Response({**view, "date": day.isoformat()})
