"""clinical.units: what people type -> canonical units (pint; glucose by CLINICAL.md's factor)."""

import pytest

from clinical import units
from clinical.metrics import METRICS


def test_pounds_become_kilograms_exactly():
    # The international pound is exactly 0.45359237 kg.
    assert units.to_canonical("weight", 150, "lb") == pytest.approx(150 * 0.45359237, abs=1e-6)
    assert units.to_canonical("weight", 200, "lbs") == pytest.approx(90.718474, abs=1e-6)
    assert units.to_canonical("weight", 70, "kg") == 70


def test_fahrenheit_is_an_offset_unit_not_a_factor():
    assert units.to_canonical("body_temperature", 98.6, "°F") == 37.0
    assert units.to_canonical("body_temperature", 32, "F") == 0.0
    assert units.to_canonical("body_temperature", 212, "degF") == 100.0
    assert units.to_canonical("body_temperature", 37.2, "°C") == 37.2
    assert units.to_canonical("body_temperature", 37.2, "Cel") == 37.2


def test_lengths():
    assert units.to_canonical("height", 70, "in") == pytest.approx(177.8)
    assert units.to_canonical("height", 1.8, "m") == pytest.approx(180.0)
    assert units.to_canonical("height", 6, "ft") == pytest.approx(182.88)


def test_glucose_uses_the_clinical_md_factor_not_a_molar_mass_guess():
    assert units.GLUCOSE_MG_DL_PER_MMOL_L == 18.016
    assert units.to_canonical("glucose", 7.0, "mmol/L") == pytest.approx(126.112, abs=1e-9)
    assert units.to_canonical("glucose", 1.0, "mmol/L") == pytest.approx(18.016, abs=1e-9)
    assert units.to_canonical("glucose", 110, "mg/dL") == 110
    assert units.from_canonical("glucose", 126.112, "mmol/L") == pytest.approx(7.0)
    assert units.mg_dl_to_mmol_l(180.16) == pytest.approx(10.0)


def test_pressure_rates_and_percent():
    assert units.to_canonical("blood_pressure", 16, "kPa") == pytest.approx(120.0099, abs=1e-3)
    assert units.to_canonical("blood_pressure", 120, "mmHg") == 120
    assert units.to_canonical("heart_rate", 72, "bpm") == 72
    assert units.to_canonical("respiratory_rate", 16, "breaths/min") == 16
    assert units.to_canonical("spo2", 97, "%") == 97
    assert units.to_canonical("active_energy", 4.184, "kJ") == pytest.approx(1.0)


def test_case_is_forgiven_where_it_means_nothing():
    assert units.to_canonical("weight", 70, "KG") == 70
    assert units.to_canonical("glucose", 100, "mg/dl") == 100


@pytest.mark.parametrize(("metric", "unit"), [
    ("weight", "mmHg"),      # wrong kind of quantity
    ("spo2", "count"),       # dimensionless to pint, still wrong
    ("glucose", "g"),
    ("body_temperature", "K2"),
    ("heart_rate", "furlongs"),
    ("weight", ""),
])
def test_unknown_or_incompatible_units_are_refused_clearly(metric, unit):
    with pytest.raises(units.UnitError) as exc:
        units.to_canonical(metric, 1.0, unit)
    assert METRICS[metric].label.lower() in str(exc.value)


def test_unknown_metric_and_non_numbers_are_refused():
    with pytest.raises(units.UnitError):
        units.to_canonical("mood", 3, "points")
    for bad in (float("nan"), float("inf"), True, "12"):
        with pytest.raises(ValueError):
            units.to_canonical("weight", bad, "kg")


def test_every_metric_accepts_its_canonical_unit():
    for code, metric in METRICS.items():
        assert units.to_canonical(code, 1.5, metric.unit) == 1.5
