"""Evaluate one ClinicalRule for one patient: read the window's data, apply the
condition, return a RuleResult. Never writes (clinical/alerting.py does that), so
the admin's dry run and the tests call it freely.

What a rule reads
-----------------
- `metric` is an Observation metric code (clinical/metrics.py), or
  `bp_systolic` / `bp_diastolic` (one component of the `blood_pressure` rows), or
  `blood_pressure` itself (systolic compared with `threshold`, diastolic with
  `params.value2_threshold`: either crossing counts), or `device` / `any` for the
  `missing` condition (any wearable data / any data at all).
- Observations with interpretation "invalid" are never read: an impossible value
  is kept on the chart, flagged, and left out of rules (CLINICAL.md).
- Blood pressure: cuffless readings are always left out (the 2025 guideline: not
  for diagnosis or management). `params.context` narrows to "home" or "office";
  a BP row with no context recorded counts as office (it is classified that way).
- Daily metrics (`resting_heart_rate`, `hrv`, `steps`) read wearables.DailyMetric
  through the preferred-source rule of wearables/daily.py (one value per day, HRV
  in one method only), unless `params.series` is "observations". When the
  patient has no daily values at all in the period, the Observations of that
  metric are used instead (daily means), so hand-entered values still count.
- HRV never mixes methods: `params.method` (rmssd|sdnn) if given, else the method
  of the most recent value (observations) or of the most preferred source
  (daily). Values in the other method are ignored.

The window
----------
Readings: effective_at from `now - window_days` up to `now + 1 day` (device
clocks run ahead; a reading is never lost for being a few minutes "in the
future"). Daily series: the `window_days` local dates ending today in the
program's time zone.

Conditions
----------
- `>`, `<`, `>=`, `<=`: fires when any reading in the window is beyond the
  threshold; evidence = the readings that crossed. `params.at_least` (optional)
  ignores values below it (hypoglycemia level 1 is < 70 *and* >= 54: level 2 has
  its own rule). With `params.aggregate = "mean"` the window's mean is compared
  instead (stage-2 "average over 7 days"), once at least `params.min_points`
  (default 1) readings exist; evidence = every reading in the mean.
- `trend_up` / `trend_down` (the slope test): the values are reduced to one per
  local day (the daily series, or the mean of the day's readings). It fires only
  when ALL of these hold:
    1. the window has at least `params.min_points` days with a value (default 4);
    2. the least-squares slope of value against day number over those days, in
       units per day, is beyond `params.min_slope` in the rule's direction
       (up: slope > min_slope; down: slope < -min_slope; default min_slope 0);
    3. the baseline - the mean of the daily values of the `params.baseline_days`
       days (default 28) before the window - exists (at least
       `params.baseline_min_points` days, default 4) and the window's mean
       differs from it by at least the threshold, in percent of the baseline, in
       the rule's direction: up: (mean - baseline) / baseline * 100 >= threshold;
       down: (baseline - mean) / baseline * 100 >= threshold.
  Too few points or no baseline: silent (and the result says why).
- `rise`: the largest increase from an earlier reading to a later one inside the
  window (max of later - earlier, in time order) is greater than the threshold,
  e.g. weight gain > 2 kg in 3 days. Evidence = the low and the later high.
- `missing`: no data of the metric family at all in the window. It stays silent
  for a patient who never sent any such data before the window (nothing to miss;
  a new enrolment without a device is not an alert), unless
  `params.require_prior_data` is false.

The effective threshold is the program's setting named by `threshold_setting`
(program overrides project, through mahalo.config), else `rule.threshold`.

One clinical problem, one alert (issue 21 item 8)
-------------------------------------------------
Several rules can look at the same problem from different sides: the home and the
office stage-2 averages both say "this patient's blood pressure is high". Each rule
belongs to a *problem* (`problem_of(rule)`: `params.problem`, else `PROBLEMS` by code,
else the rule alone). clinical/alerting.py keeps one open alert per patient and
problem: the first rule of a problem to fire opens it; another rule of the same
problem that fires while it is open adds its evidence to that alert instead of
opening a second one. A more severe rule of the problem (level 2 hypoglycaemia
while level 1 is open) still opens its own alert, and the milder one is closed as
merged into it, so the queue shows the problem once, at its worst level.
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from clinical.metrics import METRICS
from clinical.models import ClinicalRule, Observation
from mahalo import config

C = ClinicalRule.Condition
COMPARISONS = {C.GT: operator.gt, C.LT: operator.lt, C.GTE: operator.ge, C.LTE: operator.le}
OP_WORDS = {C.GT: "above", C.LT: "below", C.GTE: "at or above", C.LTE: "at or below"}
BP_COMPONENTS = {"bp_systolic": "value", "bp_diastolic": "value2"}
# Rule metric -> wearables.daily METRICS key.
DAILY_KEYS = {"resting_heart_rate": "resting_hr", "hrv": "hrv", "steps": "steps"}
PERSON_SOURCES = ("patient", "staff")
FAMILY_METRICS = ("device", "any")
DEFAULT_MIN_POINTS = 4
DEFAULT_BASELINE_DAYS = 28
MAX_EVIDENCE = 50
CLOCK_SKEW = timedelta(days=1)
# The default rules that watch the same clinical problem (see "One clinical problem, one alert").
# The hypertensive crisis stays its own problem: an emergency is never folded into a trend.
PROBLEMS = {
    "bp_stage2_home": "hypertension_stage2",
    "bp_stage2_office": "hypertension_stage2",
    "hypoglycemia_level_1": "hypoglycemia",
    "hypoglycemia_level_2": "hypoglycemia",
}


def problem_of(rule: ClinicalRule) -> str:
    """The clinical problem a rule watches: rules sharing one raise one alert per patient."""
    named = (rule.params or {}).get("problem")
    if isinstance(named, str) and named.strip():
        return named.strip()
    return PROBLEMS.get(rule.code) or f"rule:{rule.pk}"


@dataclass(slots=True)
class Point:
    """One value a rule looked at: a reading, or one day of a daily series."""

    at: datetime
    value: float
    unit: str
    metric: str
    value2: float | None = None
    id: str = ""
    day: date | None = None
    category: str = ""
    interpretation: str = ""
    context: str = ""
    source: str = ""
    method: str = ""
    received: datetime | None = None  # when we got it (suppression after a closed alert)

    def evidence(self) -> dict:
        out = {"metric": self.metric, "value": round(self.value, 2), "unit": self.unit, "at": self.at.isoformat()}
        if self.value2 is not None:
            out["value2"] = round(self.value2, 2)
        for key in ("id", "category", "interpretation", "context", "source", "method"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.day is not None:
            out["day"] = self.day.isoformat()
        return out


@dataclass(slots=True)
class RuleResult:
    rule_id: str
    code: str
    fired: bool
    summary: str = ""
    evidence: list[dict] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    window_start: datetime | None = None
    window_end: datetime | None = None
    # Newest moment of data behind a firing result (when we received it; for the record).
    latest_data_at: datetime | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("window_start", "window_end", "latest_data_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


# --- Small pure helpers -----------------------------------------------------------

def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{round(value, 1):g}"


def slope(xs: list[float], ys: list[float]) -> float:
    """Ordinary least-squares slope of ys against xs (needs two distinct xs)."""
    n = len(xs)
    if n < 2:
        raise ValueError("a slope needs at least two points")
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("a slope needs two distinct x values")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def daily_means(points: list[Point], tz) -> dict[date, float]:
    days: dict[date, list[float]] = {}
    for p in points:
        day = p.day or p.at.astimezone(tz).date()
        days.setdefault(day, []).append(p.value)
    return {d: statistics.fmean(v) for d, v in sorted(days.items())}


def effective_threshold(rule: ClinicalRule, program=None, project=None) -> float | None:
    """The program's (else the project's) setting named by rule.threshold_setting, else rule.threshold."""
    if rule.threshold_setting:
        value = config.get_float(rule.threshold_setting, None, program=program,
                                 project=project or (program.project if program is not None else None))
        if value is not None:
            return value
    return rule.threshold


def _tz(patient):
    return patient.tz


def _int_param(params: dict, key: str, default: int) -> int:
    try:
        value = int(params.get(key, default))
    except (TypeError, ValueError):
        return default
    return max(value, 0)


def _float_param(params: dict, key: str, default: float | None) -> float | None:
    raw = params.get(key, default)
    if raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return default


# --- Reading the data ---------------------------------------------------------------

def _observation_metric(metric: str) -> str:
    return "blood_pressure" if metric in BP_COMPONENTS else metric


def _unit(metric: str) -> str:
    m = METRICS.get(_observation_metric(metric))
    return m.unit if m else ""


def observation_points(rule: ClinicalRule, patient, start: datetime, end: datetime) -> list[Point]:
    """Valid readings of the rule's metric for the patient in [start, end], oldest first."""
    metric = _observation_metric(rule.metric)
    params = rule.params or {}
    qs = (Observation.objects.filter(patient_id=patient.pk, metric=metric, effective_at__gte=start,
                                     effective_at__lte=end)
          .exclude(interpretation="invalid").order_by("effective_at"))
    if metric == "blood_pressure":
        qs = qs.exclude(context="cuffless")
        context = params.get("context")
        if context == "office":
            qs = qs.filter(context__in=["office", ""])
        elif context:
            qs = qs.filter(context=context)
    elif metric == "glucose" and params.get("context"):
        qs = qs.filter(context=params["context"])
    rows = list(qs.only("id", "metric", "value", "value2", "unit", "effective_at", "category", "interpretation",
                        "context", "source", "method", "created_at"))
    if metric == "hrv":
        method = params.get("method") or next((r.method for r in reversed(rows) if r.method), "")
        rows = [r for r in rows if r.method == method]
    points = []
    for r in rows:
        value, value2 = r.value, r.value2
        if rule.metric == "bp_diastolic":
            if value2 is None:
                continue
            value, value2 = value2, None
        elif rule.metric == "bp_systolic":
            value2 = None
        points.append(Point(at=r.effective_at, value=value, value2=value2, unit=r.unit, metric=rule.metric,
                            id=str(r.pk), category=r.category, interpretation=r.interpretation, context=r.context,
                            source=r.source, method=r.method, received=r.created_at))
    return points


@dataclass(frozen=True)
class DayValue:
    """One day of a per-day series kept outside clinical (a wearable's daily summary)."""

    day: date
    value: float
    unit: str
    source: str = ""
    method: str = ""


# Per-day series stored by an app above clinical (wearables' DailyMetric) plug in here, so the
# rules engine reads them without importing that app (DESIGN "Layout": dependencies point down).
# `points(patient, key, start_day, end_day) -> list[DayValue]` (the preferred source per day);
# `has_data(patient, start_day, end_day|None, key|None, device_only) -> bool`.
DAILY_SERIES: dict[str, tuple[Callable, Callable]] = {}


def register_daily_series(name: str, *, points: Callable, has_data: Callable) -> None:
    DAILY_SERIES[name] = (points, has_data)


def daily_points(rule: ClinicalRule, patient, start_day: date, end_day: date) -> list[Point]:
    """One value per local day from the registered daily series (preferred-source rule)."""
    key = DAILY_KEYS[rule.metric]
    method = (rule.params or {}).get("method")
    tz = _tz(patient)
    points = []
    for fetch, _has in DAILY_SERIES.values():
        for p in fetch(patient, key, start_day, end_day):
            if key == "hrv" and method and p.method != method:
                continue
            noon = datetime.combine(p.day, time(12), tzinfo=tz)
            points.append(Point(at=noon, value=p.value, unit=p.unit, metric=rule.metric, day=p.day,
                                source=p.source, method=p.method, received=noon))
    return points


def _uses_daily(rule: ClinicalRule) -> bool:
    return rule.metric in DAILY_KEYS and (rule.params or {}).get("series", "daily") == "daily"


def series_points(rule: ClinicalRule, patient, start_day: date, end_day: date) -> list[Point]:
    """Per-day values for trends: the daily series, else observation daily means."""
    tz = _tz(patient)
    if _uses_daily(rule):
        points = daily_points(rule, patient, start_day, end_day)
        if points:
            return points
    start = datetime.combine(start_day, time.min, tzinfo=tz)
    end = datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=tz)
    readings = observation_points(rule, patient, start, end)
    out = []
    by_day: dict[date, list[Point]] = {}
    for p in readings:
        by_day.setdefault(p.at.astimezone(tz).date(), []).append(p)
    for day, items in sorted(by_day.items()):
        out.append(Point(at=datetime.combine(day, time(12), tzinfo=tz),
                         value=statistics.fmean(p.value for p in items), unit=items[0].unit, metric=rule.metric,
                         day=day, method=items[0].method, source=items[-1].source,
                         received=max(p.received or p.at for p in items)))
    return out


def _has_data(rule: ClinicalRule, patient, start: datetime, end: datetime | None) -> bool:
    """Any valid data of the rule's family between start and end (end None: no bound)."""
    obs = Observation.objects.filter(patient_id=patient.pk).exclude(interpretation="invalid")
    tz = _tz(patient)
    obs = obs.filter(effective_at__gte=start) if end is None else obs.filter(effective_at__gte=start,
                                                                              effective_at__lt=end)
    start_day, end_day = start.astimezone(tz).date(), (end.astimezone(tz).date() if end is not None else None)
    device_only, key = False, None
    if rule.metric == "device":
        obs, device_only = obs.exclude(source__in=PERSON_SOURCES), True
    elif rule.metric != "any":
        obs = obs.filter(metric=_observation_metric(rule.metric))
        if rule.metric not in DAILY_KEYS:
            return obs.exists()
        key = DAILY_KEYS[rule.metric]
    return obs.exists() or any(has(patient, start_day, end_day, key, device_only)
                               for _fetch, has in DAILY_SERIES.values())


def _had_data_before(rule: ClinicalRule, patient, before: datetime) -> bool:
    far_past = datetime(1970, 1, 1, tzinfo=UTC)
    return _has_data(rule, patient, far_past, before)


# --- Conditions (pure) ----------------------------------------------------------------

def check_comparison(points: list[Point], condition: str, threshold: float, *,
                     value2_threshold: float | None = None, at_least: float | None = None, aggregate: str = "",
                     min_points: int = 1) -> tuple[bool, list, dict]:
    op = COMPARISONS[condition]
    if at_least is not None:
        points = [p for p in points if p.value >= at_least]
    numbers: dict = {"count": len(points)}
    if points:
        values = [p.value for p in points]
        numbers.update({"min": round(min(values), 2), "max": round(max(values), 2)})
    if aggregate == "mean":
        numbers["min_points"] = min_points
        if not points or len(points) < min_points:
            numbers["reason"] = "too few readings"
            return False, [], numbers
        mean = statistics.fmean(p.value for p in points)
        numbers["mean"] = round(mean, 2)
        fired = op(mean, threshold)
        seconds = [p.value2 for p in points if p.value2 is not None]
        if value2_threshold is not None and seconds:
            mean2 = statistics.fmean(seconds)
            numbers["mean2"] = round(mean2, 2)
            fired = fired or op(mean2, value2_threshold)
        return fired, (points if fired else []), numbers
    crossed = [p for p in points if op(p.value, threshold)
               or (value2_threshold is not None and p.value2 is not None and op(p.value2, value2_threshold))]
    numbers["crossed"] = len(crossed)
    return bool(crossed), crossed, numbers


def check_trend(window: list[Point], baseline: list[Point], direction: str, threshold: float, *,
                min_points: int = DEFAULT_MIN_POINTS, min_slope: float = 0.0,
                baseline_min_points: int = DEFAULT_MIN_POINTS) -> tuple[bool, list, dict]:
    """The slope test of the module docstring, on one value per day."""
    numbers: dict = {"points": len(window), "min_points": min_points, "min_slope": min_slope,
                     "baseline_points": len(baseline), "threshold_pct": threshold}
    if len(window) < max(min_points, 2):
        numbers["reason"] = "too few days with data in the window"
        return False, [], numbers
    origin = window[0].day
    xs = [float((p.day - origin).days) for p in window]
    ys = [p.value for p in window]
    s = slope(xs, ys)
    mean = statistics.fmean(ys)
    numbers.update({"slope_per_day": round(s, 3), "mean": round(mean, 2)})
    if len(baseline) < max(baseline_min_points, 1):
        numbers["reason"] = "no baseline (too few days before the window)"
        return False, [], numbers
    base = statistics.fmean(p.value for p in baseline)
    numbers["baseline_mean"] = round(base, 2)
    if base == 0:
        numbers["reason"] = "baseline is zero"
        return False, [], numbers
    change = (mean - base) / abs(base) * 100
    numbers["change_pct"] = round(change, 1)
    if direction == C.TREND_UP:
        fired = s > min_slope and change >= threshold
    else:
        fired = s < -min_slope and -change >= threshold
    if not fired:
        numbers["reason"] = "slope or change vs baseline below the threshold"
    return fired, (window if fired else []), numbers


def check_rise(points: list[Point], threshold: float) -> tuple[bool, list, dict]:
    """Largest later-minus-earlier increase, in time order."""
    best, low, pair = None, None, None
    for p in sorted(points, key=lambda p: p.at):
        if low is not None and (best is None or p.value - low.value > best):
            best, pair = p.value - low.value, (low, p)
        if low is None or p.value < low.value:
            low = p
    numbers = {"count": len(points), "rise": round(best, 2) if best is not None else None}
    if best is not None and best > threshold:
        return True, list(pair), numbers
    return False, [], numbers


# --- The evaluation -------------------------------------------------------------------

def evaluate(rule: ClinicalRule, patient, now: datetime | None = None) -> RuleResult:
    """Evaluate `rule` for `patient` at `now`. Reads only."""
    now = now or timezone.now()
    params = rule.params or {}
    threshold = effective_threshold(rule, patient.program if patient.program_id else None, patient.project)
    tz = _tz(patient)
    start = now - timedelta(days=rule.window_days)
    result = RuleResult(rule_id=str(rule.pk), code=rule.code, fired=False, window_start=start, window_end=now)
    unit = _unit(rule.metric)
    cond = rule.condition

    if cond == C.MISSING:
        present = _has_data(rule, patient, start, None)
        prior = _had_data_before(rule, patient, start) if not present else True
        require_prior = params.get("require_prior_data", True) not in (False, "false", 0, "0")
        result.numbers = {"window_days": rule.window_days, "data_in_window": present, "data_before": prior}
        result.fired = not present and (prior or not require_prior)
        if result.fired:
            what = {"device": "device data", "any": "data"}.get(rule.metric, METRICS.get(
                _observation_metric(rule.metric)).label if _observation_metric(rule.metric) in METRICS else rule.metric)
            result.summary = f"No {what} in the last {rule.window_days} days."
            result.latest_data_at = start
        return result

    if threshold is None:
        result.numbers = {"reason": "the rule has no threshold"}
        return result
    result.numbers["threshold"] = threshold

    if cond in (C.TREND_UP, C.TREND_DOWN):
        end_day = now.astimezone(tz).date()
        start_day = end_day - timedelta(days=rule.window_days - 1)
        baseline_days = _int_param(params, "baseline_days", DEFAULT_BASELINE_DAYS)
        points = series_points(rule, patient, start_day - timedelta(days=baseline_days), end_day)
        window = [p for p in points if p.day >= start_day]
        baseline = [p for p in points if p.day < start_day]
        fired, evidence, numbers = check_trend(
            window, baseline, cond, threshold, min_points=_int_param(params, "min_points", DEFAULT_MIN_POINTS),
            min_slope=_float_param(params, "min_slope", 0.0) or 0.0,
            baseline_min_points=_int_param(params, "baseline_min_points", DEFAULT_MIN_POINTS))
        unit = window[0].unit if window else unit
        numbers.update({"baseline_days": baseline_days, "unit": unit})
        result.numbers.update(numbers)
        result.fired = fired
        if fired:
            word = "up" if cond == C.TREND_UP else "down"
            result.summary = (f"{rule.name}: trending {word} {fmt(abs(numbers['slope_per_day']))} {unit}/day over "
                              f"{numbers['points']} days; mean {fmt(numbers['mean'])} {unit} vs baseline "
                              f"{fmt(numbers['baseline_mean'])} {unit} ({numbers['change_pct']:+g}%).")
            result.evidence = [p.evidence() for p in evidence[-MAX_EVIDENCE:]]
            result.latest_data_at = max(p.received or p.at for p in evidence)
        return result

    points = observation_points(rule, patient, start, now + CLOCK_SKEW)
    if _uses_daily(rule) and cond in COMPARISONS and not points:
        points = series_points(rule, patient, start.astimezone(tz).date(), now.astimezone(tz).date())
    if cond == C.RISE:
        fired, evidence, numbers = check_rise(points, threshold)
    elif cond in COMPARISONS:
        value2_threshold = _float_param(params, "value2_threshold", None)
        fired, evidence, numbers = check_comparison(
            points, cond, threshold, value2_threshold=value2_threshold,
            at_least=_float_param(params, "at_least", None), aggregate=params.get("aggregate", ""),
            min_points=_int_param(params, "min_points", 1))
        if value2_threshold is not None:
            numbers["value2_threshold"] = value2_threshold
    else:
        raise ValueError(f"Unknown condition {cond!r}")
    result.numbers.update(numbers)
    result.numbers["unit"] = unit
    result.fired = fired
    if fired:
        result.evidence = [p.evidence() for p in evidence[-MAX_EVIDENCE:]]
        result.latest_data_at = max(p.received or p.at for p in evidence)
        result.summary = _summary(rule, cond, threshold, numbers, evidence, unit, tz)
    return result


def _summary(rule, cond, threshold, numbers, evidence, unit, tz) -> str:
    days = f"{rule.window_days} day{'s' if rule.window_days != 1 else ''}"
    if cond == C.RISE:
        low, high = evidence
        return (f"Rose {fmt(numbers['rise'])} {unit} in {days} (limit {fmt(threshold)} {unit}): "
                f"{fmt(low.value)} → {fmt(high.value)} {unit}.")
    limit = fmt(threshold)
    if numbers.get("value2_threshold") is not None:
        limit = f"{fmt(threshold)}/{fmt(numbers['value2_threshold'])}"
    if "mean" in numbers:
        mean = fmt(numbers["mean"])
        if "mean2" in numbers:
            mean = f"{mean}/{fmt(numbers['mean2'])}"
        return f"Average {mean} {unit} over {numbers['count']} readings in {days}, {OP_WORDS[cond]} {limit} {unit}."
    worst = max(evidence, key=lambda p: p.value) if cond in (C.GT, C.GTE) else min(evidence, key=lambda p: p.value)
    shown = fmt(worst.value) + (f"/{fmt(worst.value2)}" if worst.value2 is not None else "")
    when = timezone.localtime(worst.at, tz)
    metric = METRICS.get(rule.metric)
    if metric is not None and metric.derived:
        # "Days over sodium target: 6 days, at or above the limit of 3 days (Dec 3)", not "1 reading…".
        return f"{metric.label}: {shown} {unit}, {OP_WORDS[cond]} the limit of {limit} {unit} ({when:%b} {when.day})."
    n = len(evidence)
    return (f"{n} reading{'s' if n != 1 else ''} {OP_WORDS[cond]} {limit} {unit} in {days} "
            f"({'most extreme' if n > 1 else 'value'} {shown} {unit}, {when:%b} {when.day} {when:%H:%M}).")
