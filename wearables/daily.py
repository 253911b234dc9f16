"""Daily trends: one value per metric and day, and the patient's own baseline band.

Several sources can report the same day (an Oura ring and an Apple Watch both
give a resting heart rate). The *preferred-source rule* picks one value per
metric and day: the first source in the program's preference order that has a
value for that metric that day. The order is the tenant setting
`wearables.preferred_sources` (comma-separated source slugs; the program's value
overrides the project's, read through mahalo.config), else DEFAULT_PREFERENCE.
Sources a setting leaves out still count, after the listed ones, so a reading is
never hidden because an admin forgot a slug.

HRV (CLINICAL.md): RMSSD and SDNN are different measurements and are never
trended together. The main series uses the method of the most preferred source
that reports HRV in the window; each day takes the most preferred source *with
that method*. Days where only the other method exists are left out of it and
returned as a separate series ("hrv_other"), labelled with its own method. A day
whose HRV has no method recorded is left out altogether: it can't be placed.

Baseline band: for each day, the mean ± 1 sample SD of the chosen values of the
previous N days (`wearables.baseline_days`, default 28), prior days only (the
day itself never moves its own band), and only when at least
BASELINE_MIN_POINTS of those days have a value.

Everything comes from one query on DailyMetric (plus the two settings reads).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from clinical.models import Source
from clinical.rules import PERSON_SOURCES, DayValue
from mahalo import config
from wearables.models import DailyMetric

PREFERRED_SOURCES_KEY = "wearables.preferred_sources"
BASELINE_DAYS_KEY = "wearables.baseline_days"

# Dedicated devices with validated overnight measurement first, then general
# fitness platforms, phone aggregators, and finally hand-entered values.
DEFAULT_PREFERENCE: tuple[str, ...] = (
    "oura", "whoop", "garmin", "google_health", "withings", "polar", "apple_health",
    "samsung_health", "health_connect", "strava", "patient", "staff",
)
DEFAULT_BASELINE_DAYS = 28
BASELINE_MIN_POINTS = 7
# Bounds for the baseline setting: under a week the band is noise, over a year it
# no longer describes "usual for this patient".
BASELINE_DAYS_RANGE = (7, 365)

HRV_METHOD_LABELS = {"rmssd": "RMSSD", "sdnn": "SDNN"}
SLEEP_STAGES = ("sleep_deep_hours", "sleep_rem_hours", "sleep_light_hours", "sleep_awake_hours")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    key: str
    field: str
    label: str
    unit: str
    extra: tuple[str, ...] = ()


METRICS: dict[str, MetricSpec] = {m.key: m for m in [
    MetricSpec("hrv", "hrv_ms", "Heart rate variability", "ms"),
    MetricSpec("resting_hr", "resting_hr", "Resting heart rate", "bpm"),
    MetricSpec("sleep", "sleep_hours", "Sleep", "h", extra=SLEEP_STAGES),
    MetricSpec("steps", "steps", "Steps", "steps"),
    MetricSpec("recovery", "recovery_score", "Recovery / readiness", "/100"),
    MetricSpec("spo2", "spo2", "SpO₂", "%"),
    MetricSpec("respiratory_rate", "respiratory_rate", "Respiratory rate", "/min"),
    MetricSpec("active_energy", "active_energy_kcal", "Active energy", "kcal"),
]}
TREND_METRICS = ("hrv", "resting_hr", "sleep", "steps")


@dataclass(slots=True)
class Point:
    date: date
    value: float | None = None
    source: str = ""
    device: str = ""
    method: str = ""
    extra: dict = field(default_factory=dict)
    baseline_mean: float | None = None
    baseline_sd: float | None = None

    @property
    def source_label(self) -> str:
        return source_label(self.source)

    @property
    def baseline_low(self) -> float | None:
        return None if self.baseline_mean is None else self.baseline_mean - self.baseline_sd

    @property
    def baseline_high(self) -> float | None:
        return None if self.baseline_mean is None else self.baseline_mean + self.baseline_sd


@dataclass(slots=True)
class Series:
    metric: str
    points: list[Point]
    method: str = ""  # HRV only: the one method of every value in this series

    @property
    def spec(self) -> MetricSpec:
        return METRICS[self.metric]

    @property
    def present(self) -> list[Point]:
        return [p for p in self.points if p.value is not None]

    @property
    def latest(self) -> Point | None:
        present = self.present
        return present[-1] if present else None

    def sources(self) -> list[tuple[str, str, int]]:
        """(source, its most frequent device, days) for the days shown, most days first."""
        days = Counter(p.source for p in self.present)
        devices: dict[str, Counter] = defaultdict(Counter)
        for p in self.present:
            if p.device:
                devices[p.source][p.device] += 1
        return [(s, devices[s].most_common(1)[0][0] if devices[s] else "", n) for s, n in days.most_common()]


@dataclass(frozen=True, slots=True)
class TrendSettings:
    preference: tuple[str, ...] = DEFAULT_PREFERENCE
    baseline_days: int = DEFAULT_BASELINE_DAYS

    def rank(self) -> dict[str, int]:
        return {slug: i for i, slug in enumerate(self.preference)}


def source_label(slug: str) -> str:
    try:
        return Source(slug).label
    except ValueError:
        return slug


def parse_preference(raw: str | None) -> tuple[str, ...]:
    """Listed valid slugs first (in the order given), then every other source in the
    default order. Unknown slugs are ignored; an empty or all-invalid value is the default."""
    valid = set(Source.values)
    chosen: list[str] = []
    for part in (raw or "").split(","):
        slug = part.strip().lower()
        if slug in valid and slug not in chosen:
            chosen.append(slug)
    rest = [s for s in DEFAULT_PREFERENCE if s not in chosen]
    rest += [s for s in Source.values if s not in chosen and s not in rest]
    return tuple(chosen + rest)


def trend_settings(*, program=None, project=None) -> TrendSettings:
    """The preference order and baseline length for a program (program overrides project)."""
    if program is not None and project is None:
        project = program.project
    raw = config.get_setting(PREFERRED_SOURCES_KEY, program=program, project=project)
    days = config.get_int(BASELINE_DAYS_KEY, DEFAULT_BASELINE_DAYS, program=program, project=project)
    low, high = BASELINE_DAYS_RANGE
    if days is None or not low <= days <= high:
        days = DEFAULT_BASELINE_DAYS
    return TrendSettings(preference=parse_preference(raw), baseline_days=days)


def settings_for(patient) -> TrendSettings:
    return trend_settings(program=patient.program if patient.program_id else None, project=patient.project)


_ROW_FIELDS = ("date", "source", "device", "hrv_method", *{m.field for m in METRICS.values()}, *SLEEP_STAGES)


def fetch_rows(patient, start: date, end: date) -> list[DailyMetric]:
    """Every source's daily rows for the patient from start to end inclusive: one query."""
    return list(between(DailyMetric.objects.filter(patient_id=patient.pk), start, end)
                .only(*_ROW_FIELDS).order_by("date", "source"))


def between(queryset, start: date, end: date):
    """Daily rows from start to end inclusive (the patient's local days): the chart's and the API's range."""
    return queryset.filter(date__gte=start, date__lte=end)


def daily_series(patient, start: date, end: date, *, metrics=TREND_METRICS,
                 settings: TrendSettings | None = None) -> dict[str, Series | None]:
    """Per metric, one point per day from start to end (value None on a gap), chosen
    by the preferred-source rule, with its baseline band. Also "hrv_other": the days
    that only have the other HRV method, or None when there are none."""
    settings = settings or settings_for(patient)
    rows = fetch_rows(patient, start - timedelta(days=settings.baseline_days), end)
    return build_series(rows, start, end, settings=settings, metrics=metrics)


def build_series(rows, start: date, end: date, *, settings: TrendSettings = TrendSettings(),
                 metrics=TREND_METRICS) -> dict[str, Series | None]:
    """The pure part of daily_series: rows must cover the baseline days before start."""
    if end < start:
        raise ValueError("end is before start")
    rank = settings.rank()
    lookback = start - timedelta(days=settings.baseline_days)
    by_day: dict[date, list] = defaultdict(list)
    for row in rows:
        if lookback <= row.date <= end:
            by_day[row.date].append(row)
    for day_rows in by_day.values():
        # Unknown sources (never expected) rank last, deterministically by slug.
        day_rows.sort(key=lambda r: (rank.get(r.source, len(rank)), r.source))
    all_days = [lookback + timedelta(days=i) for i in range((end - lookback).days + 1)]
    window = [d for d in all_days if d >= start]

    result: dict[str, Series | None] = {}
    for key in metrics:
        spec = METRICS[key]
        if key == "hrv":
            result["hrv"], result["hrv_other"] = _hrv(by_day, all_days, window, start, settings)
            continue
        chosen = {d: _pick(by_day.get(d, ()), spec) for d in all_days}
        result[key] = Series(key, _with_baseline(chosen, window, settings))
    return result


def _pick(day_rows, spec: MetricSpec, method: str | None = None) -> Point | None:
    for row in day_rows:  # already in preference order
        value = getattr(row, spec.field)
        if value is None:
            continue
        if method is not None and row.hrv_method != method:
            continue
        extra = {}
        for name in spec.extra:
            stage = getattr(row, name)
            if stage is not None:
                extra[name] = stage
        return Point(row.date, float(value), row.source, row.device, row.hrv_method if spec.key == "hrv" else "",
                     extra)
    return None


def _hrv(by_day, all_days, window, start, settings) -> tuple[Series, Series | None]:
    spec = METRICS["hrv"]
    rank = settings.rank()
    # The method of the most preferred source that has HRV in the window (its latest
    # row, should a source ever have changed method).
    best = None
    for day in window:
        for row in by_day.get(day, ()):
            if row.hrv_ms is None or row.hrv_method not in HRV_METHOD_LABELS:
                continue
            key = (rank.get(row.source, len(rank)), -day.toordinal())
            if best is None or key < best[0]:
                best = (key, row.hrv_method)
    if best is None:
        return Series("hrv", [Point(d) for d in window]), None
    method = best[1]
    other = "sdnn" if method == "rmssd" else "rmssd"
    chosen = {d: _pick(by_day.get(d, ()), spec, method) for d in all_days}
    main = Series("hrv", _with_baseline(chosen, window, settings), method=method)
    extra_points, any_other = [], False
    for day, point in zip(window, main.points, strict=True):
        alt = _pick(by_day.get(day, ()), spec, other) if point.value is None else None
        any_other |= alt is not None
        extra_points.append(alt or Point(day))
    # The other method's values are not comparable with the main series: no band.
    return main, (Series("hrv", extra_points, method=other) if any_other else None)


def _with_baseline(chosen: dict[date, Point | None], window: list[date], settings: TrendSettings) -> list[Point]:
    points = []
    n = settings.baseline_days
    if not window:
        return points
    # Values by day offset from the first baseline day, so each day's prior n days are
    # one list slice (90 days x 7 series x 28 lookups were the tab's main cost).
    first = window[0] - timedelta(days=n)
    values: list[float | None] = [None] * ((window[-1] - first).days + 1)
    for day, p in chosen.items():
        k = (day - first).days
        if p is not None and 0 <= k < len(values):
            values[k] = p.value
    for day in window:
        point = chosen.get(day) or Point(day)
        k = (day - first).days
        band = baseline(values[k - n:k])
        if band is not None:
            point.baseline_mean, point.baseline_sd = band
        points.append(point)
    return points


def baseline(values: list[float | None]) -> tuple[float, float] | None:
    """Mean and sample SD of the non-missing values, or None below BASELINE_MIN_POINTS
    (what the band of the day after these values shows)."""
    present = [float(v) for v in values if v is not None]
    n = len(present)
    if n < BASELINE_MIN_POINTS:
        return None
    # Two-pass float maths: statistics.stdev is exact (Fractions) and ~50x slower,
    # and the band is drawn at a pixel's precision.
    mean = math.fsum(present) / n
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in present) / (n - 1))


def device_days(patient_ids, first: date, last: date):
    """(patient_id, date) of the days with a device summary, first..last inclusive: RPM
    counts them as device days (clinical.rpm.register_device_days, from wearables/apps.py).
    `date` is already the local day; manual sources never count."""
    return (DailyMetric.objects.filter(patient_id__in=patient_ids, date__gte=first, date__lte=last)
            .exclude(source__in=(Source.STAFF, Source.PATIENT))
            .values_list("patient_id", "date").order_by().distinct())


def rule_points(patient, key: str, start_day: date, end_day: date) -> list:
    """The rules engine's per-day series (clinical.rules.register_daily_series): the preferred
    source's value per local day. Zero baseline days: the whole period is the "window", so HRV
    picks one method across it."""
    trend = settings_for(patient)
    rows = fetch_rows(patient, start_day, end_day)
    series = build_series(rows, start_day, end_day, metrics=(key,),
                          settings=TrendSettings(preference=trend.preference, baseline_days=0))[key]
    return [DayValue(day=p.date, value=p.value, unit=METRICS[key].unit, source=p.source, method=p.method)
            for p in (series.present if series else [])]


def has_days(patient, start_day: date, end_day: date | None, key: str | None, device_only: bool) -> bool:
    """Any daily summary in the range (of metric `key`, or any; from devices only if asked)."""
    days = DailyMetric.objects.filter(patient_id=patient.pk, date__gte=start_day)
    if end_day is not None:
        days = days.filter(date__lte=end_day)
    if device_only:
        days = days.exclude(source__in=PERSON_SOURCES)
    if key is not None:
        days = days.filter(**{f"{METRICS[key].field}__isnull": False})
    return days.exists()
