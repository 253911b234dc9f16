from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from mahalo import access
from mahalo.api import GatedViewSet
from patients import care_team, registry, services
from patients.forms import MODEL_FIELDS
from patients.models import CareTeamLink, Patient, PatientFlag, Program


class ProgramRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Program
        fields = ["id", "name", "timezone"]


class PatientSerializer(serializers.ModelSerializer):
    program = ProgramRefSerializer(read_only=True)
    age = serializers.IntegerField(read_only=True, allow_null=True)
    post_op_week = serializers.IntegerField(read_only=True, allow_null=True)
    flags = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["id", *MODEL_FIELDS, "age", "post_op_week", "program", "flags", "status", "last_data_at",
                  "created_at", "updated_at"]

    def get_flags(self, obj) -> list[str]:
        return [f.flag for f in obj.flags.all()]


class PatientWriteSerializer(serializers.ModelSerializer):
    """Create and update. Program changes go through the move service (enrollment history);
    status changes through /archive/ (and the chart's status actions)."""

    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.none())
    flags = serializers.ListField(child=serializers.ChoiceField(choices=PatientFlag.Flag.values), required=False)
    move_reason = serializers.CharField(required=False, allow_blank=True, max_length=300, write_only=True)
    phone = PhoneNumberField(required=False, allow_blank=True)

    class Meta:
        model = Patient
        fields = [*MODEL_FIELDS, "program", "flags", "move_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["program"].queryset = access.programs_for(request.user).filter(is_active=True)

    def validate(self, attrs):
        # Model rules (dates, goals...) give 400 with field errors, never a 500.
        probe = Patient(**{k: v for k, v in {**self._current(), **attrs}.items() if k in MODEL_FIELDS})
        probe.program = attrs.get("program") or getattr(self.instance, "program", None)
        if probe.program is not None:
            probe.project_id = probe.program.project_id
        try:
            probe.full_clean(exclude=["project", "program", "mrn"], validate_unique=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def _current(self) -> dict:
        return {f: getattr(self.instance, f) for f in MODEL_FIELDS} if self.instance else {}


class ArchiveRequest(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("q", OpenApiTypes.STR, description="Search name, MRN, email, phone"),
        OpenApiParameter("program", OpenApiTypes.UUID),
        OpenApiParameter("status", OpenApiTypes.STR, description="active|paused|discharged|archived|all "
                                                                 "(default: all but archived)"),
        OpenApiParameter("flag", OpenApiTypes.STR, enum=PatientFlag.Flag.values),
        OpenApiParameter("care_team", OpenApiTypes.UUID, description="Staff member id"),
        OpenApiParameter("no_data_days", OpenApiTypes.INT),
        OpenApiParameter("sort", OpenApiTypes.STR, enum=list(registry.SORTS)),
    ]),
    create=extend_schema(request=PatientWriteSerializer, responses={201: PatientSerializer}),
    partial_update=extend_schema(request=PatientWriteSerializer, responses=PatientSerializer),
)
class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, GatedViewSet):
    """Patients the caller may see: a clinician's programs, a lead's project, a patient's own record.
    Same rules and filters as the registry page; records are archived, never deleted."""

    model = Patient
    resource = "patients"
    serializer_class = PatientSerializer
    related = ("program",)
    prefetch = ("flags",)
    http_method_names = ["get", "post", "patch", "head", "options"]

    def narrow(self, queryset):
        if self.action != "list":
            return queryset
        filtered, _filters, errors = registry.filter_patients(self.request.user, self.request.query_params)
        if errors:
            raise serializers.ValidationError(errors)
        return filtered

    def get_serializer_class(self):
        return PatientWriteSerializer if self.action in ("create", "partial_update", "update") else PatientSerializer

    def create(self, request, *args, **kwargs):
        if access.patient_of(request.user) is not None and not access.is_staff_user(request.user):
            raise PermissionDenied("Patients can't create patient records.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        program, flags = data.pop("program"), data.pop("flags", [])
        data.pop("move_reason", None)
        patient = services.patient_create(actor=request.user, program=program, data=data, flags=flags,
                                          request=request, via="api")
        return Response(PatientSerializer(patient, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        patient = self.get_object()
        if access.patient_of(request.user) is not None and not access.is_staff_user(request.user):
            raise PermissionDenied("Patients update their details in the portal.")
        serializer = self.get_serializer(patient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        program, flags = data.pop("program", None), data.pop("flags", None)
        reason = data.pop("move_reason", "")
        with transaction.atomic():
            services.patient_update(patient=patient, actor=request.user, changes=data, flags=flags, request=request,
                                    via="api")
            if program is not None:
                services.patient_move_program(patient=patient, program=program, actor=request.user, reason=reason,
                                              request=request, via="api")
        patient.refresh_from_db()
        return Response(PatientSerializer(patient, context=self.get_serializer_context()).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=ArchiveRequest, responses=PatientSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        """Archive the record (it is never deleted). Needs patients:update."""
        if not access.can(request.user, "patients", "update") or not access.is_staff_user(request.user):
            raise PermissionDenied("Your role can't archive patients.")
        patient = self.get_object()
        incoming = ArchiveRequest(data=request.data if isinstance(request.data, dict) else {"reason": None})
        incoming.is_valid(raise_exception=True)
        services.patient_archive(patient=patient, actor=request.user, reason=incoming.validated_data["reason"],
                                 request=request, via="api")
        patient.refresh_from_db()
        return Response(PatientSerializer(patient, context=self.get_serializer_context()).data)


# --- Care teams and programs (read-only; issue 18) --------------------------------------------
# Changes to a care team go through patients.care_team's state machine on the pages.


class CareTeamStaffSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The StaffMember's id (what a conversation or a booking names).")
    name = serializers.CharField(source="user.get_full_name")
    title = serializers.CharField()
    role = serializers.CharField(source="role.name")
    specialties = serializers.ListField(child=serializers.CharField())
    is_verified = serializers.BooleanField(help_text="Licence (and certifications) checked by the clinic.")
    telehealth_enabled = serializers.BooleanField()


class CareTeamLinkSerializer(serializers.ModelSerializer):
    staff = CareTeamStaffSerializer(read_only=True)

    class Meta:
        model = CareTeamLink
        fields = ["id", "status", "staff", "note", "created_at", "updated_at", "activated_at", "ended_at"]


@extend_schema_view(list=extend_schema(summary="A patient's care-team links, every state, newest change first"))
class PatientCareTeamViewSet(mixins.ListModelMixin, GatedViewSet):
    model = CareTeamLink
    resource = "patients"
    serializer_class = CareTeamLinkSerializer
    related = ("staff__user", "staff__role")
    patient_url_kwarg = "patient_pk"

    def narrow(self, queryset):
        return queryset.order_by("-updated_at")


@extend_schema_view(list=extend_schema(summary="My active care team (as the portal shows it)"))
class MyCareTeamViewSet(mixins.ListModelMixin, GatedViewSet):
    model = CareTeamLink
    resource = "patients"
    serializer_class = CareTeamLinkSerializer
    related = ("staff__user", "staff__role")

    def narrow(self, queryset):
        me = access.patient_of(self.request.user)
        if me is None or access.is_staff_user(self.request.user):
            raise Http404("No patient record for this account.")
        return queryset & care_team.care_team_for(me)


class ProgramSerializer(serializers.ModelSerializer):
    class Meta:
        model = Program
        fields = ["id", "name", "description", "timezone", "is_active", "created_at"]


@extend_schema_view(list=extend_schema(summary="The programs in my scope (the program switcher's list)"),
                    retrieve=extend_schema(summary="One program in my scope"))
class ProgramViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GatedViewSet):
    model = Program
    resource = "patients"
    serializer_class = ProgramSerializer
    own_rows = staticmethod(access.programs_for)  # the gate's one answer to "which programs"

    def narrow(self, queryset):
        return queryset.order_by("name")
