"""Classify one observation at write time: invalid | normal | abnormal | critical,
plus the published table's category where CLINICAL.md has one (BP ACC/AHA, BMI
WHO, glucose ADA).

"Invalid" means physically impossible or mistyped (a systolic of 1200): the row is
kept and flagged, and trends and rules leave it out. It is never "critical".
Metrics without a published table use the plausibility range only, plus the
common adult reference ranges noted below for the abnormal/critical split.
"""

from __future__ import annotations

from clinical import classify

# Canonical units (clinical/metrics.py). Outside these ranges a value is invalid.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "heart_rate": (20, 300), "resting_heart_rate": (20, 250), "hrv": (1, 500),
    "weight": (2, 500), "height": (30, 272), "bmi": (8, 120), "spo2": (50, 100),
    "respiratory_rate": (3, 80), "body_temperature": (25, 45), "skin_temperature": (15, 45),
    "glucose": (10, 1500), "steps": (0, 150_000), "active_energy": (0, 20_000), "vo2max": (5, 100),
    "sleep_session": (0, 24), "workout": (0, 1440),
}
BP_SYSTOLIC, BP_DIASTOLIC = (50, 300), (20, 200)

BP_INTERPRETATION = {"normal": "normal", "elevated": "abnormal", "stage_1": "abnormal", "stage_2": "abnormal",
                     "crisis": "critical"}
GLUCOSE_INTERPRETATION = {"normal": "normal", "prediabetes": "abnormal", "diabetes": "abnormal",
                          "hypo_1": "abnormal", "hypo_2": "critical"}


def _band(value: float, normal: tuple[float, float], critical: tuple[float, float]) -> str:
    if value < critical[0] or value > critical[1]:
        return "critical"
    if value < normal[0] or value > normal[1]:
        return "abnormal"
    return "normal"


def interpret(metric: str, value: float, value2: float | None = None, context: str = "") -> tuple[str, str]:
    """(interpretation, category) for one reading in canonical units."""
    if metric == "blood_pressure":
        if (value2 is None or not BP_SYSTOLIC[0] <= value <= BP_SYSTOLIC[1]
                or not BP_DIASTOLIC[0] <= value2 <= BP_DIASTOLIC[1] or value <= value2):
            return "invalid", ""
        setting = context if context in classify.BP_SETTINGS else "office"
        category = classify.bp_category(value, value2, setting)
        return BP_INTERPRETATION[category], category
    low, high = PLAUSIBLE.get(metric, (float("-inf"), float("inf")))
    if not low <= value <= high:
        return "invalid", ""
    if metric == "glucose":
        category = classify.glucose_category(value, context if context in classify.GLUCOSE_CONTEXTS else "random")
        return GLUCOSE_INTERPRETATION[category], category
    if metric == "bmi":
        category = classify.bmi_category(value)
        return ("normal" if category == "normal" else "abnormal"), category
    # Common adult reference ranges (not a CLINICAL.md table): normal band, critical band.
    if metric == "spo2":
        return ("critical" if value < 90 else "abnormal" if value < 95 else "normal"), ""
    if metric == "resting_heart_rate":
        return _band(value, (50, 100), (40, 120)), ""
    if metric == "heart_rate":  # samples include exercise: only extremes are flagged
        return ("abnormal" if value < 40 or value > 180 else "normal"), ""
    if metric == "respiratory_rate":
        return _band(value, (12, 20), (8, 30)), ""
    if metric == "body_temperature":
        return _band(value, (36.0, 37.9), (35.0, 39.9)), ""
    return "normal", ""
