"""The wellness check-in API (DESIGN "Fixed points"):

    POST /api/v1/me/wellness-sessions/               a check-in: JSON, or multipart with `audio` (WAV) and `image`
    GET  /api/v1/me/wellness-sessions/               my check-ins, newest first
    GET  /api/v1/me/wellness-sessions/<uuid>/        one, with its analyses and score once processed
    GET  /api/v1/me/wellness-preferences/            my consent per modality and check-in frequency
    POST /api/v1/me/wellness-preferences/            change them (`voice`, `face`, `passive`: true/false)
    GET  /api/v1/patients/<uuid>/wellness-sessions/          staff: a patient's check-ins
    GET  /api/v1/patients/<uuid>/wellness-sessions/<uuid>/   staff: one

Multipart fields `mood_before` / `mood_after` carry JSON text. Bad input answers 400 with every
problem keyed by field; nothing is stored then.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from assessments.wellness import services
from assessments.wellness.models import WellnessPreference, WellnessSession
from mahalo import access
from mahalo.api import GatedViewSet


class ScoreSerializer(serializers.Serializer):
    p_worse_fused = serializers.FloatField()
    p_worse_text = serializers.FloatField(allow_null=True)
    p_worse_audio = serializers.FloatField(allow_null=True)
    p_worse_visual = serializers.FloatField(allow_null=True)
    p_worse_passive = serializers.FloatField(allow_null=True)
    p_worse_mood = serializers.FloatField(allow_null=True)
    score = serializers.IntegerField()
    score_smoothed = serializers.FloatField()
    uncertainty = serializers.FloatField()
    score_low = serializers.FloatField()
    score_high = serializers.FloatField()
    qc_overall = serializers.CharField()
    drivers = serializers.JSONField()
    contributions = serializers.JSONField()
    model_version = serializers.CharField()
    worsening = serializers.BooleanField()
    phq9_assignment_id = serializers.UUIDField(allow_null=True)


class SessionSerializer(serializers.ModelSerializer):
    text_analysis = serializers.SerializerMethodField()
    voice_analysis = serializers.SerializerMethodField()
    face_analysis = serializers.SerializerMethodField()
    insight = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField()

    class Meta:
        model = WellnessSession
        fields = ["id", "patient", "status", "kind", "category", "prompt", "mood_before", "mood_after", "text_data",
                  "audio_data", "visual_data", "via", "attempts", "error", "created_at", "processed_at",
                  "text_analysis", "voice_analysis", "face_analysis", "insight", "score"]

    @staticmethod
    def _related(obj, name):
        try:
            return getattr(obj, name)
        except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist: not analysed (yet)
            return None

    def get_text_analysis(self, obj) -> dict | None:
        row = self._related(obj, "text_analysis")
        return None if row is None else {
            "sentiment_analysis": row.sentiment_analysis, "cognitive_markers": row.cognitive_markers,
            "linguistic_patterns": row.linguistic_patterns, "text_wellness_score": row.text_wellness_score}

    def get_voice_analysis(self, obj) -> dict | None:
        row = self._related(obj, "voice_analysis")
        return None if row is None else {
            "transcription": row.transcription, "vocal_characteristics": row.vocal_characteristics,
            "prosodic_features": row.prosodic_features, "emotional_markers": row.emotional_markers,
            "quality": row.quality, "duration_s": row.duration_s, "audio_wellness_score": row.audio_wellness_score}

    def get_face_analysis(self, obj) -> dict | None:
        row = self._related(obj, "face_analysis")
        return None if row is None else {
            "facial_expressions": row.facial_expressions, "emotional_indicators": row.emotional_indicators,
            "quality": row.quality, "visual_wellness_score": row.visual_wellness_score}

    def get_insight(self, obj) -> dict | None:
        row = self._related(obj, "insight")
        return None if row is None else {
            "key_concerns": row.key_concerns, "emotional_themes": row.emotional_themes,
            "conversation_summary": row.conversation_summary, "notable_changes": row.notable_changes,
            "follow_up_topics": row.follow_up_topics}

    @extend_schema_field(ScoreSerializer(allow_null=True))
    def get_score(self, obj):
        row = self._related(obj, "score")
        return None if row is None else ScoreSerializer(row).data


class SessionIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=WellnessSession.Kind.values, default=WellnessSession.Kind.FULL)
    mood_before = serializers.JSONField(required=False, allow_null=True)
    mood_after = serializers.JSONField(required=False, allow_null=True)
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    prompt = serializers.CharField(required=False, allow_blank=True, max_length=300)
    audio = serializers.FileField(required=False, allow_null=True)
    image = serializers.FileField(required=False, allow_null=True)


class PreferenceSerializer(serializers.ModelSerializer):
    voice = serializers.SerializerMethodField()
    face = serializers.SerializerMethodField()
    passive = serializers.SerializerMethodField()

    class Meta:
        model = WellnessPreference
        fields = ["assessment_frequency", "voice", "face", "passive", "voice_consent_at", "face_consent_at",
                  "passive_consent_at", "updated_at"]

    def get_voice(self, obj) -> bool:
        return obj.consents("voice")

    def get_face(self, obj) -> bool:
        return obj.consents("face")

    def get_passive(self, obj) -> bool:
        return obj.consents("passive")


class PreferenceIn(serializers.Serializer):
    assessment_frequency = serializers.ChoiceField(choices=WellnessPreference.Frequency.values, required=False)
    voice = serializers.BooleanField(required=False)
    face = serializers.BooleanField(required=False)
    passive = serializers.BooleanField(required=False)


def _json_field(value, name):
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise serializers.ValidationError({name: ["Not valid JSON."]}) from None
    return value


class _SessionBase(GatedViewSet):
    model = WellnessSession
    resource = "clinical"
    serializer_class = SessionSerializer
    related = ("text_analysis", "voice_analysis", "face_analysis", "insight", "score")


@extend_schema_view(list=extend_schema(summary="My wellness check-ins, newest first"),
                    retrieve=extend_schema(summary="One of my check-ins with its analyses and score"))
class MySessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _SessionBase):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def _me(self):
        me = access.patient_of(self.request.user)
        if me is None or access.is_staff_user(self.request.user):
            raise Http404("No patient record for this account.")
        return me

    def narrow(self, queryset):
        return queryset.filter(patient_id=self._me().pk).order_by("-created_at")

    def retrieve(self, request, *args, **kwargs):
        me = self._me()
        obj = self.get_object()
        if obj.patient_id != me.pk:
            raise Http404
        return Response(SessionSerializer(obj).data)

    @extend_schema(request=SessionIn, responses={201: SessionSerializer},
                   summary="Send a check-in (mood, text, optional WAV voice and photo)")
    def create(self, request, *args, **kwargs):
        me = self._me()
        # A plain dict: multipart sends the moods as JSON text, which is parsed here, once.
        data = {key: request.data.get(key) for key in request.data.keys()}
        for name in ("mood_before", "mood_after"):
            if name in data:
                data[name] = _json_field(data.get(name), name)
        incoming = SessionIn(data=data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        try:
            session = services.session_create(
                patient=me, actor=request.user, via="api", kind=v["kind"], mood_before=v.get("mood_before"),
                mood_after=v.get("mood_after"), text=v.get("text", ""), prompt=v.get("prompt", ""),
                audio=v.get("audio"), image=v.get("image"), request=request)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        fresh = WellnessSession.objects.select_related(*self.related)  # gate: the row just written for `me`
        session = fresh.get(pk=session.pk, patient=me)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(summary="A patient's wellness check-ins (staff)"),
                    retrieve=extend_schema(summary="One check-in of a patient (staff)"))
class PatientSessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _SessionBase):
    patient_url_kwarg = "patient_pk"

    def narrow(self, queryset):
        if not access.is_staff_user(self.request.user):
            raise Http404
        return queryset.order_by("-created_at")

    def retrieve(self, request, *args, **kwargs):
        if not access.is_staff_user(request.user):
            raise Http404
        return Response(SessionSerializer(self.get_object()).data)


class MyPreferenceViewSet(GatedViewSet):
    model = WellnessPreference
    resource = "clinical"
    serializer_class = PreferenceSerializer

    def _me(self):
        me = access.patient_of(self.request.user)
        if me is None or access.is_staff_user(self.request.user):
            raise Http404("No patient record for this account.")
        return me

    @extend_schema(responses=PreferenceSerializer, summary="My check-in consent and frequency")
    @action(detail=False, methods=["get"])
    def show(self, request):
        return Response(PreferenceSerializer(services.preference_for(self._me())).data)

    @extend_schema(request=PreferenceIn, responses=PreferenceSerializer,
                   summary="Grant or revoke consent per modality; set the check-in frequency")
    @action(detail=False, methods=["post"])
    def change(self, request):
        me = self._me()
        incoming = PreferenceIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = dict(incoming.validated_data)
        frequency = v.pop("assessment_frequency", None)
        pref = services.consent_set(patient=me, actor=request.user, request=request, frequency=frequency, **v)
        return Response(PreferenceSerializer(pref).data)
