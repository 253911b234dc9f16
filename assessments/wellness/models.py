"""Mental-wellness check-ins (seed 002, MindMeasure), merged per DESIGN "Where the seed tables go".

- `WellnessPreference` is 002's profile: assessment frequency and the patient's consent per
  modality (voice, face, passive wearable data). Text needs none beyond typing it. Consent is a
  timestamp, revocable; each change is audited (assessments.wellness.services).
- `WellnessSession` is assessment_sessions (002's types and statuses as check constraints) with
  the raw media held encrypted only until analysis (deleted by default: program setting
  `assessments.wellness_keep_media`).
- `TextAnalysis`, `VoiceAnalysis`, `FaceAnalysis`, `SessionInsight` are 002's analysis tables,
  one per session; `WellnessScore` is fusion_outputs (plus the mood self-report as its own
  modality, the interval, and what it triggered).
- `FeatureBaseline` (user_feature_baselines; Welford's running mean and variance), `MetricBaseline`
  (user_baselines' metric types) and `Calibration` (user_calibration) are per patient.

Every row carries `patient` so the gate (mahalo.access.scoped) can scope it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = ["WellnessPreference", "WellnessSession", "TextAnalysis", "VoiceAnalysis", "FaceAnalysis", "SessionInsight",
           "WellnessScore", "FeatureBaseline", "MetricBaseline", "Calibration"]


class WellnessPreference(models.Model):
    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        BIWEEKLY = "biweekly", "Every two weeks"
        MONTHLY = "monthly", "Monthly"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE, related_name="wellness_preference")
    assessment_frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    voice_consent_at = models.DateTimeField(null=True, blank=True)
    face_consent_at = models.DateTimeField(null=True, blank=True)
    passive_consent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def consents(self, modality: str) -> bool:
        return getattr(self, f"{modality}_consent_at", None) is not None


def _media_path(instance, filename):
    # Never the patient's file name: it can hold PHI. The bytes are a Fernet token (mahalo.crypto).
    return f"assessments/wellness/{instance.project_id}/{instance.pk}-{filename.rsplit('.', 1)[0][-12:]}.enc"


class WellnessSession(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be analysed"
        PROCESSING = "processing", "Being analysed"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        FULL = "full", "Full check-in"
        QUICK = "quick", "Quick check-in"
        VOICE_ONLY = "voice-only", "Voice only"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="wellness_sessions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.FULL)
    category = models.CharField(max_length=40, default="general")
    prompt = models.CharField(max_length=300, blank=True)
    mood_before = models.JSONField(null=True, blank=True)
    mood_after = models.JSONField(null=True, blank=True)
    text_data = models.JSONField(null=True, blank=True)
    audio_data = models.JSONField(null=True, blank=True, help_text="Content type, size, duration, deleted_at.")
    visual_data = models.JSONField(null=True, blank=True)
    reflection_notes = models.TextField(blank=True)
    audio_file = models.FileField(upload_to=_media_path, blank=True, max_length=300)
    image_file = models.FileField(upload_to=_media_path, blank=True, max_length=300)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    via = models.CharField(max_length=8, default="portal")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["pending", "processing", "completed", "failed"]),
                                   name="wellness_session_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=["full", "quick", "voice-only"]),
                                   name="wellness_session_kind_valid"),
        ]
        indexes = [models.Index(fields=["patient", "-created_at"], name="wellness_session_patient"),
                   models.Index(fields=["status", "updated_at"], name="wellness_session_status")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d} ({self.status})"

    @property
    def text(self) -> str:
        data = self.text_data or {}
        return data.get("user_input") or " ".join(data.get("transcripts") or [])


class _Analysis(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    processed_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TextAnalysis(_Analysis):
    session = models.OneToOneField(WellnessSession, on_delete=models.CASCADE, related_name="text_analysis")
    combined_text = models.TextField(blank=True)
    sentiment_analysis = models.JSONField(default=dict)
    cognitive_markers = models.JSONField(default=dict)
    linguistic_patterns = models.JSONField(default=dict)
    text_wellness_score = models.FloatField(null=True, blank=True)


class VoiceAnalysis(_Analysis):
    session = models.OneToOneField(WellnessSession, on_delete=models.CASCADE, related_name="voice_analysis")
    transcription = models.TextField(blank=True, help_text="Empty: no offline recognizer is installed.")
    vocal_characteristics = models.JSONField(default=dict)
    prosodic_features = models.JSONField(default=dict)
    emotional_markers = models.JSONField(default=dict)
    quality = models.CharField(max_length=20, default="ok")
    duration_s = models.FloatField(null=True, blank=True)
    audio_wellness_score = models.FloatField(null=True, blank=True)


class FaceAnalysis(_Analysis):
    session = models.OneToOneField(WellnessSession, on_delete=models.CASCADE, related_name="face_analysis")
    facial_expressions = models.JSONField(default=dict)
    micro_expressions = models.JSONField(default=dict)
    emotional_indicators = models.JSONField(default=dict)
    quality = models.CharField(max_length=20, default="ok")
    visual_wellness_score = models.FloatField(null=True, blank=True)


class SessionInsight(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField(WellnessSession, on_delete=models.CASCADE, related_name="insight")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    key_concerns = models.JSONField(default=list)
    emotional_themes = models.JSONField(default=dict)
    conversation_summary = models.TextField(blank=True)
    notable_changes = models.TextField(blank=True)
    follow_up_topics = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)


class WellnessScore(models.Model):
    class Qc(models.TextChoices):
        RELIABLE = "reliable", "Reliable"
        LIMITED = "limited", "Limited"
        INSUFFICIENT = "insufficient", "Insufficient data"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField(WellnessSession, on_delete=models.CASCADE, related_name="score")
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="wellness_scores")
    p_worse_fused = models.FloatField()
    p_worse_text = models.FloatField(null=True, blank=True)
    p_worse_audio = models.FloatField(null=True, blank=True)
    p_worse_visual = models.FloatField(null=True, blank=True)
    p_worse_passive = models.FloatField(null=True, blank=True)
    p_worse_mood = models.FloatField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(help_text="0-100, higher is better: 100 × (1 − p_worse_fused).")
    score_smoothed = models.FloatField()
    uncertainty = models.FloatField(help_text="Half-width of the 80% interval of the score, in points.")
    score_low = models.FloatField()
    score_high = models.FloatField()
    qc_overall = models.CharField(max_length=12, choices=Qc.choices, default=Qc.RELIABLE)
    drivers = models.JSONField(default=list)
    contributions = models.JSONField(default=dict, help_text="Per modality: s (z, worse +), p, weight, share.")
    model_version = models.CharField(max_length=20, default="wellness-1.0")
    worsening = models.BooleanField(default=False)
    phq9_assignment_id = models.UUIDField(null=True, blank=True)
    alert_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="wellness_score_patient")]


class FeatureBaseline(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    feature_name = models.CharField(max_length=60)
    mean = models.FloatField(default=0.0)
    sd = models.FloatField(default=0.0)
    m2 = models.FloatField(default=0.0, help_text="Welford's sum of squared deviations (sd derives from it).")
    n = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "feature_name"], name="uniq_feature_baseline")]


class MetricBaseline(models.Model):
    class Metric(models.TextChoices):
        COMBINED = "combined_wellness", "Combined wellness"
        AUDIO = "audio_wellness", "Voice"
        TEXT = "text_wellness", "Text"
        VISUAL = "visual_wellness", "Face"
        MOOD_STABILITY = "mood_stability", "Mood stability"
        STRESS = "stress_levels", "Stress"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    metric_type = models.CharField(max_length=20, choices=Metric.choices)
    baseline_score = models.FloatField()
    confidence_level = models.FloatField(default=0.5)
    sample_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "metric_type"], name="uniq_metric_baseline")]


class Calibration(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    modality = models.CharField(max_length=10)
    a = models.FloatField()
    b = models.FloatField()
    n_points = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "modality"], name="uniq_calibration")]
