"""Readings a patient reports in a message ("BP was 150/95 this morning"), found so staff can
turn one into an observation in two clicks (issue 21 item 9): the thread shows "Record
150/95 mmHg as a reading" (click 1), which opens the Vitals tab's entry form filled in from
the message; saving it (click 2) goes through the Vitals form and so `clinical.ingest`, the
one writer. Nothing is stored from here: a person checks every value before it is saved.

Pure text matching, kept deliberately narrow (a false suggestion costs a glance; a value
misread into the record would cost more, which is why saving stays a person's click). The
metric codes are clinical's, named as strings: messaging sits below clinical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BP = re.compile(r"(?<![\d/.])(\d{2,3})\s*/\s*(\d{2,3})(?![\d/])")
_GLUCOSE = re.compile(r"\b(?:glucose|blood sugar|sugar|bg)\b\D{0,15}?(\d{1,3}(?:\.\d)?)\s*(mg/dl|mmol/l)?", re.I)
_WEIGHT = re.compile(r"\b(?:weigh(?:t|ed|s)?)\b\D{0,12}?(\d{2,3}(?:\.\d)?)\s*(kg|lbs?|pounds)?\b", re.I)
_SPO2 = re.compile(r"\b(?:spo2|sp02|oxygen|o2(?: sat\w*)?|sats?)\b\D{0,12}?(\d{2,3})\s*%?", re.I)
_PULSE = re.compile(r"\b(?:heart rate|pulse|hr)\b\D{0,10}?(\d{2,3})\b", re.I)


@dataclass(frozen=True)
class Reported:
    metric: str
    value: float
    value2: float | None
    unit: str
    text: str  # as shown: "150/95 mmHg"


def _num(raw: str) -> float:
    return float(raw)


def reported_readings(text: str) -> list[Reported]:
    """Plausible readings named in a message, in the order of the text (at most one per metric)."""
    found: dict[str, tuple[int, Reported]] = {}
    for m in _BP.finditer(text or ""):
        sys, dia = _num(m.group(1)), _num(m.group(2))
        if 70 <= sys <= 260 and 30 <= dia <= 160 and sys > dia:
            found.setdefault("blood_pressure", (m.start(), Reported("blood_pressure", sys, dia, "mmHg",
                                                                    f"{sys:g}/{dia:g} mmHg")))
    for pattern, metric, low, high, default_unit in (
            (_GLUCOSE, "glucose", 1, 600, "mg/dL"), (_WEIGHT, "weight", 20, 700, "kg"),
            (_SPO2, "spo2", 50, 100, "%"), (_PULSE, "heart_rate", 25, 250, "bpm")):
        m = pattern.search(text or "")
        if not m or metric in found:
            continue
        value = _num(m.group(1))
        unit = default_unit
        said = (m.group(2) or "").lower() if m.lastindex and m.lastindex >= 2 else ""
        if metric == "glucose" and (said == "mmol/l" or value < 35):
            unit = "mmol/L"
        elif metric == "weight" and said.startswith(("lb", "pound")):
            unit = "lb"
        if not low <= value <= high:
            continue
        found[metric] = (m.start(), Reported(metric, value, None, unit, f"{value:g} {unit}"))
    return [r for _pos, r in sorted(found.values(), key=lambda item: item[0])]
