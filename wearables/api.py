"""Connections and daily summaries (read-only; the connect/disconnect flows are pages):

    GET /api/v1/patients/<uuid>/wearables/connections/   GET /api/v1/me/wearables/connections/
    GET /api/v1/patients/<uuid>/daily-metrics/?from=&to=  GET /api/v1/me/daily-metrics/?from=&to=

Phone-only sources (Samsung Health, Health Connect): a companion app posts batches
of readings.

    POST /api/v1/me/device-readings/                  the logged-in patient (JWT from the app)
    POST /api/v1/patients/<uuid>/device-readings/     staff with wearables:write on that patient

Body: {"source": "samsung_health"|"health_connect", "batch_id": "<client id>",
"device": "...", "readings": [{"metric", "value", "value2"?, "unit",
"effective_at", "end_at"?, "method"?, "context"?}], "daily": [{"date", "steps"?,
"resting_hr"?, "hrv_ms"?, "hrv_method"?, "sleep_hours"?, ...}]}.

Every item is checked before anything is stored (known metric, unit convertible
to the canonical one, finite and physically possible, aware times not in the
future); one bad item answers 400 with each error's index and field, and stores
nothing. The app's batch id makes a re-sent batch a no-op: 200 with the original
result. Daily values are in canonical units (DailyMetric's: hours, bpm, ms, kcal).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from clinical import units
from clinical.interpret import BP_DIASTOLIC, PLAUSIBLE
from clinical.metrics import DEVICE_METRICS, METRICS
from clinical.models import Source
from mahalo import access, audit, dates
from mahalo.api import GatedViewSet
from wearables import daily, ingest
from wearables.models import DAILY_FIELDS, Connection, DailyMetric, DeviceBatch, SyncLog

MAX_READINGS = 5000
MAX_DAYS = 400
FUTURE_SLACK = timedelta(minutes=5)
PHONE_SOURCES = [(Source.SAMSUNG_HEALTH.value, Source.SAMSUNG_HEALTH.label),
                 (Source.HEALTH_CONNECT.value, Source.HEALTH_CONNECT.label)]


class AwareDateTimeField(serializers.Field):
    """ISO-8601 with an offset. DRF's DateTimeField would silently read a naive time in
    the server's zone; a reading at the wrong hour is a wrong reading, so refuse it."""

    default_error_messages = {"invalid": "Use ISO-8601 with a UTC offset, e.g. 2026-03-04T07:30:00-10:00.",
                              "naive": "The time needs a UTC offset (or Z).",
                              "future": "The time is in the future."}

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid")
        try:
            moment = datetime.fromisoformat(data.strip())
        except ValueError:
            self.fail("invalid")
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail("naive")
        dates.check(moment)  # comparing 0001-01-01T00:00+14:00 with now overflows
        if moment > timezone.now() + FUTURE_SLACK:
            self.fail("future")
        return moment

    def to_representation(self, value):
        return value.isoformat()


class StrictFloatField(serializers.FloatField):
    """A JSON number (or numeric string), finite; true/false are not numbers."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class ReadingIn(serializers.Serializer):
    metric = serializers.ChoiceField(choices=sorted(DEVICE_METRICS))  # never a score or a day total
    value = StrictFloatField()
    value2 = StrictFloatField(required=False, allow_null=True)
    unit = serializers.CharField(max_length=20, trim_whitespace=True)
    effective_at = AwareDateTimeField()
    end_at = AwareDateTimeField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=["rmssd", "sdnn"], required=False, allow_blank=True)
    context = serializers.CharField(max_length=20, required=False, allow_blank=True)

    def validate(self, attrs):
        metric, unit = attrs["metric"], attrs["unit"]
        errors = {}
        try:
            value = units.to_canonical(metric, attrs["value"], unit)
            value2 = attrs.get("value2")
            if value2 is not None:
                value2 = units.to_canonical(metric, value2, unit)
        except units.UnitError as exc:
            raise serializers.ValidationError({"unit": [str(exc)]}) from None
        # Impossible values are refused here (a device that sends them is broken); the
        # ranges are clinical.interpret's, the same that flag manual entries invalid.
        low, high = (50, 300) if metric == "blood_pressure" else PLAUSIBLE[metric]
        if not math.isfinite(value) or not low <= value <= high:
            errors["value"] = [f"{value:g} {METRICS[metric].unit} is outside {low:g}-{high:g}."]
        if metric == "blood_pressure":
            if value2 is None:
                errors["value2"] = ["Blood pressure needs the diastolic value in value2."]
            elif not BP_DIASTOLIC[0] <= value2 <= BP_DIASTOLIC[1] or value2 >= value:
                errors["value2"] = ["The diastolic value must be physically possible and below systolic."]
        elif value2 is not None:
            errors["value2"] = ["Only blood pressure has a second value."]
        if metric == "hrv" and not attrs.get("method"):
            errors["method"] = ["HRV needs its method: rmssd or sdnn."]
        if metric != "hrv" and attrs.get("method"):
            errors["method"] = ["Only HRV has a method."]
        end = attrs.get("end_at")
        if end is not None and end < attrs["effective_at"]:
            errors["end_at"] = ["end_at is before effective_at."]
        if errors:
            raise serializers.ValidationError(errors)
        return {**attrs, "value": value, "value2": value2}


def _range(low, high):
    return {"required": False, "allow_null": True, "min_value": low, "max_value": high}


class DailyIn(serializers.Serializer):
    date = serializers.DateField(input_formats=["%Y-%m-%d"])
    steps = serializers.IntegerField(**_range(0, 200_000))
    resting_hr = StrictFloatField(**_range(20, 250))
    hrv_ms = StrictFloatField(**_range(1, 500))
    hrv_method = serializers.ChoiceField(choices=["rmssd", "sdnn"], required=False, allow_blank=True)
    sleep_hours = StrictFloatField(**_range(0, 24))
    sleep_deep_hours = StrictFloatField(**_range(0, 24))
    sleep_light_hours = StrictFloatField(**_range(0, 24))
    sleep_rem_hours = StrictFloatField(**_range(0, 24))
    sleep_awake_hours = StrictFloatField(**_range(0, 24))
    recovery_score = StrictFloatField(**_range(0, 100))
    spo2 = StrictFloatField(**_range(30, 100))
    respiratory_rate = StrictFloatField(**_range(1, 100))
    active_energy_kcal = StrictFloatField(**_range(0, 20_000))

    def validate(self, attrs):
        errors = {}
        if attrs.get("hrv_ms") is not None and not attrs.get("hrv_method"):
            errors["hrv_method"] = ["HRV needs its method: rmssd or sdnn."]
        if attrs.get("hrv_method") and attrs.get("hrv_ms") is None:
            errors["hrv_method"] = ["hrv_method without hrv_ms."]
        latest = self.context.get("latest_date")
        if latest and attrs["date"] > latest:
            errors["date"] = ["The date is in the future."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class BatchIn(serializers.Serializer):
    source = serializers.ChoiceField(choices=PHONE_SOURCES)
    batch_id = serializers.CharField(max_length=100, trim_whitespace=True)
    device = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    readings = serializers.ListField(child=serializers.JSONField(), required=False, default=list,
                                     max_length=MAX_READINGS)
    daily = serializers.ListField(child=serializers.JSONField(), required=False, default=list,
                                  max_length=MAX_DAYS)

    def validate(self, attrs):
        if not attrs["readings"] and not attrs["daily"]:
            raise serializers.ValidationError({"readings": ["The batch holds no readings and no daily values."]})
        return attrs


class BatchOut(serializers.Serializer):
    id = serializers.UUIDField()
    batch_id = serializers.CharField()
    source = serializers.CharField()
    records = serializers.IntegerField(help_text="Readings and daily values stored by this batch.")
    received_at = serializers.DateTimeField()
    duplicate = serializers.BooleanField(help_text="True: this batch id was already received; nothing stored.")


def _items(raw_items: list, serializer_class, context: dict) -> tuple[list, dict]:
    """Validate each item; errors keyed by the item's index."""
    valid, errors = [], {}
    for index, item in enumerate(raw_items):
        if not isinstance(item, dict):
            errors[str(index)] = {"non_field_errors": ["Expected an object."]}
            continue
        serializer = serializer_class(data=item, context=context)
        if serializer.is_valid():
            valid.append(serializer.validated_data)
        else:
            errors[str(index)] = serializer.errors
    return valid, errors


def _result(batch: DeviceBatch, *, duplicate: bool) -> dict:
    return BatchOut({"id": batch.pk, "batch_id": batch.client_batch_id, "source": batch.source,
                     "records": batch.readings, "received_at": batch.received_at, "duplicate": duplicate}).data


def _receive(request, patient) -> Response:
    envelope = BatchIn(data=request.data)
    envelope.is_valid(raise_exception=True)
    data = envelope.validated_data
    # The patient's own day, plus one for a phone set to a zone ahead of the program's.
    latest_date = ingest.local_date(timezone.now(), patient) + timedelta(days=1)
    readings_in, reading_errors = _items(data["readings"], ReadingIn, {})
    daily_in, daily_errors = _items(data["daily"], DailyIn, {"latest_date": latest_date})
    if reading_errors or daily_errors:
        errors = {}
        if reading_errors:
            errors["readings"] = reading_errors
        if daily_errors:
            errors["daily"] = daily_errors
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)

    device = data["device"]
    readings = [ingest.Reading(metric=r["metric"], effective_at=r["effective_at"], value=r["value"],
                               value2=r.get("value2"), end_at=r.get("end_at"), method=r.get("method") or "",
                               context=r.get("context") or "", device=device) for r in readings_in]
    dailies = [ingest.Daily(d["date"], {**{k: v for k, v in d.items() if k in DAILY_FIELDS},
                                        "device": device}) for d in daily_in]
    source, batch_id = data["source"], data["batch_id"]
    key = {"patient": patient, "source": source, "client_batch_id": batch_id}
    with transaction.atomic():
        existing = DeviceBatch.objects.filter(**key).first()  # gate: the patient was gated above
        if existing is not None:
            return Response(_result(existing, duplicate=True), status=status.HTTP_200_OK)
        try:
            # Claim the batch id first: a concurrent re-send waits on this row, then sees it.
            with transaction.atomic():
                batch = DeviceBatch.objects.create(  # gate: the patient was gated above
                    project_id=patient.project_id, submitted_by=request.user, **key)
        except IntegrityError:
            existing = DeviceBatch.objects.get(**key)  # gate: the patient was gated above
            return Response(_result(existing, duplicate=True), status=status.HTTP_200_OK)
        started = timezone.now()
        stored = ingest.store(patient, source, readings, dailies)
        batch.readings = stored.total
        batch.save(update_fields=["readings"])
        SyncLog.objects.create(  # gate: the patient was gated above
            project_id=patient.project_id, patient=patient, source=source, trigger=SyncLog.Trigger.DEVICE_API,
            status=SyncLog.Status.SUCCESS, started_at=started, finished_at=timezone.now(), records=stored.total)
        audit.record(action="write", request=request, resource="wearables", patient=patient, object_id=batch.pk,
                     metadata={"event": "device_batch", "source": source, "readings": stored.readings,
                               "days": stored.days, "via": "api"})
    body = {**_result(batch, duplicate=False), "readings": stored.readings, "days": stored.days}
    return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(request=BatchIn, responses={200: BatchOut, 201: BatchOut})
@api_view(["POST"])
def patient_device_readings(request, patient_id):
    """Staff post a batch for one patient (wearables:write on that patient; 404 otherwise)."""
    patient = access.patient_for_request(request, patient_id, "write", "wearables")
    return _receive(request, patient)


@extend_schema(request=BatchIn, responses={200: BatchOut, 201: BatchOut})
@api_view(["POST"])
def my_device_readings(request):
    """The companion app posts the logged-in patient's own batch."""
    me = access.patient_of(request.user)
    if me is None:
        raise Http404("No patient record for this account.")
    # Through the gate like every other write (a patient's self permissions include wearables:write).
    patient = access.get_patient_for(request.user, me.pk, "write", "wearables")
    return _receive(request, patient)


# --- Connections and daily summaries (read-only; issue 18) -------------------------------------
# Connecting and disconnecting stay on the pages (OAuth needs a browser); these lists feed the app.
# Tokens never leave the server: the serializer names no token field.


class ConnectionSerializer(serializers.ModelSerializer):
    provider_label = serializers.CharField(source="get_provider_display", read_only=True)

    class Meta:
        model = Connection
        fields = ["id", "provider", "provider_label", "status", "connected_at", "disconnected_at", "last_success_at",
                  "last_attempt_at", "last_error"]


class DailyMetricSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: their choice sets overlap observations' (one enum name each there).
    source = serializers.CharField(read_only=True, help_text="whoop, oura, garmin, apple_health, ...")
    hrv_method = serializers.CharField(read_only=True, help_text="rmssd | sdnn | empty")

    class Meta:
        model = DailyMetric
        fields = ["id", "date", "source", *DAILY_FIELDS, "updated_at"]


DAY_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First local day (default: 29 days before `to`)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last local day, inclusive (default: the patient's today)"),
]


def _day_range(params, patient) -> tuple[date, date]:
    """`from`/`to` as the patient's local days; 400 with the field for a bad or too long range."""
    errors, out = {}, {}
    for field in ("from", "to"):
        raw = (params.get(field) or "").strip()
        if raw:
            try:
                out[field] = date.fromisoformat(raw)
            except ValueError:
                errors[field] = ["Use a date like 2026-03-04."]
    if errors:
        raise ValidationError(errors)
    end = out.get("to") or patient.today
    start = out.get("from") or end - timedelta(days=29)
    if start > end:
        raise ValidationError({"from": ["`from` is after `to`."]})
    if (end - start).days >= MAX_DAYS:
        raise ValidationError({"from": [f"Ask for {MAX_DAYS} days at most."]})
    return start, end


def _my_patient(request):
    me = access.patient_of(request.user)
    if me is None or access.is_staff_user(request.user):
        raise Http404("No patient record for this account.")
    return me


@extend_schema_view(list=extend_schema(summary="A patient's wearable connections (no tokens)"))
class PatientConnectionViewSet(mixins.ListModelMixin, GatedViewSet):
    model = Connection
    resource = "wearables"
    serializer_class = ConnectionSerializer
    patient_url_kwarg = "patient_pk"

    def narrow(self, queryset):
        return queryset.order_by("provider")


@extend_schema_view(list=extend_schema(summary="My wearable connections (no tokens)"))
class MyConnectionViewSet(mixins.ListModelMixin, GatedViewSet):
    model = Connection
    resource = "wearables"
    serializer_class = ConnectionSerializer

    def narrow(self, queryset):
        return queryset.filter(patient_id=_my_patient(self.request).pk).order_by("provider")


@extend_schema_view(list=extend_schema(summary="A patient's daily summaries per source, oldest day first",
                                       parameters=DAY_PARAMS))
class PatientDailyMetricViewSet(mixins.ListModelMixin, GatedViewSet):
    model = DailyMetric
    resource = "wearables"
    serializer_class = DailyMetricSerializer
    patient_url_kwarg = "patient_pk"

    def narrow(self, queryset):
        start, end = _day_range(self.request.query_params, self._url_patient())
        return daily.between(queryset, start, end).order_by("date", "source")


@extend_schema_view(list=extend_schema(summary="My daily summaries per source, oldest day first",
                                       parameters=DAY_PARAMS))
class MyDailyMetricViewSet(mixins.ListModelMixin, GatedViewSet):
    model = DailyMetric
    resource = "wearables"
    serializer_class = DailyMetricSerializer

    def narrow(self, queryset):
        me = _my_patient(self.request)
        start, end = _day_range(self.request.query_params, me)
        return daily.between(queryset.filter(patient_id=me.pk), start, end).order_by("date", "source")
