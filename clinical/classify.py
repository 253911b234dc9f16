"""The published clinical tables of CLINICAL.md as pure functions returning slugs.

Decision support, not diagnosis: each function names its source, and callers show
it next to the category. Values are compared as numbers (a systolic of 139.5 is
below 140); boundaries follow the tables exactly and are tested at and around
every edge in clinical/tests/test_classify.py.
"""

from __future__ import annotations

BP_SOURCE = "ACC/AHA 2017 (kept by the 2025 guideline); home thresholds: 2025 guideline table 7"
BMI_SOURCE = "WHO TRS 894"
GLUCOSE_SOURCE = "ADA Standards of Care 2025"
PHQ9_SOURCE = "PHQ-9 (Kroenke 2001)"
GAD7_SOURCE = "GAD-7 (Spitzer 2006)"

BP_ORDER = ("normal", "elevated", "stage_1", "stage_2", "crisis")
BP_SETTINGS = ("office", "home", "cuffless")


def bp_category(systolic: float, diastolic: float, setting: str = "office") -> str:
    """ACC/AHA category; when systolic and diastolic disagree the higher one applies.

    Home (and cuffless, which is also out-of-office) readings use the lower home
    thresholds: stage 1 130-134 or 80-84, stage 2 >= 135 or >= 85. The crisis line
    (> 180 and/or > 120) is the same everywhere. Cuffless readings are classified
    for display only; the guideline says they are not for diagnosis or management.
    """
    if setting not in BP_SETTINGS:
        raise ValueError(f"unknown BP setting {setting!r}")
    stage_2_sys, stage_2_dia = (140, 90) if setting == "office" else (135, 85)
    if systolic > 180 or diastolic > 120:
        return "crisis"
    if systolic >= stage_2_sys or diastolic >= stage_2_dia:
        return "stage_2"
    if systolic >= 130 or diastolic >= 80:
        return "stage_1"
    if systolic >= 120:
        return "elevated"
    return "normal"


def bmi(weight_kg: float, height_cm: float) -> float:
    height_m = height_cm / 100
    return weight_kg / (height_m * height_m)


def bmi_category(value: float) -> str:
    if value < 16:
        return "severe_thinness"
    if value < 17:
        return "moderate_thinness"
    if value < 18.5:
        return "mild_thinness"
    if value < 25:
        return "normal"
    if value < 30:
        return "pre_obese"
    if value < 35:
        return "obese_1"
    if value < 40:
        return "obese_2"
    return "obese_3"


GLUCOSE_CONTEXTS = ("fasting", "post_meal", "random")
MMOL_PER_MG_DL = 1 / 18.016


def glucose_category(mg_dl: float, context: str = "random") -> str:
    """Hypoglycemia first (any context): level 2 < 54, level 1 54-69. Then ADA:
    fasting 100-125 prediabetes, >= 126 diabetes; 2 h after a meal (OGTT) 140-199
    prediabetes, >= 200 diabetes; random >= 200 diabetes (with symptoms)."""
    if context not in GLUCOSE_CONTEXTS:
        raise ValueError(f"unknown glucose context {context!r}")
    if mg_dl < 54:
        return "hypo_2"
    if mg_dl < 70:
        return "hypo_1"
    if context == "fasting":
        return "diabetes" if mg_dl >= 126 else "prediabetes" if mg_dl >= 100 else "normal"
    if context == "post_meal":
        return "diabetes" if mg_dl >= 200 else "prediabetes" if mg_dl >= 140 else "normal"
    return "diabetes" if mg_dl >= 200 else "normal"


def a1c_category(percent: float) -> str:
    if percent >= 6.5:
        return "diabetes"
    if percent >= 5.7:
        return "prediabetes"
    return "normal"


def _total(total: int, top: int, name: str) -> int:
    if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= top:
        raise ValueError(f"{name} total must be a whole number from 0 to {top}")
    return total


def phq9_severity(total: int) -> str:
    total = _total(total, 27, "PHQ-9")
    if total <= 4:
        return "minimal"
    if total <= 9:
        return "mild"
    if total <= 14:
        return "moderate"
    if total <= 19:
        return "moderately_severe"
    return "severe"


def gad7_severity(total: int) -> str:
    total = _total(total, 21, "GAD-7")
    if total <= 4:
        return "minimal"
    if total <= 9:
        return "mild"
    if total <= 14:
        return "moderate"
    return "severe"
