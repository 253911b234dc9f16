"""Passive signals: how the last days of wearable data sit against the patient's own rolling baseline.

Robust statistics (median and MAD × 1.4826, so the scale matches an SD for normal data): one bad
night or a missing day does not move "usual". The recent value is the mean of the last RECENT_DAYS
that have data; the baseline is the BASELINE_DAYS before them. HRV keeps one method across the
period (wearables.daily picks it; RMSSD and SDNN are never mixed). Sleep regularity is the SD of the
recent nights' duration against the baseline's typical night-to-night SD.

The values come from wearables.daily.rule_points (the preferred-source rule); this module's
`deviations` is pure and unit-tested with plain lists.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

RECENT_DAYS = 3
BASELINE_DAYS = 28
MIN_BASELINE_POINTS = 7
MAD_SCALE = 1.4826

# metric key -> (label, direction that is worse (+1 higher is worse, -1 lower is worse), unit, phrase up, down)
FEATURES = {
    "hrv": ("heart rate variability", -1, "ms", "higher", "lower"),
    "resting_hr": ("resting heart rate", +1, "bpm", "higher", "lower"),
    "sleep": ("sleep", -1, "h", "longer", "shorter"),
    "steps": ("daily steps", -1, "steps", "more", "fewer"),
}


@dataclass(slots=True)
class Deviation:
    feature: str
    label: str
    recent: float
    median: float
    scale: float
    z: float  # (recent - median) / scale, signed as measured
    worse_z: float  # signed so that positive is worse for the patient
    n_baseline: int
    method: str = ""

    def phrase(self) -> str:
        _label, _dir, _unit, up, down = FEATURES.get(self.feature, (self.label, 1, "", "higher", "lower"))
        return f"{self.label} {abs(self.z):.1f} SD {up if self.z > 0 else down} than your usual"


def robust(values: list[float]) -> tuple[float, float] | None:
    if len(values) < MIN_BASELINE_POINTS:
        return None
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values) * MAD_SCALE
    # A floor on the scale: a perfectly regular baseline must not turn a tiny change into 10 SD.
    floor = max(abs(med) * 0.03, 1e-6)
    return med, max(mad, floor)


def deviations(series: dict[str, list[tuple[date, float]]], today: date, methods: dict[str, str] | None = None
               ) -> list[Deviation]:
    """series: metric key -> [(day, value)] (gaps simply absent)."""
    out = []
    recent_start = today - timedelta(days=RECENT_DAYS - 1)
    base_start = recent_start - timedelta(days=BASELINE_DAYS)
    for key, points in series.items():
        if key not in FEATURES:
            continue
        recent = [v for d, v in points if recent_start <= d <= today and v is not None]
        base = [v for d, v in points if base_start <= d < recent_start and v is not None]
        stats = robust(base)
        if not recent or stats is None:
            continue
        med, scale = stats
        value = sum(recent) / len(recent)
        z = (value - med) / scale
        label, direction, *_ = FEATURES[key]
        out.append(Deviation(key, label, round(value, 2), round(med, 2), round(scale, 3), round(z, 3),
                             round(z * direction, 3), len(base), (methods or {}).get(key, "")))
        if key == "sleep" and len(recent) >= 2:
            base_days = [v for _d, v in sorted(p for p in points if base_start <= p[0] < recent_start)]
            diffs = [abs(a - b) for a, b in zip(base_days, base_days[1:], strict=False)]
            if len(diffs) >= MIN_BASELINE_POINTS - 1:
                typical = max(statistics.median(diffs) * MAD_SCALE, 0.25)
                spread = statistics.pstdev(recent)
                rz = (spread - typical) / typical
                out.append(Deviation("sleep_regularity", "sleep regularity", round(spread, 2), round(typical, 2),
                                     round(typical, 3), round(rz, 3), round(rz, 3), len(base)))
    return out


def fetch(patient, today: date) -> tuple[dict[str, list[tuple[date, float]]], dict[str, str]]:
    """The patient's daily values for the baseline and recent windows (one query per metric)."""
    from wearables.daily import rule_points

    start = today - timedelta(days=RECENT_DAYS - 1 + BASELINE_DAYS)
    series, methods = {}, {}
    for key in FEATURES:
        points = rule_points(patient, key, start, today)
        series[key] = [(p.day, p.value) for p in points]
        if key == "hrv" and points:
            methods[key] = points[-1].method
    return series, methods
