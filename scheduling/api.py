"""Scheduling API, same gate and same services as the pages:

    GET  /api/v1/scheduling/slots/?from=YYYY-MM-DD&days=7&mode=&staff=&patient=   open slots
    GET  /api/v1/scheduling/visits/?status=&from=&to=&patient=     visits (a patient: only their own)
    POST /api/v1/scheduling/visits/                                 book {patient, staff, starts_at, [ends_at], mode,
                                                                    visit_type, reason}; a patient: self-book a slot
    GET  /api/v1/scheduling/visits/<id>/
    POST /api/v1/scheduling/visits/<id>/cancel/                     {reason}
    POST /api/v1/scheduling/visits/<id>/reschedule/                 {starts_at, [ends_at], [staff], reason}
    POST /api/v1/scheduling/visits/<id>/status/                     {to, reason} (staff)
    POST /api/v1/scheduling/visits/<id>/join/                       → {"url"} inside the join window
    GET  /api/v1/scheduling/visit-requests/                         requests
    POST /api/v1/scheduling/visit-requests/                         {reason, request_type, mode, preferred_date, ...}
    POST /api/v1/scheduling/visit-requests/<id>/confirm|decline|cancel/   (the patient, or staff)
    POST /api/v1/scheduling/visit-requests/<id>/triage/             {severity, note} (staff)
    POST /api/v1/scheduling/visit-requests/<id>/propose/            {staff, starts_at} (staff)
    GET  /api/v1/scheduling/calls/?thread=&status=                   video calls from threads (a patient: their own)
    POST /api/v1/scheduling/calls/                                  {thread, [scheduled_for]} call now or later
    GET  /api/v1/scheduling/calls/<id>/
    POST /api/v1/scheduling/calls/<id>/join/                        → {"url"} (the two participants only)
    POST /api/v1/scheduling/calls/<id>/ring|cancel|end/             (ring, cancel: the caller; end: either side)
    GET  /api/v1/calendar/events/[<id>/]                            my own calendar events

Routes live in scheduling/urls.py (under /api/v1/).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action, api_view, authentication_classes
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from mahalo import access, audit, config, dates, features
from mahalo.api import GatedViewSet
from mahalo.models import StaffMember
from scheduling import calendars, calls, services, slots, telehealth
from scheduling.models import Arrival, CalendarEvent, Mode, Severity, VirtualVisitSession, Visit, VisitRequest


class VisitSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    staff_name = serializers.CharField(source="staff.user.get_full_name", read_only=True)

    class Meta:
        model = Visit
        fields = ["id", "patient", "patient_name", "program", "staff", "staff_name", "visit_type", "arrival", "mode",
                  "location", "reason", "status", "starts_at", "ends_at", "timezone", "patient_initiated",
                  "rescheduled_from", "cancel_reason", "cancelled_at", "checked_in_at", "started_at",
                  "completed_at", "created_at"]
        read_only_fields = fields


class BookSerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    staff = serializers.UUIDField()
    starts_at = dates.BoundedDateTimeField()
    ends_at = serializers.DateTimeField(required=False)
    mode = serializers.ChoiceField(choices=Mode.choices, required=False)
    visit_type = serializers.ChoiceField(choices=Visit.Type.choices, default=Visit.Type.CONSULTATION)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class RescheduleSerializer(serializers.Serializer):
    starts_at = dates.BoundedDateTimeField()
    ends_at = serializers.DateTimeField(required=False)
    staff = serializers.UUIDField(required=False)
    reason = serializers.CharField(max_length=500)


class StatusSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Visit.Status.choices)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def _errors(exc: services.SchedulingError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError({name: "Use YYYY-MM-DD."}) from None
    return dates.check(day, name)


def _staff(project_id, staff_id) -> StaffMember:
    staff = StaffMember.objects.select_related("user").filter(pk=staff_id, project_id=project_id,
                                                              is_active=True).first()
    if staff is None:
        raise ValidationError({"staff": "Unknown clinician."})
    return staff


class VisitViewSet(GatedViewSet):
    model = Visit
    resource = "scheduling"
    serializer_class = VisitSerializer
    related = ("patient", "staff__user")

    def narrow(self, qs):
        p = self.request.query_params
        if p.get("status"):
            if p["status"] not in Visit.Status.values:
                raise ValidationError({"status": "Unknown status."})
            qs = qs.filter(status=p["status"])
        if start := _date(p.get("from"), "from"):
            qs = qs.filter(starts_at__gte=datetime.combine(start, time.min, tzinfo=UTC))
        if end := _date(p.get("to"), "to"):
            qs = qs.filter(starts_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))
        if p.get("patient"):
            try:
                qs = qs.filter(patient_id=serializers.UUIDField().to_internal_value(p["patient"]))
            except ValidationError:
                raise ValidationError({"patient": "Not an id."}) from None
        return qs

    @extend_schema(parameters=[OpenApiParameter("status"), OpenApiParameter("from"), OpenApiParameter("to"),
                               OpenApiParameter("patient")])
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).order_by("starts_at"))
        return self.get_paginated_response(VisitSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(VisitSerializer(self.get_object()).data)

    @extend_schema(request=BookSerializer, responses={201: VisitSerializer})
    def create(self, request, *args, **kwargs):
        data = BookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        own = access.patient_of(request.user)
        try:
            if own is not None and not access.is_staff_user(request.user):
                if d.get("patient") and d["patient"] != own.pk:
                    raise Http404
                visit = services.patient_self_book(patient=own, actor=request.user, staff_id=d["staff"],
                                                   starts_at=d["starts_at"], visit_type=d["visit_type"],
                                                   reason=d["reason"], request=request)
            else:
                if not d.get("patient"):
                    raise ValidationError({"patient": "Required."})
                patient = access.patient_for_request(request, d["patient"], "write", "scheduling")
                staff = _staff(patient.project_id, d["staff"])
                ends_at = d.get("ends_at")
                mode, location = d.get("mode"), d["location"]
                if ends_at is None:
                    found = slots.find_open_slot(staff=staff, starts_at=d["starts_at"], program=patient.program)
                    if found is None:
                        raise ValidationError({"ends_at": "Not an open slot: give ends_at to book any free time."})
                    ends_at, mode, location = found.ends_at, mode or found.mode, location or found.location
                visit = services.visit_book(patient=patient, staff=staff, starts_at=d["starts_at"], ends_at=ends_at,
                                            actor=request.user, mode=mode or Mode.IN_PERSON,
                                            visit_type=d["visit_type"], reason=d["reason"], location=location,
                                            request=request)
        except services.SchedulingError as exc:
            raise _errors(exc) from None
        return Response(VisitSerializer(visit).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CancelSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        visit = self.get_object()
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not services.can_cancel(request.user, visit):
            raise PermissionDenied("Your role does not allow this.")
        try:
            visit = services.visit_cancel(visit=visit, actor=request.user, reason=data.validated_data["reason"],
                                          request=request)
        except services.SchedulingError as exc:
            raise _errors(exc) from None
        return Response(VisitSerializer(visit).data)

    @extend_schema(request=RescheduleSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request, *args, **kwargs):
        visit = self.get_object()
        data = RescheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        own = services.is_own(request.user, visit.patient)
        if not (own or services.can_manage(request.user, visit)):
            raise PermissionDenied("Your role does not allow this.")
        staff = _staff(visit.project_id, d["staff"]) if d.get("staff") else visit.staff
        ends_at = d.get("ends_at")
        try:
            if own:
                # A patient may only move to another open slot, and only under self-booking.
                if services.booking_policy(visit.patient.program) != "self_book":
                    raise services.SchedulingError("Your program reschedules visits for you.")
                found = slots.find_open_slot(staff=staff, starts_at=d["starts_at"], program=visit.patient.program)
                if found is None:
                    raise services.Conflict("That time is not open.")
                ends_at = found.ends_at
            new = services.visit_reschedule(visit=visit, actor=request.user, starts_at=d["starts_at"],
                                            ends_at=ends_at, staff=staff, reason=d["reason"], request=request)
        except services.SchedulingError as exc:
            raise _errors(exc) from None
        return Response(VisitSerializer(new).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StatusSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, *args, **kwargs):
        visit = self.get_object()
        data = StatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not services.can_manage(request.user, visit):
            raise PermissionDenied("Your role does not allow this.")
        try:
            visit = services.visit_transition(visit=visit, to=data.validated_data["to"], actor=request.user,
                                              reason=data.validated_data["reason"], request=request)
        except services.SchedulingError as exc:
            raise _errors(exc) from None
        return Response(VisitSerializer(visit).data)

    @extend_schema(request=None, responses={200: {"type": "object", "properties": {"url": {"type": "string"}}}})
    @action(detail=True, methods=["post"])
    def join(self, request, *args, **kwargs):
        if not features.on_for(request.user, config.TELEHEALTH):
            raise Http404("Video visits are switched off.")  # the rest of the visits API stays
        visit = self.get_object()
        try:
            url = telehealth.join(visit=visit, user=request.user)
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from None
        except telehealth.TelehealthError:
            return Response({"detail": "The video service isn't answering; try again."},
                            status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"url": url})


class VisitRequestSerializer(serializers.ModelSerializer):
    proposed_starts_at = serializers.DateTimeField(source="proposed_slot.starts_at", read_only=True, default=None)
    proposed_ends_at = serializers.DateTimeField(source="proposed_slot.ends_at", read_only=True, default=None)

    class Meta:
        model = VisitRequest
        fields = ["id", "patient", "program", "request_type", "mode", "preferred_date", "window_start", "window_end",
                  "reason", "reason_category", "severity", "urgency_terms", "urgent_review", "status",
                  "proposed_starts_at", "proposed_ends_at",
                  "hold_expires_at", "visit", "created_at"]
        read_only_fields = fields


class RequestCreateSerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    request_type = serializers.ChoiceField(choices=Arrival.choices, default=Arrival.SCHEDULED)
    mode = serializers.ChoiceField(choices=Mode.choices, default=Mode.VIRTUAL)
    preferred_date = serializers.DateField(required=False, allow_null=True)
    window_start = serializers.TimeField(required=False, allow_null=True)
    window_end = serializers.TimeField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=2000)
    reason_category = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")


class TriageSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ProposeSerializer(serializers.Serializer):
    staff = serializers.UUIDField()
    starts_at = dates.BoundedDateTimeField()


class VisitRequestViewSet(GatedViewSet):
    model = VisitRequest
    resource = "scheduling"
    serializer_class = VisitRequestSerializer
    related = ("proposed_slot",)

    def list(self, request, *args, **kwargs):
        qs = self.get_queryset()
        if request.query_params.get("open") == "1":
            qs = qs.filter(status__in=VisitRequest.OPEN)
        page = self.paginate_queryset(qs.order_by("-created_at"))
        return self.get_paginated_response(VisitRequestSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(VisitRequestSerializer(self.get_object()).data)

    @extend_schema(request=RequestCreateSerializer, responses={201: VisitRequestSerializer})
    def create(self, request, *args, **kwargs):
        data = RequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = dict(data.validated_data)
        wanted = d.pop("patient", None)
        own = access.patient_of(request.user)
        if own is not None and not access.is_staff_user(request.user):
            if wanted and wanted != own.pk:
                raise Http404
            patient = own
        elif wanted:
            patient = access.patient_for_request(request, wanted, "write", "scheduling")
        else:
            raise ValidationError({"patient": "Required."})
        try:
            req = services.request_create(patient=patient, actor=request.user, request=request, **d)
        except services.SchedulingError as exc:
            raise _errors(exc) from None
        return Response(VisitRequestSerializer(req).data, status=status.HTTP_201_CREATED)

    def _act(self, request, what):
        req = self.get_object()
        own = services.is_own(request.user, req.patient)
        if not (own or services.can_manage(request.user, req)):
            raise PermissionDenied("Your role does not allow this.")
        try:
            if what == "confirm":
                if not own:
                    raise PermissionDenied("Only the patient confirms a proposed time.")
                visit = services.request_confirm(req=req, actor=request.user, request=request)
                return Response(VisitSerializer(visit).data, status=status.HTTP_201_CREATED)
            if what == "decline":
                services.request_decline(req=req, actor=request.user, request=request)
            else:
                if not hasattr(request.data, "get"):
                    raise ValidationError({"non_field_errors": ["Expected a JSON object, e.g. {\"reason\": \"…\"}."]})
                services.request_cancel(req=req, actor=request.user, reason=str(request.data.get("reason", ""))[:500],
                                        request=request)
        except services.SchedulingError as exc:
            raise _errors(exc) from None
        req.refresh_from_db()
        return Response(VisitRequestSerializer(req).data)

    @extend_schema(request=None, responses={201: VisitSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, *args, **kwargs):
        return self._act(request, "confirm")

    @extend_schema(request=None, responses=VisitRequestSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, *args, **kwargs):
        return self._act(request, "decline")

    @extend_schema(request=CancelSerializer, responses=VisitRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        return self._act(request, "cancel")

    @extend_schema(request=TriageSerializer, responses=VisitRequestSerializer)
    @action(detail=True, methods=["post"])
    def triage(self, request, *args, **kwargs):
        req = self.get_object()
        if not services.can_manage(request.user, req):
            raise PermissionDenied("Your role does not allow this.")
        data = TriageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            req = services.request_triage(req=req, actor=request.user, request=request, **data.validated_data)
        except services.SchedulingError as exc:
            raise _errors(exc) from None
        return Response(VisitRequestSerializer(req).data)

    @extend_schema(request=ProposeSerializer, responses=VisitRequestSerializer)
    @action(detail=True, methods=["post"])
    def propose(self, request, *args, **kwargs):
        req = self.get_object()
        if not services.can_manage(request.user, req):
            raise PermissionDenied("Your role does not allow this.")
        data = ProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = _staff(req.project_id, data.validated_data["staff"])
        found = slots.find_open_slot(staff=staff, starts_at=data.validated_data["starts_at"],
                                     program=req.patient.program)
        if found is None:
            raise ValidationError({"starts_at": "Not an open slot of that clinician."})
        try:
            req = services.request_propose(req=req, actor=request.user, staff=staff, starts_at=found.starts_at,
                                           ends_at=found.ends_at, mode=found.mode, location=found.location,
                                           request=request)
        except services.SchedulingError as exc:
            raise _errors(exc) from None
        return Response(VisitRequestSerializer(req).data)


class SlotSerializer(serializers.Serializer):
    key = serializers.CharField()
    staff = serializers.UUIDField(source="staff_id")
    staff_name = serializers.CharField()
    program = serializers.UUIDField(source="program_id")
    starts_at = dates.BoundedDateTimeField()
    ends_at = dates.BoundedDateTimeField()
    mode = serializers.CharField()
    location = serializers.CharField()


@extend_schema(responses=SlotSerializer(many=True), parameters=[
    OpenApiParameter("from", description="YYYY-MM-DD (program's local date)"), OpenApiParameter("days", int),
    OpenApiParameter("mode"), OpenApiParameter("staff"), OpenApiParameter("patient")])
@api_view(["GET"])
@authentication_classes(GatedViewSet.authentication_classes)
def slot_search(request):
    """Open slots. A patient: their program's, when it allows self-booking. Staff: their programs'
    (or one patient's bookable clinicians with ?patient=)."""
    p = request.query_params
    if not access.can(request.user, "scheduling", "read"):
        raise Http404
    mode = p.get("mode", "")
    if mode and mode not in Mode.values:
        raise ValidationError({"mode": "VIRTUAL or IN_PERSON."})
    try:
        days = min(max(int(p.get("days", 7)), 1), 31)
    except ValueError:
        raise ValidationError({"days": "A number of days from 1 to 31."}) from None
    own = access.patient_of(request.user)
    now = timezone.now()
    not_before = None
    if own is not None and not access.is_staff_user(request.user):
        if services.booking_policy(own.program) != "self_book":
            raise PermissionDenied("Your program books visits for you.")
        patient, programs = own, [own.program]
        not_before, latest = services.booking_window(own.program, now)
    elif p.get("patient"):
        patient = access.patient_for_request(request, _uuid(p["patient"]), "read", "scheduling")
        programs, latest = [patient.program], None
    else:
        patient, programs, latest = None, access.program_list(request.user), None
    if not programs:
        return Response([])
    tz = programs[0].tz
    first = _date(p.get("from"), "from") or now.astimezone(tz).date()
    start = datetime.combine(first, time.min).replace(tzinfo=tz)
    by_patient = patient is not None and patient is own and not access.is_staff_user(request.user)
    staff = services.bookable_staff(patient, by_patient=by_patient) if patient is not None else None
    if p.get("staff"):
        wanted = _uuid(p["staff"])
        staff = [s for s in (staff or StaffMember.objects.filter(project=access.project_of(request.user)))
                 if s.pk == wanted]
    found = slots.open_slots(start=start, end=start + timedelta(days=days), programs=programs, staff=staff,
                             mode=mode, now=now, not_before=not_before)
    if latest is not None:
        found = [s for s in found if s.starts_at <= latest]
    audit.record(request=request, action="list", resource="scheduling", patient=patient,
                 metadata={"via": "api", "what": "slots", "count": len(found)})
    return Response(SlotSerializer(found, many=True).data)


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError({"id": "Not an id."}) from None


# --- Video calls from a thread (scheduling/calls.py) --------------------------------------------

class CallSerializer(serializers.ModelSerializer):
    started_by_name = serializers.CharField(source="started_by.get_full_name", read_only=True, default="")
    status = serializers.CharField(source="call_status", read_only=True)
    failure_reason = serializers.CharField(source="last_error", read_only=True)
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = VirtualVisitSession
        fields = ["id", "patient", "thread", "provider", "room_name", "started_by", "started_by_name", "status",
                  "scheduled_for", "ring_deadline", "started_at", "ended_at", "duration_seconds",
                  "recording_enabled", "failure_reason", "created_at", "updated_at"]
        read_only_fields = fields

    def get_duration_seconds(self, call) -> int | None:
        return int(call.duration.total_seconds()) if call.duration else None


class CallStartSerializer(serializers.Serializer):
    thread = serializers.UUIDField()
    scheduled_for = serializers.DateTimeField(required=False, allow_null=True)


class CallViewSet(GatedViewSet):
    model = VirtualVisitSession
    resource = "scheduling"
    serializer_class = CallSerializer
    feature = config.TELEHEALTH
    related = ("started_by", "patient__user", "thread__program")

    def narrow(self, qs):
        qs = qs.filter(thread__isnull=False)
        thread = self.request.query_params.get("thread")
        if thread:
            try:
                qs = qs.filter(thread_id=uuid.UUID(thread))
            except ValueError:
                raise ValidationError({"thread": "Not a valid id."}) from None
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in VirtualVisitSession.CallStatus.values:
                raise ValidationError({"status": f"One of {', '.join(VirtualVisitSession.CallStatus.values)}."})
            qs = qs.filter(call_status=wanted)
        return qs

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).order_by("-created_at"))  # audited
        return self.get_paginated_response(CallSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(CallSerializer(self._call()).data)

    @extend_schema(request=CallStartSerializer, responses=CallSerializer)
    def create(self, request, *args, **kwargs):
        from messaging.threads import thread_load

        body = CallStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        thread = thread_load(request, body.validated_data["thread"], audit_read=False)
        try:
            call = calls.call_start(thread=thread, actor=request.user,
                                    scheduled_for=body.validated_data.get("scheduled_for"), request=request)
        except calls.CallError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(CallSerializer(call).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"])
    def join(self, request, *args, **kwargs):
        try:
            url = calls.call_join(call=self._call(), user=request.user, request=request)
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from None
        except telehealth.TelehealthError:
            return Response({"detail": "The video service isn't answering; try again."},
                            status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"url": url})

    @extend_schema(request=None, responses=CallSerializer)
    @action(detail=True, methods=["post"])
    def ring(self, request, *args, **kwargs):
        return self._change(calls.call_ring, actor=request.user)

    @extend_schema(request=None, responses=CallSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        return self._change(calls.call_cancel, user=request.user)

    @extend_schema(request=None, responses=CallSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, *args, **kwargs):
        return self._change(calls.call_end, user=request.user)

    def _call(self) -> VirtualVisitSession:
        call = self.get_object()
        if call.thread_id is None:
            raise Http404  # a visit's room: /scheduling/visits/<id>/join/
        return call

    def _change(self, service, **who):
        try:
            call = service(call=self._call(), request=self.request, **who)
        except calls.CallError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(CallSerializer(call).data)


# --- The user's own calendar events (issue 18) ---------------------------------------------------
# GET /api/v1/calendar/events/[<id>/]   personal events on calendars the user shows (staff and
# patients); recurring ones as stored (an RRULE in the event's zone, with exdates). Anyone else's is
# a 404 (scheduling.calendars: a calendar event belongs to one login).


class CalendarEventSerializer(serializers.ModelSerializer):
    calendar = serializers.CharField(source="calendar.name", read_only=True)

    class Meta:
        model = CalendarEvent
        fields = ["id", "calendar", "title", "description", "starts_at", "ends_at", "all_day", "location", "category",
                  "status", "timezone", "rrule", "exdates", "created_at"]


@extend_schema_view(list=extend_schema(summary="My calendar events, by start"),
                    retrieve=extend_schema(summary="One of my calendar events"))
class MyCalendarEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GatedViewSet):
    model = CalendarEvent
    resource = "scheduling"
    serializer_class = CalendarEventSerializer
    related = ("calendar",)
    own_rows = staticmethod(calendars.visible_events)

    def narrow(self, queryset):
        return queryset.order_by("starts_at")
