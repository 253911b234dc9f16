"""Admin: read-only views of check-ins, scores, baselines and calibration (services write them)."""

from django.contrib import admin

from assessments.wellness.models import Calibration, FeatureBaseline, MetricBaseline, WellnessScore, WellnessSession
from mahalo.admin import ReadOnlyGatedAdmin


@admin.register(WellnessSession)
class WellnessSessionAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["patient", "kind", "status", "via", "attempts", "created_at", "processed_at"]
    list_filter = ["status", "kind", "via"]
    hidden = ("audio_file", "image_file")  # encrypted tokens: nothing a person can read

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f not in self.hidden]

    def get_fields(self, request, obj=None):
        return [f for f in super().get_fields(request, obj) if f not in self.hidden]


@admin.register(WellnessScore)
class WellnessScoreAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["patient", "score", "score_low", "score_high", "qc_overall", "worsening", "model_version",
                    "created_at"]
    list_filter = ["qc_overall", "worsening", "model_version"]


@admin.register(FeatureBaseline)
class FeatureBaselineAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["patient", "feature_name", "mean", "sd", "n", "updated_at"]


@admin.register(MetricBaseline)
class MetricBaselineAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["patient", "metric_type", "baseline_score", "confidence_level", "sample_count", "last_updated"]


@admin.register(Calibration)
class CalibrationAdmin(ReadOnlyGatedAdmin):
    gate_resource = "clinical"
    list_display = ["patient", "modality", "a", "b", "n_points", "updated_at"]
