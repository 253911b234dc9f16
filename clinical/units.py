"""Units people type -> each metric's canonical unit (clinical/metrics.py), through pint.

Two layers, on purpose:
- an allow-list per metric of the spellings we accept ("lb", "°F", "mmol/L"...),
  each mapped to a pint expression. A unit that is not on the metric's list is
  refused, even when pint could convert it: "count" and "%" are both
  dimensionless to pint, and 95 "count" of SpO2 would silently become 9,500 %.
- pint does the arithmetic, including offset units (°F -> °C is not a factor).

Glucose is the exception pint can't know: mg/dL (mass) and mmol/L (amount of
substance) differ by glucose's molar mass, and CLINICAL.md fixes the factor:
mmol/L = mg/dL ÷ 18.016. That conversion is done here with exactly that factor.
"""

from __future__ import annotations

import math
from functools import cache

from clinical.metrics import METRICS, Metric

# CLINICAL.md (ADA): mmol/L = mg/dL / 18.016. Not pint's job: it needs a molar mass.
GLUCOSE_MG_DL_PER_MMOL_L = 18.016
_GLUCOSE_MMOL = "glucose-mmol/L"  # marker: handled by the factor above, not by pint

# Float noise from unit arithmetic (98.6 °F -> 37.00000000000006 °C) would push a value
# across a table boundary it sits on; 6 decimals is far beyond any meter's precision.
DECIMALS = 6

_TEMPERATURE = {"Cel": "degC", "°C": "degC", "C": "degC", "degC": "degC", "celsius": "degC",
                "°F": "degF", "F": "degF", "degF": "degF", "[degF]": "degF", "fahrenheit": "degF"}
_PER_MINUTE = {"/min": "1/minute", "1/min": "1/minute", "per min": "1/minute", "count/min": "1/minute"}

# metric -> {accepted spelling: pint expression}. The canonical unit is always accepted.
ACCEPTED: dict[str, dict[str, str]] = {
    "heart_rate": {"bpm": "1/minute", "beats/min": "1/minute", **_PER_MINUTE},
    "resting_heart_rate": {"bpm": "1/minute", "beats/min": "1/minute", **_PER_MINUTE},
    "respiratory_rate": {"breaths/min": "1/minute", "rpm": "1/minute", **_PER_MINUTE},
    "hrv": {"ms": "millisecond", "s": "second"},
    "blood_pressure": {"mmHg": "mmHg", "mm[Hg]": "mmHg", "kPa": "kilopascal"},
    "weight": {"kg": "kilogram", "lb": "pound", "lbs": "pound", "g": "gram", "st": "stone"},
    "height": {"cm": "centimeter", "m": "meter", "mm": "millimeter", "in": "inch", "ft": "foot"},
    "bmi": {"kg/m2": "kilogram/meter**2", "kg/m²": "kilogram/meter**2"},
    "spo2": {"%": "percent"},
    "body_temperature": dict(_TEMPERATURE),
    "skin_temperature": dict(_TEMPERATURE),
    "glucose": {"mg/dL": "milligram/deciliter", "mmol/L": _GLUCOSE_MMOL},
    "steps": {"count": "count", "steps": "count"},
    # "Cal" (food calorie) is a kilocalorie, "cal" a calorie: case matters here.
    "active_energy": {"kcal": "kilocalorie", "Cal": "kilocalorie", "cal": "calorie", "kJ": "kilojoule"},
    "vo2max": {"mL/kg/min": "milliliter/kilogram/minute"},
    "sleep_session": {"h": "hour", "min": "minute"},
    "workout": {"min": "minute", "h": "hour"},
    # Questionnaire scores (written by assessments): points, nothing to convert.
    **{m: {"points": "dimensionless"} for m in ("phq9_total", "phq2_total", "gad7_total", "safety_answer")},
}

# What the entry forms offer, per metric: (value sent, label shown). Canonical first.
ENTRY_UNITS: dict[str, list[tuple[str, str]]] = {
    "blood_pressure": [("mmHg", "mmHg")],
    "heart_rate": [("bpm", "bpm")],
    "resting_heart_rate": [("bpm", "bpm")],
    "respiratory_rate": [("/min", "breaths/min")],
    "spo2": [("%", "%")],
    "body_temperature": [("Cel", "°C"), ("°F", "°F")],
    "weight": [("kg", "kg"), ("lb", "lb")],
    "glucose": [("mg/dL", "mg/dL"), ("mmol/L", "mmol/L")],
}

_CASE_SENSITIVE = {"active_energy"}

UNIT_LABELS = {"Cel": "°C", "/min": "/min", "kg/m2": "kg/m²", "count": ""}


class UnitError(ValueError):
    """The unit can't be used for this metric (unknown, or the wrong kind of quantity)."""


@cache
def registry():
    """One pint registry per process (building it parses pint's definitions file)."""
    import pint

    return pint.UnitRegistry()


def _pint_unit(metric: str, unit: str) -> str:
    accepted = ACCEPTED.get(metric, {})
    spelled = (unit or "").strip()
    if spelled in accepted:
        return accepted[spelled]
    # Case only where it carries no meaning ("KG", "mg/dl"); energy keeps its case (Cal vs cal).
    if metric not in _CASE_SENSITIVE:
        folded: dict[str, list[str]] = {}
        for name, expression in accepted.items():
            folded.setdefault(name.lower(), []).append(expression)
        if len(folded.get(spelled.lower(), [])) == 1:
            return folded[spelled.lower()][0]
    choices = ", ".join(accepted) or METRICS[metric].unit
    label = METRICS[metric].label.lower()
    if not spelled:
        raise UnitError(f"Give the unit for {label}: {choices}.")
    raise UnitError(f"“{spelled[:20]}” is not a unit for {label}. Use {choices}.")


def check_unit(metric: str, unit: str) -> None:
    """Raise UnitError unless `unit` is accepted for `metric`."""
    if metric not in METRICS:
        raise UnitError(f"Unknown metric {metric!r}.")
    _pint_unit(metric, unit)


def to_canonical(metric: str, value: float, unit: str) -> float:
    """`value` in `unit` -> the metric's canonical unit. Raises UnitError for an unknown
    metric or a unit that isn't one of the metric's, ValueError for a non-finite value."""
    if metric not in METRICS:
        raise UnitError(f"Unknown metric {metric!r}.")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    source = _pint_unit(metric, unit)
    if source == _GLUCOSE_MMOL:
        return round(value * GLUCOSE_MG_DL_PER_MMOL_L, DECIMALS)
    target = ACCEPTED[metric][METRICS[metric].unit]
    if source == target:
        return float(value)
    ureg = registry()
    converted = ureg.Quantity(value, source).to(target).magnitude
    return round(float(converted), DECIMALS)


def from_canonical(metric: str, value: float, unit: str) -> float:
    """The inverse, for showing a stored value in the unit a person prefers."""
    source = _pint_unit(metric, unit)
    if source == _GLUCOSE_MMOL:
        return round(value / GLUCOSE_MG_DL_PER_MMOL_L, DECIMALS)
    canonical = ACCEPTED[metric][METRICS[metric].unit]
    if source == canonical:
        return float(value)
    return round(float(registry().Quantity(value, canonical).to(source).magnitude), DECIMALS)


def mg_dl_to_mmol_l(mg_dl: float) -> float:
    return mg_dl / GLUCOSE_MG_DL_PER_MMOL_L


def label(unit: str) -> str:
    """A canonical unit as people read it (Cel -> °C)."""
    return UNIT_LABELS.get(unit, unit)


def register_metric(code: str, label: str, unit: str, loinc: str = "", *, pint_unit: str = "") -> Metric:
    """A metric another app writes as observations (nutrition's day totals): added to the catalogue
    (clinical/metrics.py) and its canonical unit to the accepted units (`pint_unit`, pint's name for it).
    Lives here because this module owns ACCEPTED and already imports the catalogue. The model's `metric`
    choices are not touched, so no migration; a code already known is left as it is. Such metrics are
    `derived` (computed by the app, not measured), which is how alert summaries word them."""
    metric = METRICS.setdefault(code, Metric(code, label, unit, loinc or "mahalo-" + code.replace("_", "-"),
                                             derived=True))
    ACCEPTED.setdefault(code, {unit: pint_unit or unit})
    return metric
