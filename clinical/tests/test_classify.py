"""Every row of CLINICAL.md's tables, at and around each boundary."""

import pytest

from clinical.classify import (
    a1c_category,
    bmi,
    bmi_category,
    bp_category,
    gad7_severity,
    glucose_category,
    phq9_severity,
)


@pytest.mark.parametrize(("sys", "dia", "expected"), [
    (119, 79, "normal"), (90, 60, "normal"), (119.9, 79.9, "normal"),
    (120, 79, "elevated"), (129, 79, "elevated"), (129.9, 70, "elevated"),
    (130, 79, "stage_1"), (139, 70, "stage_1"), (139.9, 79, "stage_1"),
    (119, 80, "stage_1"), (110, 89, "stage_1"), (125, 85, "stage_1"),
    (140, 70, "stage_2"), (180, 80, "stage_2"), (118, 90, "stage_2"), (150, 120, "stage_2"),
    (181, 80, "crisis"), (120, 121, "crisis"), (200, 130, "crisis"),
    # the higher category applies when the two disagree
    (121, 95, "stage_2"), (135, 60, "stage_1"), (185, 60, "crisis"),
])
def test_bp_office(sys, dia, expected):
    assert bp_category(sys, dia) == expected
    assert bp_category(sys, dia, setting="office") == expected


@pytest.mark.parametrize(("sys", "dia", "expected"), [
    (119, 79, "normal"),
    (120, 79, "elevated"), (129, 79, "elevated"),
    (130, 79, "stage_1"), (134, 79, "stage_1"), (134.9, 70, "stage_1"), (110, 80, "stage_1"), (110, 84, "stage_1"),
    (135, 70, "stage_2"), (110, 85, "stage_2"), (139, 70, "stage_2"), (145, 90, "stage_2"), (180, 119, "stage_2"),
    (181, 70, "crisis"), (130, 121, "crisis"),
])
def test_bp_home_thresholds(sys, dia, expected):
    assert bp_category(sys, dia, setting="home") == expected
    assert bp_category(sys, dia, setting="cuffless") == expected


def test_bp_office_and_home_differ_where_the_guideline_says():
    assert bp_category(136, 70, "office") == "stage_1" and bp_category(136, 70, "home") == "stage_2"
    assert bp_category(120, 86, "office") == "stage_1" and bp_category(120, 86, "home") == "stage_2"
    with pytest.raises(ValueError):
        bp_category(120, 80, "clinic")


@pytest.mark.parametrize(("value", "expected"), [
    (12, "severe_thinness"), (15.99, "severe_thinness"),
    (16, "moderate_thinness"), (16.99, "moderate_thinness"),
    (17, "mild_thinness"), (18.49, "mild_thinness"),
    (18.5, "normal"), (24.99, "normal"),
    (25, "pre_obese"), (29.99, "pre_obese"),
    (30, "obese_1"), (34.99, "obese_1"),
    (35, "obese_2"), (39.99, "obese_2"),
    (40, "obese_3"), (55, "obese_3"),
])
def test_bmi_who(value, expected):
    assert bmi_category(value) == expected


def test_bmi_formula():
    assert bmi(70, 175) == pytest.approx(22.857, abs=1e-3)
    assert bmi_category(bmi(92.0, 175)) == "obese_1"  # 30.04


@pytest.mark.parametrize(("mg_dl", "context", "expected"), [
    (53, "fasting", "hypo_2"), (53.9, "random", "hypo_2"), (40, "post_meal", "hypo_2"),
    (54, "fasting", "hypo_1"), (69, "random", "hypo_1"), (69.9, "post_meal", "hypo_1"),
    (70, "fasting", "normal"), (99, "fasting", "normal"),
    (100, "fasting", "prediabetes"), (125, "fasting", "prediabetes"),
    (126, "fasting", "diabetes"), (180, "fasting", "diabetes"),
    (139, "post_meal", "normal"), (140, "post_meal", "prediabetes"), (199, "post_meal", "prediabetes"),
    (200, "post_meal", "diabetes"),
    (70, "random", "normal"), (199, "random", "normal"), (200, "random", "diabetes"),
])
def test_glucose_ada(mg_dl, context, expected):
    assert glucose_category(mg_dl, context) == expected


def test_glucose_unknown_context():
    with pytest.raises(ValueError):
        glucose_category(100, "after_lunch")


@pytest.mark.parametrize(("percent", "expected"), [
    (5.0, "normal"), (5.69, "normal"), (5.7, "prediabetes"), (6.4, "prediabetes"), (6.49, "prediabetes"),
    (6.5, "diabetes"), (9.1, "diabetes"),
])
def test_a1c_ada(percent, expected):
    assert a1c_category(percent) == expected


@pytest.mark.parametrize(("total", "expected"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe"),
])
def test_phq9(total, expected):
    assert phq9_severity(total) == expected


@pytest.mark.parametrize(("total", "expected"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "severe"), (21, "severe"),
])
def test_gad7(total, expected):
    assert gad7_severity(total) == expected


@pytest.mark.parametrize("bad", [-1, 28, 3.5, True, None])
def test_phq9_out_of_range(bad):
    with pytest.raises(ValueError):
        phq9_severity(bad)


@pytest.mark.parametrize("bad", [-1, 22, 2.0])
def test_gad7_out_of_range(bad):
    with pytest.raises(ValueError):
        gad7_severity(bad)
