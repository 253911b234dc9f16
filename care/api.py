"""Care over the API (DESIGN "Fixed points"):

    GET  /api/v1/me/doses/?date=YYYY-MM-DD    my doses on a local day (default today)
    POST /api/v1/me/doses/<uuid>/             {"status": "taken" | "skipped", "taken_at"?: ISO-8601, "note"?}

The dose is loaded through the gate (another patient's dose is a 404, like a missing one) and
marked by care.services.medications.dose_log, the function the portal's buttons call."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from care.models import ExerciseLog, ExercisePrescription, MedicationDose
from care.services import medications as services
from care.services import rehab, scores
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


def _day_param(request, me) -> date:
    """`?date=YYYY-MM-DD` in the patient's own days, today by default; a bad value is a 400 naming it."""
    raw = request.query_params.get("date") or ""
    try:
        return date.fromisoformat(raw) if raw else me.today
    except ValueError:
        raise serializers.ValidationError({"date": ["Use YYYY-MM-DD."]}) from None


@extend_schema(parameters=[OpenApiParameter("date", str, description="Local day, YYYY-MM-DD (default today)")],
               responses=DoseSerializer(many=True), summary="My doses on a day")
@api_view(["GET"])
@authentication_classes([StampedJWTAuthentication, SessionAuthentication])
@permission_classes([IsAuthenticated, RecordOpen])
def my_doses(request):
    me = _me(request)
    day = _day_param(request, me)
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


# --- Tasks (issue 16): /api/v1/care/tasks/ -------------------------------------------------------
# GET list (mine | team | unassigned, with the page's one filter: care.services.tasks.parse_filter),
# POST create, GET one, POST <id>/status/ (start | complete | cancel), POST <id>/comments/. Staff only:
# a patient login's clinical:read on itself does not make it a task list reader.

from rest_framework import status as http_status  # noqa: E402
from rest_framework.decorators import action  # noqa: E402

from care.models import Task, TaskComment  # noqa: E402
from care.services import tasks as task_services  # noqa: E402
from mahalo.api import GatedViewSet  # noqa: E402


class TaskCommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.get_full_name", default="")

    class Meta:
        model = TaskComment
        fields = ["id", "author", "body", "created_at"]


class TaskSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name")
    assignee_name = serializers.CharField(source="assignee.get_full_name", default=None)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = ["id", "patient", "patient_name", "title", "description", "assignee", "assignee_name", "due_at",
                  "priority", "status", "source", "outcome", "completed_at", "created_at", "overdue"]

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue()


class TaskIn(serializers.Serializer):
    patient = serializers.UUIDField()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    assignee = serializers.UUIDField(required=False, allow_null=True)
    due_at = AwareDateTime(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Task.Priority.choices, default=Task.Priority.NORMAL)


class TaskStatusIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=["start", "complete", "cancel"])
    outcome = serializers.CharField(required=False, allow_blank=True, default="")


class TaskCommentIn(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


def _staff_only(request):
    if not access.is_staff_user(request.user):
        raise Http404


def _django_errors(exc: DjangoValidationError):
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class TaskViewSet(GatedViewSet):
    model = Task
    resource = R
    serializer_class = TaskSerializer
    related = ("patient", "assignee")

    @extend_schema(parameters=[OpenApiParameter(n) for n in ("view", "status", "priority", "due", "source",
                                                             "patient")], summary="Tasks (the page's filter)")
    def list(self, request, *args, **kwargs):
        _staff_only(request)
        f = task_services.parse_filter(request.query_params)
        if f.errors:
            raise serializers.ValidationError({k: [v] for k, v in f.errors.items()})
        rows = task_services.filter_tasks(request.user, f)  # the gate's rows (access.scoped), filtered
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(TaskSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        _staff_only(request)
        return Response(TaskSerializer(self.get_object()).data)

    @extend_schema(request=TaskIn, responses={201: TaskSerializer}, summary="Create a task")
    def create(self, request, *args, **kwargs):
        _staff_only(request)
        incoming = TaskIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        d = incoming.validated_data
        patient = access.patient_for_request(request, d["patient"], "write", R)
        assignee = None
        if d.get("assignee"):
            assignee = next((u for u in task_services.assignable_staff(request.user, patient)
                             if u.pk == d["assignee"]), None)
            if assignee is None:
                raise serializers.ValidationError({"assignee": ["Choose a colleague who can see this patient."]})
        try:
            task = task_services.task_create(patient=patient, title=d["title"], description=d["description"],
                                             actor=request.user, assignee=assignee, due_at=d.get("due_at"),
                                             priority=d["priority"], request=request, via="api")
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        return Response(TaskSerializer(task).data, status=http_status.HTTP_201_CREATED)

    @extend_schema(request=TaskStatusIn, responses=TaskSerializer, summary="Start, complete or cancel a task")
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, *args, **kwargs):
        _staff_only(request)
        task = self.get_object()
        incoming = TaskStatusIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        d = incoming.validated_data
        try:
            if d["action"] == "start":
                task = task_services.task_start(task=task, actor=request.user, request=request, via="api")
            elif d["action"] == "complete":
                task = task_services.task_complete(task=task, actor=request.user, outcome=d["outcome"],
                                                   request=request, via="api")
            else:
                task = task_services.task_cancel(task=task, actor=request.user, reason=d["outcome"],
                                                 request=request, via="api")
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        return Response(TaskSerializer(task).data)

    @extend_schema(request=TaskCommentIn, responses={201: TaskCommentSerializer}, summary="Comment on a task")
    @action(detail=True, methods=["post"])
    def comments(self, request, *args, **kwargs):
        _staff_only(request)
        task = self.get_object()
        incoming = TaskCommentIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            comment = task_services.task_comment(task=task, actor=request.user, body=incoming.validated_data["body"],
                                                 request=request, via="api")
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        return Response(TaskCommentSerializer(comment).data, status=http_status.HTTP_201_CREATED)


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
@permission_classes([IsAuthenticated, RecordOpen])
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
@permission_classes([IsAuthenticated, RecordOpen])
def my_daily_score(request):
    me = _me(request)
    day = _day_param(request, me)
    if day > me.today or day < me.today - timedelta(days=90):
        raise serializers.ValidationError({"date": ["A day in the last 90 days."]})
    view = scores.day_score(me, day)
    audit.record(request=request, action="read", resource="care.daily_score", patient=me,
                 metadata={"via": "api", "date": day.isoformat()})
    return Response({**view, "date": day.isoformat()})
