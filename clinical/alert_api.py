"""Alerts in the API, through the same gate and services as the triage pages:

    GET  /api/v1/alerts/?status=open|active|acknowledged|snoozed|resolved|dismissed|all&severity=&patient=
    GET  /api/v1/alerts/<id>/
    POST /api/v1/alerts/<id>/acknowledge/   {note}
    POST /api/v1/alerts/<id>/resolve/       {note}
"""

from __future__ import annotations

import uuid

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from clinical import alerting
from clinical.alert_views import SEVERITY_ORDER
from clinical.models import Alert, Severity
from mahalo.api import GatedViewSet


class AlertSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    program_name = serializers.CharField(source="patient.program.name", read_only=True)
    snoozed = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "patient", "patient_name", "program", "program_name", "rule", "code", "severity", "title",
                  "body", "evidence", "status", "assignee", "snoozed", "snoozed_until", "snooze_reason",
                  "created_at", "updated_at", "last_triggered_at", "trigger_count", "acknowledged_by",
                  "acknowledged_at", "acknowledged_note", "closed_by", "closed_at", "closed_note", "escalated_at"]
        read_only_fields = fields

    def get_snoozed(self, obj) -> bool:
        return obj.snoozed_until is not None and obj.snoozed_until > timezone.now()


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


STATUSES = {"open", "snoozed", "all", *Alert.Status.values}


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GatedViewSet):
    model = Alert
    resource = "clinical"
    serializer_class = AlertSerializer
    related = ("patient__program",)

    def narrow(self, qs):
        params = self.request.query_params
        status = params.get("status", "open")
        if status not in STATUSES:
            raise ValidationError({"status": f"One of {', '.join(sorted(STATUSES))}."})
        now = timezone.now()
        if status == "open":
            qs = qs.filter(status__in=Alert.OPEN)
        elif status == "snoozed":
            qs = qs.filter(status__in=Alert.OPEN, snoozed_until__gt=now)
        elif status != "all":
            qs = qs.filter(status=status)
        if severity := params.get("severity"):
            if severity not in Severity.values:
                raise ValidationError({"severity": f"One of {', '.join(Severity.values)}."})
            qs = qs.filter(severity=severity)
        if patient := params.get("patient"):
            try:
                qs = qs.filter(patient_id=uuid.UUID(patient))
            except ValueError:
                raise ValidationError({"patient": "Not a valid id."}) from None
        if params.get("awake") == "1":
            qs = qs.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
        return qs.order_by(SEVERITY_ORDER.asc(), "created_at", "id")

    def _transition(self, request, service):
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = self.get_object()
        try:
            alert = service(alert=alert, actor=request.user, note=body.validated_data["note"], request=request)
        except alerting.AlertError as exc:
            raise ValidationError({exc.field or "status": [exc.message]}) from None
        return Response(AlertSerializer(Alert.objects.select_related("patient__program").get(pk=alert.pk)).data)

    @extend_schema(request=NoteSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, alerting.alert_acknowledge)

    @extend_schema(request=NoteSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._transition(request, alerting.alert_resolve)
