"""The rules engine (clinical/rules.py): each default rule fires on the data it
should and stays silent on the data it should not; missing; trends with the
slope test; thresholds from program settings; invalid readings ignored."""

import pytest

from clinical import rules
from clinical.models import ClinicalRule, Observation
from clinical.tests.alert_helpers import NOW, ago, bp, dailies, default_rule, reading
from mahalo.models import ProgramSetting, ProjectSetting

pytestmark = pytest.mark.django_db


def fires(world, code, patient=None, now=NOW):
    patient = patient or world.cardiac_patients[1]
    return rules.evaluate(default_rule(patient.program, code), patient, now)


# --- Hypertensive crisis ------------------------------------------------------------

@pytest.mark.parametrize("sys_, dia, context, expected", [
    (181, 100, "home", True),     # systolic > 180
    (150, 121, "office", True),   # diastolic > 120
    (180, 120, "home", False),    # on the line: > is strict (CLINICAL.md: > 180 / > 120)
    (179, 119, "", False),
    (200, 130, "cuffless", False),  # cuffless: never for management
])
def test_hypertensive_crisis(world, sys_, dia, context, expected):
    patient = world.cardiac_patients[1]
    bp(patient, sys_, dia, ago(hours=3), context=context)
    result = fires(world, "hypertensive_crisis", patient)
    assert result.fired is expected
    if expected:
        assert result.evidence[0]["value"] == sys_ and result.evidence[0]["value2"] == dia
        assert result.evidence[0]["category"] == "crisis"
        assert result.evidence[0]["unit"] == "mmHg"


def test_crisis_ignores_readings_outside_the_window_and_invalid_ones(world):
    patient = world.cardiac_patients[1]
    bp(patient, 195, 100, ago(days=3))                 # older than the 2-day window
    bp(patient, 290, 250, ago(hours=2))                # diastolic 250: impossible -> invalid
    assert Observation.objects.get(patient=patient, value=290).interpretation == "invalid"
    assert fires(world, "hypertensive_crisis", patient).fired is False
    bp(patient, 185, 95, ago(hours=1))
    result = fires(world, "hypertensive_crisis", patient)
    assert result.fired and [e["value"] for e in result.evidence] == [185]


def test_crisis_evidence_is_only_the_readings_that_crossed(world):
    patient = world.cardiac_patients[1]
    bp(patient, 140, 90, ago(hours=5))
    bp(patient, 186, 100, ago(hours=4))
    bp(patient, 170, 124, ago(hours=3))
    result = fires(world, "hypertensive_crisis", patient)
    assert sorted((e["value"], e["value2"]) for e in result.evidence) == [(170, 124), (186, 100)]
    assert result.numbers["crossed"] == 2 and result.numbers["count"] == 3


# --- Stage 2 trend (averages, home vs office) ------------------------------------------

def test_stage2_home_fires_on_a_home_average_at_135(world):
    patient = world.cardiac_patients[1]
    for i, (s, d) in enumerate([(134, 80), (136, 80), (135, 80)]):
        bp(patient, s, d, ago(days=i + 1), context="home")
    result = fires(world, "bp_stage2_home", patient)
    assert result.fired and result.numbers["mean"] == 135
    assert len(result.evidence) == 3


def test_stage2_home_silent_below_and_with_too_few_readings(world):
    patient = world.cardiac_patients[1]
    bp(patient, 134, 84, ago(days=1), context="home")
    bp(patient, 134, 84, ago(days=2), context="home")
    assert fires(world, "bp_stage2_home", patient).fired is False          # two readings: min_points 3
    bp(patient, 150, 95, ago(days=3), context="office")                   # office readings don't count at home
    assert fires(world, "bp_stage2_home", patient).fired is False
    bp(patient, 133, 84, ago(days=4), context="home")
    result = fires(world, "bp_stage2_home", patient)
    assert result.fired is False and result.numbers["mean"] < 135 and result.numbers["mean2"] < 85


def test_stage2_home_diastolic_average_alone_fires(world):
    patient = world.cardiac_patients[1]
    for i in range(3):
        bp(patient, 125, 85, ago(days=i + 1), context="home")
    assert fires(world, "bp_stage2_home", patient).fired is True


def test_stage2_office_uses_office_thresholds(world):
    patient = world.cardiac_patients[1]
    for i in range(3):
        bp(patient, 138, 88, ago(days=i + 1), context="office")   # stage 2 at home, not in the office
    assert fires(world, "bp_stage2_office", patient).fired is False
    bp(patient, 146, 92, ago(days=4), context="")                  # no context recorded = office
    result = fires(world, "bp_stage2_office", patient)
    assert result.fired and result.numbers["count"] == 4


# --- SpO2, hypoglycemia, weight ----------------------------------------------------------

@pytest.mark.parametrize("value, expected", [(89, True), (89.9, True), (90, False), (97, False)])
def test_spo2_below_90(world, value, expected):
    patient = world.cardiac_patients[1]
    reading(patient, "spo2", value, ago(hours=2))
    assert fires(world, "spo2_low", patient).fired is expected


@pytest.mark.parametrize("value, level1, level2", [
    (70, False, False), (69, True, False), (54, True, False), (53.9, False, True), (40, False, True),
])
def test_hypoglycemia_levels(world, value, level1, level2):
    patient = world.metabolic_patients[0]
    reading(patient, "glucose", value, ago(hours=2), context="fasting")
    assert fires(world, "hypoglycemia_level_1", patient).fired is level1
    assert fires(world, "hypoglycemia_level_2", patient).fired is level2


@pytest.mark.parametrize("series, expected", [
    ([(2.5, 80.0), (0.5, 82.5)], True),        # +2.5 kg in 2 days
    ([(2.5, 80.0), (0.5, 82.0)], False),       # exactly 2 kg: not more than 2
    ([(2.5, 83.0), (0.5, 80.0)], False),       # a loss
    ([(2.5, 81.0), (1.5, 79.0), (0.5, 81.5)], True),   # the rise is measured from the low
    ([(4.0, 80.0), (0.5, 83.0)], False),       # the low is outside the 3-day window
])
def test_weight_gain_in_three_days(world, series, expected):
    patient = world.cardiac_patients[1]
    for days, kg in series:
        reading(patient, "weight", kg, ago(days=days))
    result = fires(world, "weight_gain_3d", patient)
    assert result.fired is expected
    if expected:
        assert result.evidence[0]["value"] < result.evidence[1]["value"]
        assert result.evidence[0]["at"] < result.evidence[1]["at"]


def test_weight_rule_enabled_only_for_cardiac_programs(world):
    assert default_rule(world.cardiac, "weight_gain_3d").enabled is True
    assert default_rule(world.metabolic, "weight_gain_3d").enabled is False


def test_weight_rule_follows_the_program_setting(world):
    from patients.tests.factories import ProgramFactory

    ProgramSetting.objects.none()
    heart = ProgramFactory(project=world.project, name="Heart Failure Clinic")
    ProgramSetting.objects.create(program=heart, key="rules.cardiac_rehab", value="true")
    assert default_rule(heart, "weight_gain_3d").enabled is True


# --- Trends: the slope test ------------------------------------------------------------------

BASELINE_RHR = {d: 60 for d in range(7, 35)}   # 28 days before the 7-day window


def test_resting_hr_trend_up_fires(world):
    patient = world.cardiac_patients[1]
    dailies(patient, {**BASELINE_RHR, 6: 63, 5: 64, 4: 66, 3: 67, 2: 69, 1: 70, 0: 72}, "resting_hr")
    result = fires(world, "resting_hr_trend_up", patient)
    assert result.fired, result.numbers
    assert result.numbers["slope_per_day"] == pytest.approx(1.5)  # sum(dx*dy)=42 over sum(dx^2)=28
    assert result.numbers["baseline_mean"] == 60
    assert result.numbers["change_pct"] > 10
    assert len(result.evidence) == 7 and result.evidence[0]["source"] == "oura"


def test_resting_hr_trend_silent_with_too_few_points(world):
    patient = world.cardiac_patients[1]
    dailies(patient, {**BASELINE_RHR, 2: 70, 1: 75, 0: 80}, "resting_hr")   # 3 days < min_points 4
    result = fires(world, "resting_hr_trend_up", patient)
    assert result.fired is False and "too few" in result.numbers["reason"]


def test_resting_hr_high_but_falling_is_not_a_rising_trend(world):
    patient = world.cardiac_patients[1]
    dailies(patient, {**BASELINE_RHR, 6: 80, 5: 78, 4: 76, 3: 75, 2: 73, 1: 72, 0: 70}, "resting_hr")
    result = fires(world, "resting_hr_trend_up", patient)
    assert result.fired is False and result.numbers["slope_per_day"] < 0 and result.numbers["change_pct"] > 10


def test_resting_hr_rising_within_normal_variation_is_silent(world):
    patient = world.cardiac_patients[1]
    dailies(patient, {**BASELINE_RHR, 6: 58, 5: 59, 4: 60, 3: 61, 2: 62, 1: 63, 0: 64}, "resting_hr")
    result = fires(world, "resting_hr_trend_up", patient)
    assert result.fired is False and result.numbers["slope_per_day"] > 0.5 and result.numbers["change_pct"] < 10


def test_trend_without_a_baseline_is_silent(world):
    patient = world.cardiac_patients[1]
    dailies(patient, {6: 60, 5: 64, 4: 68, 3: 72, 2: 76, 1: 80, 0: 84}, "resting_hr")
    result = fires(world, "resting_hr_trend_up", patient)
    assert result.fired is False and "baseline" in result.numbers["reason"]


HRV_BASE = {d: 50 for d in range(7, 35)}
HRV_FALLING = {6: 48, 5: 46, 4: 44, 3: 42, 2: 40, 1: 38, 0: 36}   # mean 42: -16 % vs 50


def test_hrv_trend_down_fires_and_program_setting_overrides_the_threshold(world):
    patient = world.cardiac_patients[1]
    dailies(patient, {**HRV_BASE, **HRV_FALLING}, "hrv_ms")
    result = fires(world, "hrv_trend_down", patient)
    assert result.fired and result.numbers["threshold"] == 15 and result.numbers["change_pct"] == -16
    ProjectSetting.objects.create(project=world.project, key="rules.hrv_drop_pct", value="12")
    ProgramSetting.objects.create(program=world.cardiac, key="rules.hrv_drop_pct", value="20")
    result = fires(world, "hrv_trend_down", patient)
    assert result.fired is False and result.numbers["threshold"] == 20   # the program's value wins
    ProgramSetting.objects.filter(program=world.cardiac).delete()
    assert fires(world, "hrv_trend_down", patient).numbers["threshold"] == 12


def test_hrv_never_mixes_methods(world):
    patient = world.cardiac_patients[1]
    # Baseline RMSSD from the ring; the window only from a watch reporting SDNN (much lower numbers).
    dailies(patient, HRV_BASE, "hrv_ms", source="oura", method="rmssd")
    dailies(patient, {6: 35, 5: 34, 4: 33, 3: 32, 2: 31, 1: 30, 0: 29}, "hrv_ms", source="apple_health",
            method="sdnn")
    result = fires(world, "hrv_trend_down", patient)
    assert result.fired is False
    # Comparing SDNN 29-35 against an RMSSD 50 baseline would have been a -36 % "drop".
    # The SDNN days are not RMSSD days: the window has none, so no change is computed at all.
    assert result.numbers["points"] == 0 and "change_pct" not in result.numbers


def test_trend_falls_back_to_observations_without_daily_values(world):
    patient = world.cardiac_patients[1]
    for back in range(7, 35):
        reading(patient, "resting_heart_rate", 60, ago(days=back), source="patient")
    for back, value in {6: 63, 5: 64, 4: 66, 3: 67, 2: 69, 1: 70, 0: 72}.items():
        reading(patient, "resting_heart_rate", value, ago(days=back, hours=-0.1) if back == 0 else ago(days=back),
                source="patient")
    assert fires(world, "resting_hr_trend_up", patient).fired is True


def test_slope_is_least_squares_per_day():
    assert rules.slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2)
    assert rules.slope([0, 1, 3], [10, 9, 7]) == pytest.approx(-1)
    with pytest.raises(ValueError):
        rules.slope([1], [1])


# --- Missing ----------------------------------------------------------------------------------

def test_no_data_fires_after_three_silent_days(world):
    patient = world.cardiac_patients[1]
    reading(patient, "heart_rate", 70, ago(days=4))
    result = fires(world, "no_data_3d", patient)
    assert result.fired and "3 days" in result.summary


def test_no_data_silent_with_recent_device_data(world):
    patient = world.cardiac_patients[1]
    reading(patient, "heart_rate", 70, ago(days=4))
    dailies(patient, {1: 8000}, "steps")
    assert fires(world, "no_data_3d", patient).fired is False


def test_no_data_silent_for_a_patient_who_never_sent_any(world):
    assert fires(world, "no_data_3d", world.cardiac_patients[2]).fired is False


def test_patient_entered_values_are_not_device_data(world):
    patient = world.cardiac_patients[1]
    reading(patient, "heart_rate", 70, ago(days=5))
    reading(patient, "weight", 80, ago(days=1), source="patient")
    assert fires(world, "no_data_3d", patient).fired is True


def test_missing_for_one_metric(world):
    patient = world.cardiac_patients[1]
    rule = ClinicalRule.objects.create(project=world.project, program=world.cardiac, code="no_bp", name="No BP",
                                       metric="bp_systolic", condition="missing", window_days=7)
    bp(patient, 120, 80, ago(days=10))
    reading(patient, "weight", 80, ago(days=1))
    assert rules.evaluate(rule, patient, NOW).fired is True
    bp(patient, 120, 80, ago(days=2))
    assert rules.evaluate(rule, patient, NOW).fired is False


# --- Thresholds and components -------------------------------------------------------------------

def test_threshold_setting_program_overrides_project(world):
    patient = world.cardiac_patients[1]
    rule = default_rule(world.cardiac, "spo2_low")
    rule.threshold_setting = "rules.spo2_low"
    rule.save()
    reading(patient, "spo2", 91, ago(hours=1))
    assert rules.evaluate(rule, patient, NOW).fired is False
    ProjectSetting.objects.create(project=world.project, key="rules.spo2_low", value="92")
    assert rules.evaluate(rule, patient, NOW).fired is True
    ProgramSetting.objects.create(program=world.cardiac, key="rules.spo2_low", value="88")
    assert rules.evaluate(rule, patient, NOW).fired is False


def test_bp_component_metrics(world):
    patient = world.cardiac_patients[1]
    dia = ClinicalRule.objects.create(project=world.project, code="dia", name="Diastolic >= 100",
                                      metric="bp_diastolic", condition=">=", threshold=100, window_days=2)
    bp(patient, 150, 99, ago(hours=2))
    assert rules.evaluate(dia, patient, NOW).fired is False
    bp(patient, 130, 100, ago(hours=1))
    result = rules.evaluate(dia, patient, NOW)
    assert result.fired and result.evidence[0]["value"] == 100 and "value2" not in result.evidence[0]


def test_evaluate_writes_nothing(world):
    from clinical.models import Alert, RuleExecution

    patient = world.cardiac_patients[1]
    bp(patient, 200, 100, ago(hours=1))
    assert fires(world, "hypertensive_crisis", patient).fired
    assert not Alert.objects.exists() and not RuleExecution.objects.exists()
