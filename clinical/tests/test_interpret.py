"""Write-time classification: invalid kept apart from abnormal and critical."""

import pytest

from clinical.interpret import interpret


@pytest.mark.parametrize(("args", "expected"), [
    (("blood_pressure", 118, 76), ("normal", "normal")),
    (("blood_pressure", 136, 70), ("abnormal", "stage_1")),
    (("blood_pressure", 136, 70, "home"), ("abnormal", "stage_2")),
    (("blood_pressure", 185, 100), ("critical", "crisis")),
    (("blood_pressure", 1200, 80), ("invalid", "")),      # mistyped
    (("blood_pressure", 80, 120), ("invalid", "")),       # diastolic above systolic
    (("blood_pressure", 120, None), ("invalid", "")),
    (("glucose", 50, None, "fasting"), ("critical", "hypo_2")),
    (("glucose", 60, None, "random"), ("abnormal", "hypo_1")),
    (("glucose", 110, None, "fasting"), ("abnormal", "prediabetes")),
    (("glucose", 90, None, "fasting"), ("normal", "normal")),
    (("glucose", 5, None, "fasting"), ("invalid", "")),
    (("bmi", 22.0), ("normal", "normal")),
    (("bmi", 31.0), ("abnormal", "obese_1")),
    (("spo2", 89.9), ("critical", "")), (("spo2", 93), ("abnormal", "")), (("spo2", 97), ("normal", "")),
    (("spo2", 120), ("invalid", "")),
    (("resting_heart_rate", 38), ("critical", "")), (("resting_heart_rate", 62), ("normal", "")),
    (("heart_rate", 165), ("normal", "")), (("heart_rate", 400), ("invalid", "")),
    (("body_temperature", 38.4), ("abnormal", "")), (("body_temperature", 40.5), ("critical", "")),
    (("body_temperature", 98.6), ("invalid", "")),  # Fahrenheit typed as Celsius
    (("weight", 80), ("normal", "")), (("weight", 0), ("invalid", "")),
])
def test_interpret(args, expected):
    assert interpret(*args) == expected
