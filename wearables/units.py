"""Unit conversion into each metric's canonical unit (clinical/metrics.py), and the
physically possible range of each metric in that unit.

A small explicit table rather than a units library (pint is not installed): the
companion apps send a handful of units (Health Connect and Samsung Health use SI
or US customary), and every factor here is exact or a published constant.
Unknown units are refused, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable

from clinical.metrics import METRICS

LB_KG = 0.45359237            # exact (international pound)
IN_CM = 2.54                  # exact
KCAL_KJ = 4.184               # thermochemical calorie, exact
KPA_MMHG = 760 / 101.325      # 1 atm = 101.325 kPa = 760 mmHg
GLUCOSE_MGDL_PER_MMOLL = 18.016  # CLINICAL.md: mmol/L = mg/dL ÷ 18.016


def _scale(factor: float) -> Callable[[float], float]:
    return lambda v: v * factor


_SAME = _scale(1.0)

# Canonical unit -> {unit as sent: conversion into the canonical unit}.
_TABLE: dict[str, dict[str, Callable[[float], float]]] = {
    "bpm": {"bpm": _SAME, "/min": _SAME, "1/min": _SAME, "beats/min": _SAME, "count/min": _SAME},
    "ms": {"ms": _SAME, "s": _scale(1000.0)},
    "mmHg": {"mmHg": _SAME, "mm[Hg]": _SAME, "kPa": _scale(KPA_MMHG)},
    "kg": {"kg": _SAME, "g": _scale(0.001), "lb": _scale(LB_KG), "lbs": _scale(LB_KG), "st": _scale(14 * LB_KG)},
    "cm": {"cm": _SAME, "m": _scale(100.0), "mm": _scale(0.1), "in": _scale(IN_CM), "ft": _scale(12 * IN_CM)},
    "kg/m2": {"kg/m2": _SAME, "kg/m²": _SAME},
    "%": {"%": _SAME},
    "/min": {"/min": _SAME, "1/min": _SAME, "breaths/min": _SAME, "rpm": _SAME},
    "Cel": {"Cel": _SAME, "°C": _SAME, "C": _SAME, "degC": _SAME,
            "°F": lambda v: (v - 32) * 5 / 9, "F": lambda v: (v - 32) * 5 / 9, "degF": lambda v: (v - 32) * 5 / 9,
            "K": lambda v: v - 273.15},
    "mg/dL": {"mg/dL": _SAME, "mmol/L": _scale(GLUCOSE_MGDL_PER_MMOLL)},
    "count": {"count": _SAME, "steps": _SAME, "{steps}": _SAME},
    "kcal": {"kcal": _SAME, "Cal": _SAME, "kJ": _scale(1 / KCAL_KJ), "J": _scale(1 / (KCAL_KJ * 1000)),
             "cal": _scale(0.001)},
    "mL/kg/min": {"mL/kg/min": _SAME, "mL/(kg.min)": _SAME, "mL/(kg·min)": _SAME},
    "h": {"h": _SAME, "hr": _SAME, "min": _scale(1 / 60), "s": _scale(1 / 3600), "ms": _scale(1 / 3_600_000)},
    "min": {"min": _SAME, "h": _scale(60.0), "hr": _scale(60.0), "s": _scale(1 / 60)},
}


def _folded(units: dict) -> dict:
    """Case-insensitive aliases, except where case carries meaning (Cal vs cal, ms vs Ms...)."""
    seen: dict[str, list[str]] = {}
    for unit in units:
        seen.setdefault(unit.lower(), []).append(unit)
    return {low: units[names[0]] for low, names in seen.items() if len(names) == 1}


_FOLDED = {canonical: _folded(units) for canonical, units in _TABLE.items()}

# Physically possible values, in canonical units (value, and value2 for BP diastolic).
RANGES: dict[str, tuple[float, float]] = {
    "heart_rate": (20, 300), "resting_heart_rate": (20, 250), "hrv": (1, 500),
    "blood_pressure": (40, 300), "weight": (0.5, 500), "height": (20, 280), "bmi": (5, 150),
    "spo2": (30, 100), "respiratory_rate": (1, 100), "body_temperature": (25, 45),
    "skin_temperature": (10, 45), "glucose": (10, 1500), "steps": (0, 200_000),
    "active_energy": (0, 20_000), "vo2max": (5, 100), "sleep_session": (0, 24), "workout": (0, 1440),
}
DIASTOLIC_RANGE = (20, 200)


class UnitError(ValueError):
    pass


def to_canonical(metric: str, value: float, unit: str) -> float:
    """`value` in `unit` -> the metric's canonical unit. Raises UnitError for a unit that
    can't be converted (a mass sent for a heart rate, an unknown spelling)."""
    canonical = METRICS[metric].unit
    unit = (unit or "").strip()
    convert = _TABLE[canonical].get(unit) or _FOLDED[canonical].get(unit.lower())
    if convert is None:
        accepted = ", ".join(sorted(_TABLE[canonical]))
        raise UnitError(f"{unit!r} can't be converted to {canonical} (accepted: {accepted}).")
    return convert(value)


def in_range(metric: str, value: float, *, diastolic: bool = False) -> bool:
    low, high = DIASTOLIC_RANGE if diastolic else RANGES[metric]
    return low <= value <= high
