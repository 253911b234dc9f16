"""The clinical API (/api/v1/), through the same gate and services as the pages.

Observations (DESIGN.md fixed point):
    GET  /api/v1/patients/<uuid>/observations/   staff with clinical:read on that patient
    POST /api/v1/patients/<uuid>/observations/   staff with clinical:write on that patient (source "staff")
    GET  /api/v1/me/observations/                the logged-in patient's own readings
    POST /api/v1/me/observations/                the logged-in patient records a reading (source "patient")

Each item carries its classification: interpretation (invalid | normal | abnormal |
critical), the published table's category and the table it came from. Writes go
through clinical.observations.observation_record (the same service as the chart and
the portal): bad input answers 400 with field errors and stores nothing.

Alerts (the triage queue; filters are `clinical.triage.filter_alerts`, the page's):
    GET  /api/v1/alerts/?status=&snoozed=1&severity=&program=&patient=&mine=1&q=
    GET  /api/v1/alerts/<id>/
    POST /api/v1/alerts/<id>/acknowledge/   {note}
    POST /api/v1/alerts/<id>/resolve/       {note}

Labs, recommendations and rules (read-only):
    GET  /api/v1/patients/<uuid>/labs/[<id>/]          orders with their results and range status
    GET  /api/v1/patients/<uuid>/recommendations/      all of them (staff)
    GET  /api/v1/me/recommendations/                   the patient's active ones (the portal's)
    GET  /api/v1/rules/[<id>/]                         tenant-wide rules and those of my programs

Routes are in clinical/urls.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from clinical import alerting, labs, observations, triage
from clinical.metrics import METRICS
from clinical.models import Alert, BloodTest, ClinicalRule, LabOrder, Observation, Recommendation, Severity, Source
from mahalo import access, dates
from mahalo.api import GatedViewSet

# --- Observations ----------------------------------------------------------------------------


class ObservationSerializer(serializers.ModelSerializer):
    metric_label = serializers.SerializerMethodField()
    display = serializers.SerializerMethodField()
    category_label = serializers.SerializerMethodField()
    category_source = serializers.SerializerMethodField(help_text="The published table the category comes from.")
    entered_in_error = serializers.SerializerMethodField()
    entered = serializers.SerializerMethodField(help_text="The value and unit as typed, when entered by a person.")
    entered_by = serializers.SerializerMethodField()

    class Meta:
        model = Observation
        fields = ["id", "metric", "metric_label", "value", "value2", "unit", "display", "effective_at", "end_at",
                  "source", "device", "method", "context", "interpretation", "category", "category_label",
                  "category_source", "entered_in_error", "entered", "entered_by", "created_at"]

    def get_metric_label(self, obj) -> str:
        return obj.get_metric_display()

    def get_display(self, obj) -> str:
        return f"{observations.display_value(obj)} {obj.unit}"

    def get_category_label(self, obj) -> str:
        return observations.category_label(obj)

    def get_category_source(self, obj) -> str:
        return observations.category_source(obj)

    def get_entered_in_error(self, obj) -> bool:
        return observations.entered_in_error(obj)

    def get_entered(self, obj) -> dict | None:
        return (obj.details or {}).get("entered")

    def get_entered_by(self, obj) -> str:
        return (obj.entered_by.get_full_name() or obj.entered_by.email) if obj.entered_by_id else ""


class StrictNumber(serializers.FloatField):
    """A JSON number or a numeric string; true/false, "", NaN and infinity are not numbers."""

    default_error_messages = {"invalid": "Enter a number.", "finite": "Enter a finite number."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if value != value or value in (float("inf"), float("-inf")):
            self.fail("finite")
        return value


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTime(serializers.Field):
    """ISO-8601 with an offset: a reading at the wrong hour is a wrong reading, so a
    naive time is refused rather than read in the server's zone."""

    default_error_messages = {"invalid": "Use ISO-8601 with a UTC offset, e.g. 2026-03-04T07:30:00-10:00.",
                              "naive": "The time needs a UTC offset (or Z)."}

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid")
        try:
            moment = datetime.fromisoformat(data.strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail("invalid")
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail("naive")
        return dates.check(moment)

    def to_representation(self, value):
        return value.isoformat()


class ObservationIn(serializers.Serializer):
    metric = serializers.ChoiceField(choices=list(observations.ENTRY_METRICS))
    value = StrictNumber()
    value2 = StrictNumber(required=False, allow_null=True, help_text="Diastolic, for blood pressure.")
    unit = serializers.CharField(max_length=20, help_text="e.g. mmHg, kg, lb, Cel, °F, mg/dL, mmol/L, bpm, %.")
    effective_at = AwareDateTime(help_text="When it was measured, with a UTC offset.")
    context = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                    help_text="BP: home | office | cuffless (required). Glucose: fasting | "
                                              "post_meal | random (default random).")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def _record(request, patient, source: str) -> Response:
    incoming = ObservationIn(data=request.data)
    incoming.is_valid(raise_exception=True)
    data = incoming.validated_data
    try:
        obs = observations.observation_record(
            patient, data["metric"], data["value"], data["unit"], data["effective_at"], value2=data.get("value2"),
            context=data["context"].strip(), note=data["note"], actor=request.user, source=source, request=request,
            via="api")
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None
    body = dict(ObservationSerializer(obs).data)
    # A critical value: the same guidance the portal shows (null otherwise).
    body["crisis"] = observations.crisis_guidance(obs, audience="patient" if source == Source.PATIENT else "staff")
    return Response(body, status=status.HTTP_201_CREATED)


def _moment(raw: str, field: str, *, end: bool = False) -> datetime:
    """?since= / ?until=: an aware ISO datetime, or a date (the whole day, UTC)."""
    try:
        if len(raw) == 10:
            day = dates.check(datetime.fromisoformat(raw).date(), field)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise serializers.ValidationError({field: ["Use an ISO date (2026-03-04) or a time with an offset."]}) from None
    if timezone.is_naive(moment):
        raise serializers.ValidationError({field: ["The time needs a UTC offset (or Z)."]})
    return dates.check(moment, field)


FILTER_PARAMS = [
    OpenApiParameter("metric", OpenApiTypes.STR, enum=sorted(METRICS)),
    OpenApiParameter("source", OpenApiTypes.STR, enum=Source.values),
    OpenApiParameter("since", OpenApiTypes.STR, description="ISO date or datetime with offset (inclusive)"),
    OpenApiParameter("until", OpenApiTypes.STR, description="ISO date or datetime with offset (inclusive)"),
]


class _ObservationBase(GatedViewSet):
    model = Observation
    resource = "clinical"
    serializer_class = ObservationSerializer
    related = ("entered_by",)

    def narrow(self, queryset):
        params = self.request.query_params
        errors = {}
        qs = queryset
        if metric := params.get("metric"):
            if metric not in METRICS:
                errors["metric"] = [f"Unknown metric. Use one of {', '.join(sorted(METRICS))}."]
            qs = qs.filter(metric=metric)
        if source := params.get("source"):
            if source not in Source.values:
                errors["source"] = ["Unknown source."]
            qs = qs.filter(source=source)
        for name, lookup in (("since", "effective_at__gte"), ("until", "effective_at__lte")):
            if raw := params.get(name):
                try:
                    qs = qs.filter(**{lookup: _moment(raw, name, end=name == "until")})
                except serializers.ValidationError as exc:
                    errors.update(exc.detail)
        if errors:
            raise serializers.ValidationError(errors)
        return qs


@extend_schema_view(
    list=extend_schema(parameters=FILTER_PARAMS, summary="A patient's observations, newest first"),
    create=extend_schema(request=ObservationIn, responses={201: ObservationSerializer},
                         summary="Record a reading for a patient (staff)"),
)
class PatientObservationViewSet(mixins.ListModelMixin, _ObservationBase):
    patient_url_kwarg = "patient_pk"

    def create(self, request, *args, **kwargs):
        # The role allows clinical:write (GatePermission); the gate decides for this patient.
        patient = access.patient_for_request(request, kwargs[self.patient_url_kwarg], "write", "clinical")
        if not access.is_staff_user(request.user):
            raise Http404  # patients record their own readings at /me/observations/
        return _record(request, patient, Source.STAFF)


@extend_schema_view(
    list=extend_schema(parameters=FILTER_PARAMS, summary="My observations, newest first"),
    create=extend_schema(request=ObservationIn, responses={201: ObservationSerializer},
                         summary="Record one of my readings"),
)
class MyObservationViewSet(mixins.ListModelMixin, _ObservationBase):
    def narrow(self, queryset):
        me = access.patient_of(self.request.user)
        if me is None or access.is_staff_user(self.request.user):
            raise Http404("No patient record for this account.")
        return super().narrow(queryset).filter(patient_id=me.pk)

    def create(self, request, *args, **kwargs):
        me = access.patient_of(request.user)
        if me is None or access.is_staff_user(request.user):
            raise Http404("No patient record for this account.")
        patient = access.get_patient_for(request.user, me.pk, "write", "clinical")
        return _record(request, patient, Source.PATIENT)


# --- Alerts -----------------------------------------------------------------------------------

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


ALERT_PARAMS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=["open", *triage.STATUSES[1:]],
                     description="open (default): active or acknowledged, not snoozed"),
    OpenApiParameter("snoozed", OpenApiTypes.STR, enum=["1"], description="1: the open view lists snoozed too"),
    OpenApiParameter("severity", OpenApiTypes.STR, enum=Severity.values),
    OpenApiParameter("program", OpenApiTypes.UUID),
    OpenApiParameter("patient", OpenApiTypes.UUID),
    OpenApiParameter("mine", OpenApiTypes.STR, enum=["1"], description="1: assigned to me"),
    OpenApiParameter("q", OpenApiTypes.STR, description="Patient name, MRN, email or phone"),
]


@extend_schema_view(list=extend_schema(parameters=ALERT_PARAMS, summary="The triage queue"))
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GatedViewSet):
    model = Alert
    resource = "clinical"
    serializer_class = AlertSerializer
    related = ("patient__program",)

    def narrow(self, queryset):
        if self.action != "list":
            return queryset
        filtered, _filters, errors = triage.filter_alerts(self.request.user, self.request.query_params)
        if errors:
            raise ValidationError(errors)
        return filtered

    def _transition(self, request, service):
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = self.get_object()
        try:
            alert = service(alert=alert, actor=request.user, note=body.validated_data["note"], request=request)
        except alerting.AlertError as exc:
            raise ValidationError({exc.field or "status": [exc.message]}) from None
        return Response(AlertSerializer(self.get_queryset().get(pk=alert.pk)).data)  # fresh, through the gate

    @extend_schema(request=NoteSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, alerting.alert_acknowledge)

    @extend_schema(request=NoteSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._transition(request, alerting.alert_resolve)


# --- Labs, recommendations, rules (read-only; issue 18) ----------------------------------------
# Writes stay on the pages (clinical.labs / clinical.recommendations services); these lists feed
# the mobile app and integrations. Lab release to the patient is the portal's business (no /me/labs/
# here until results carry a release state).


class BloodTestSerializer(serializers.ModelSerializer):
    in_range = serializers.BooleanField(allow_null=True, read_only=True,
                                        help_text="Against the lab's own reference range; null without one.")
    range_status = serializers.SerializerMethodField(help_text="in_range | low | high | out_of_range | no_range")
    a1c_category = serializers.SerializerMethodField(help_text="ADA class of an HbA1c in %, else empty.")

    class Meta:
        model = BloodTest
        fields = ["id", "test_name", "loinc", "value", "unit", "reference_low", "reference_high", "in_range",
                  "range_status", "a1c_category", "recorded_at"]

    def get_range_status(self, obj) -> str:
        if obj.in_range is None:
            return "no_range"
        if obj.in_range:
            return "in_range"
        if obj.reference_high is not None and obj.value > obj.reference_high:
            return "high"
        if obj.reference_low is not None and obj.value < obj.reference_low:
            return "low"
        return "out_of_range"

    def get_a1c_category(self, obj) -> str:
        return labs.a1c_category(obj)


class LabOrderSerializer(serializers.ModelSerializer):
    ordered_by = serializers.SerializerMethodField()
    results = BloodTestSerializer(many=True, read_only=True)

    class Meta:
        model = LabOrder
        fields = ["id", "tests", "notes", "status", "ordered_at", "ordered_by", "completed_at", "cancelled_reason",
                  "results"]

    def get_ordered_by(self, obj) -> str:
        return obj.ordered_by.get_full_name() or obj.ordered_by.email


@extend_schema_view(list=extend_schema(summary="A patient's lab orders with their results, newest first"),
                    retrieve=extend_schema(summary="One lab order with its results"))
class PatientLabOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GatedViewSet):
    model = LabOrder
    resource = "clinical"
    serializer_class = LabOrderSerializer
    related = ("ordered_by",)
    prefetch = ("results",)
    patient_url_kwarg = "patient_pk"

    def narrow(self, queryset):
        return queryset.order_by("-ordered_at")


class RecommendationSerializer(serializers.ModelSerializer):
    domain_label = serializers.CharField(source="get_domain_display", read_only=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Recommendation
        fields = ["id", "domain", "domain_label", "content", "is_active", "created_by", "created_at", "updated_at"]

    def get_created_by(self, obj) -> str:
        return obj.created_by.get_full_name() or obj.created_by.email


@extend_schema_view(list=extend_schema(summary="A patient's recommendations (active and retired), newest first"))
class PatientRecommendationViewSet(mixins.ListModelMixin, GatedViewSet):
    model = Recommendation
    resource = "clinical"
    serializer_class = RecommendationSerializer
    related = ("created_by",)
    patient_url_kwarg = "patient_pk"

    def narrow(self, queryset):
        return queryset.order_by("-created_at")


@extend_schema_view(list=extend_schema(summary="My recommendations: the active ones, as the portal shows them"))
class MyRecommendationViewSet(mixins.ListModelMixin, GatedViewSet):
    model = Recommendation
    resource = "clinical"
    serializer_class = RecommendationSerializer
    related = ("created_by",)

    def narrow(self, queryset):
        me = access.patient_of(self.request.user)
        if me is None or access.is_staff_user(self.request.user):
            raise Http404("No patient record for this account.")
        return queryset.filter(patient_id=me.pk, is_active=True).order_by("-created_at")


class RuleSerializer(serializers.ModelSerializer):
    program = serializers.SerializerMethodField(help_text="The program's name; null for a tenant-wide rule.")

    class Meta:
        model = ClinicalRule
        fields = ["id", "code", "name", "description", "program", "metric", "window_days", "condition", "threshold",
                  "threshold_setting", "params", "severity", "action", "priority", "enabled"]

    def get_program(self, obj) -> str | None:
        return obj.program.name if obj.program_id else None


@extend_schema_view(list=extend_schema(summary="Clinical rules readable in my scope (tenant-wide and my programs')"),
                    retrieve=extend_schema(summary="One clinical rule"))
class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GatedViewSet):
    model = ClinicalRule
    resource = "clinical"
    serializer_class = RuleSerializer
    related = ("program",)

    def narrow(self, queryset):
        return triage.rules_in_programs(queryset, self.request.user).order_by("-priority", "code")

    def retrieve(self, request, *args, **kwargs):
        # The dry run's loader: the tenant's rule (audited), and only of a program the role covers.
        return Response(RuleSerializer(triage.rule_for(request, kwargs["pk"])).data)
