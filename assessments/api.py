"""The questionnaires API (DESIGN "Fixed points"):

    GET  /api/v1/questionnaires/                       staff: newest published version of each instrument
    GET  /api/v1/questionnaires/<id>/                  staff: one version with its items
    GET  /api/v1/questionnaires/<id>/fhir/             staff: exported as a FHIR R4 Questionnaire
    POST /api/v1/questionnaires/import/                staff (clinical:write): a FHIR R4 Questionnaire
    GET  /api/v1/patients/<uuid>/assignments/          staff: a patient's assignments
    POST /api/v1/patients/<uuid>/assignments/          staff: assign (`questionnaire`: id or code, `due`)
    POST /api/v1/patients/<uuid>/assignments/<id>/response/   staff entering answers for the patient
    GET  /api/v1/me/assignments/                       the patient's own (open first), with items
    POST /api/v1/me/assignments/<id>/response/         a FHIR QuestionnaireResponse or {"answers": {...}}

A response with a safety answer returns `safety: true` and `crisis_resources` for the app to
show at once.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Case, Exists, OuterRef, Value, When
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response as ApiResponse

from assessments import fhir, services
from assessments.models import Assignment, Question, Questionnaire, Response
from clinical.api import AwareDateTime
from mahalo import access
from mahalo.api import GatedViewSet


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["link_id", "code", "text", "prefix", "type", "required", "options", "enable_when",
                  "enable_behavior", "help_text", "group"]


class QuestionnaireSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: choice sets named "kind"/"status" exist elsewhere in the API.
    kind = serializers.CharField(read_only=True, help_text="symptom | baseline | demographic")
    status = serializers.CharField(read_only=True, help_text="draft | published | retired")

    class Meta:
        model = Questionnaire
        fields = ["id", "code", "name", "version", "description", "kind", "status", "builtin", "preamble"]


class QuestionnaireDetailSerializer(QuestionnaireSerializer):
    items = QuestionSerializer(source="questions", many=True)
    scoring = serializers.JSONField()

    class Meta(QuestionnaireSerializer.Meta):
        fields = QuestionnaireSerializer.Meta.fields + ["scoring", "items"]


class AssignmentSerializer(serializers.ModelSerializer):
    questionnaire = QuestionnaireDetailSerializer()
    response = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True, help_text="new | in_progress | completed | skipped | expired")

    class Meta:
        model = Assignment
        fields = ["id", "status", "source", "reason", "assigned_at", "available_at", "due_at", "expires_at",
                  "completed_at", "draft", "questionnaire", "response"]

    def get_response(self, obj) -> dict | None:
        r = getattr(obj, "response", None) if obj.status == Assignment.Status.COMPLETED else None
        if r is None:
            return None
        return {"id": str(r.pk), "submitted_at": r.submitted_at.isoformat(), "total": r.total,
                "complete": r.complete, "severity": r.severity, "on_behalf": r.on_behalf}


class AssignIn(serializers.Serializer):
    questionnaire = serializers.CharField(max_length=64, help_text="A questionnaire id, or a code (e.g. 44249-1) "
                                                                   "for its newest published version.")
    due = AwareDateTime(required=False, help_text="When it is due (ISO-8601 with offset). Default: now.")
    expires_at = AwareDateTime(required=False, help_text="Default: due + the program's expiry window.")


class ResponseIn(serializers.Serializer):
    answers = serializers.DictField(required=False, help_text="{linkId or item code: option code or value}")
    resourceType = serializers.CharField(required=False, help_text="QuestionnaireResponse (FHIR R4)")
    item = serializers.ListField(required=False)


SubmissionOut = inline_serializer("QuestionnaireSubmission", {
    "response": serializers.UUIDField(), "total": serializers.FloatField(allow_null=True),
    "complete": serializers.BooleanField(), "prorated": serializers.BooleanField(),
    "severity": serializers.CharField(), "severity_label": serializers.CharField(),
    "safety": serializers.BooleanField(),
    "crisis_resources": serializers.ListField(child=serializers.DictField(), allow_null=True),
    "message": serializers.CharField(), "triggered": serializers.ListField(child=serializers.UUIDField()),
})


def submission_data(submission: services.Submission) -> dict:
    result = submission.result
    if submission.crisis:
        message = ("Thank you for telling us. Your care team has been alerted and will contact you. If you are "
                   "thinking about hurting yourself, please reach out now: call or text 988, or call 911 in an "
                   "emergency.")
    else:
        message = "Thank you. Your answers were sent to your care team."
    return {"response": submission.response.pk, "total": result.total, "complete": result.complete,
            "prorated": result.prorated, "severity": result.severity, "severity_label": result.severity_label,
            "safety": bool(submission.safety_events), "crisis_resources": submission.crisis, "message": message,
            "triggered": [a.pk for a in submission.triggered]}


def read_answers(data) -> dict:
    """The simple form {"answers": {...}} or a FHIR QuestionnaireResponse -> {linkId: value}."""
    if not isinstance(data, dict):
        raise serializers.ValidationError({"answers": ["Send a JSON object."]})
    if data.get("resourceType"):
        answers, errors = fhir.response_answers(data)
        if errors:
            raise serializers.ValidationError({"item": errors})
        return answers
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise serializers.ValidationError({"answers": ["Send {\"answers\": {linkId: code or value}} or a FHIR "
                                                       "QuestionnaireResponse."]})
    return answers


def submit(request, assignment, via: str) -> ApiResponse:
    answers = read_answers(request.data)
    try:
        submission = services.response_submit(assignment=assignment, answers=answers, actor=request.user, via=via,
                                              request=request)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None
    return ApiResponse(submission_data(submission), status=status.HTTP_201_CREATED)


def _newest(queryset):
    newer = Questionnaire.objects.filter(project=OuterRef("project"), code=OuterRef("code"),
                                         status=Questionnaire.Status.PUBLISHED, version__gt=OuterRef("version"))
    return queryset.filter(status=Questionnaire.Status.PUBLISHED).exclude(Exists(newer))


@extend_schema_view(
    list=extend_schema(summary="Questionnaires: the newest published version of each (all=1 for every version)"),
    retrieve=extend_schema(summary="One questionnaire version with its items", responses=QuestionnaireDetailSerializer),
)
class QuestionnaireViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GatedViewSet):
    model = Questionnaire
    resource = "clinical"
    serializer_class = QuestionnaireSerializer
    prefetch = ("questions",)

    def narrow(self, queryset):
        if self.action == "list" and self.request.query_params.get("all") != "1":
            return _newest(queryset).order_by("name")
        return queryset.order_by("name", "-version")

    def get_serializer_class(self):
        return QuestionnaireDetailSerializer if self.action == "retrieve" else QuestionnaireSerializer

    @extend_schema(summary="Export as a FHIR R4 Questionnaire", responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path="fhir")
    def fhir_export(self, request, pk=None):
        questionnaire = self.get_object()
        return ApiResponse(fhir.export(questionnaire, questionnaire.questions.all()))

    @extend_schema(summary="Import a FHIR R4 Questionnaire (scores from ordinalValue / itemWeight)",
                   request=OpenApiTypes.OBJECT, responses={201: QuestionnaireDetailSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def fhir_import(self, request):
        project = access.project_of(request.user)
        if not access.is_staff_user(request.user) or project is None:
            raise Http404
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > fhir.MAX_BYTES:
            raise serializers.ValidationError({"detail": [f"The limit is {fhir.MAX_BYTES // 1024} KB."]})
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"detail": ["Send a FHIR Questionnaire as a JSON object."]})
        try:
            questionnaire = services.questionnaire_import(project=project, raw=dict(request.data),
                                                          actor=request.user, request=request)
        except fhir.ImportRefused as exc:
            raise serializers.ValidationError({"errors": exc.errors}) from None
        return ApiResponse(QuestionnaireDetailSerializer(questionnaire).data, status=status.HTTP_201_CREATED)


class _AssignmentBase(GatedViewSet):
    model = Assignment
    resource = "clinical"
    serializer_class = AssignmentSerializer
    related = ("questionnaire", "response")
    prefetch = ("questionnaire__questions",)


@extend_schema_view(
    list=extend_schema(summary="A patient's questionnaire assignments, newest first"),
    create=extend_schema(request=AssignIn, responses={201: AssignmentSerializer},
                         summary="Assign a questionnaire to a patient (staff)"),
)
class PatientAssignmentViewSet(mixins.ListModelMixin, _AssignmentBase):
    patient_url_kwarg = "patient_pk"

    def _staff_patient(self, action):
        patient = access.patient_for_request(self.request, self.kwargs[self.patient_url_kwarg], action, "clinical")
        if not access.is_staff_user(self.request.user):
            raise Http404
        return patient

    def create(self, request, *args, **kwargs):
        patient = self._staff_patient("write")
        incoming = AssignIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        questionnaire = services.resolve(patient.project, data["questionnaire"])
        if questionnaire is None:
            raise serializers.ValidationError({"questionnaire": ["No such questionnaire (give an id or a code)."]})
        try:
            assignment = services.assignment_create(patient=patient, questionnaire=questionnaire,
                                                    actor=request.user, due=data.get("due"),
                                                    expires_at=data.get("expires_at"), request=request)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return ApiResponse(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ResponseIn, responses={201: SubmissionOut},
                   summary="Enter a patient's answers on their behalf (phone interview; recorded as such)")
    @action(detail=True, methods=["post"], url_path="response")
    def response(self, request, pk=None, **kwargs):
        self._staff_patient("write")
        return submit(request, self.get_object(), Response.Via.STAFF)


@extend_schema_view(list=extend_schema(summary="My questionnaires: open ones first, then the rest"))
class MyAssignmentViewSet(mixins.ListModelMixin, _AssignmentBase):
    def _me(self):
        me = access.patient_of(self.request.user)
        if me is None or access.is_staff_user(self.request.user):
            raise Http404("No patient record for this account.")
        return me

    def narrow(self, queryset):
        open_first = Case(When(status__in=Assignment.OPEN, then=Value(0)), default=Value(1))
        return queryset.filter(patient_id=self._me().pk).order_by(open_first, "-available_at")

    @extend_schema(request=ResponseIn, responses={201: SubmissionOut},
                   summary="Answer one of my questionnaires (FHIR QuestionnaireResponse or {\"answers\": {...}})")
    @action(detail=True, methods=["post"], url_path="response")
    def response(self, request, pk=None):
        me = self._me()
        assignment = self.get_object()
        if assignment.patient_id != me.pk:
            raise Http404
        return submit(request, assignment, Response.Via.API)
