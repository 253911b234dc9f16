"""The Wearables tab's trend charts, as `mahalo.charts` specs (one JSON-ready dict per metric).

A day chart: one slot per local day of the range, a missing day a gap (never joined
over). The patient's own usual range is a shaded `range` series that the tooltip
shows only beside the value it describes; HRV of the other method is separate,
labelled markers (never joined to the main line, no band); sleep stages stack.
`static/js/charts.js` draws them on the page and `mahalo.charts.to_svg` in a PDF.
"""

from __future__ import annotations

from mahalo.charts import Axis, Chart, LegendItem, Series, day_iso
from wearables.daily import HRV_METHOD_LABELS, METRICS, Point, source_label
from wearables.daily import Series as DailySeries

# Palette tokens (mahalo.charts.PALETTE): calm, distinguishable on white, and none of
# them an alarm red: the band and these colours must stay readable for a whole shift.
COLORS = {
    "hrv": "teal",
    "hrv_other": "ochre",
    "resting_hr": "wine",
    "steps": "blue",
    "sleep_deep_hours": "indigo-deep",
    "sleep_rem_hours": "indigo",
    "sleep_light_hours": "lavender",
    "sleep_total": "slate",
    "band": "range",
    "band_mean": "range-line",
}
STAGE_LABELS = {"sleep_deep_hours": "Deep", "sleep_rem_hours": "REM", "sleep_light_hours": "Light",
                "sleep_awake_hours": "Awake"}
# Which side of the usual range deserves a second look (the other side is good news).
CONCERN = {"hrv": "below", "resting_hr": "above", "sleep": "below", "steps": "below"}
TITLES = {"hrv": "Heart rate variability", "resting_hr": "Resting heart rate", "sleep": "Sleep", "steps": "Steps"}
DECIMALS = {"hrv": 0, "resting_hr": 0, "sleep": 1, "steps": 0, "recovery": 0, "spo2": 1, "respiratory_rate": 1,
            "active_energy": 0}


def format_value(metric: str, value: float | None) -> str:
    """A value as a clinician reads it (also used by the 14-day table)."""
    if value is None:
        return "—"
    if metric == "sleep":
        minutes = round(value * 60)
        return f"{minutes // 60} h {minutes % 60:02d} min"
    if metric == "steps":
        return f"{round(value):,}"
    unit = METRICS[metric].unit
    number = f"{value:.{DECIMALS.get(metric, 1)}f}"
    return f"{number} {unit}" if unit not in ("%",) else f"{number}{unit}"


def format_number(metric: str, value: float | None) -> str:
    """The bare number, for a table whose header carries the unit (sleep as h:mm)."""
    if value is None:
        return ""
    if metric == "sleep":
        minutes = round(value * 60)
        return f"{minutes // 60}:{minutes % 60:02d}"
    if metric == "steps":
        return f"{round(value):,}"
    return f"{value:.{DECIMALS.get(metric, 1)}f}"


def _round(value: float | None, metric: str) -> float | None:
    if value is None:
        return None
    return round(value, DECIMALS.get(metric, 1) + 1)


def _source_line(point: Point) -> str:
    device = point.device if point.device and point.device != point.source_label else ""
    return f"Source: {point.source_label}" + (f" · {device}" if device else "")


def _sources_caption(series: DailySeries) -> str:
    """Which device the values came from: the device when it names its maker
    ("Oura Ring Gen3"), else source and device; several sources: each with its days."""
    sources = series.sources()
    if len(sources) == 1:
        slug, device, _ = sources[0]
        name = source_label(slug)
        if not device:
            return name
        return device if device.lower().startswith(name.lower()) else f"{name} · {device}"
    return " · ".join(f"{source_label(slug)} {days} d" for slug, _, days in sources)


def _usual_range(series: DailySeries, metric: str, describes: tuple[str, ...]) -> list[Series]:
    """The baseline band (mean ± 1 SD of the prior days) and its mean as a quiet guide line."""
    if not any(p.baseline_mean is not None for p in series.points):
        return []
    return [
        Series(key="usual", label="Usual range", kind="range", color=COLORS["band"], describes=describes,
               points=[(day_iso(p.date), _round(p.baseline_low, metric), _round(p.baseline_high, metric))
                       for p in series.points]),
        Series(key="usual_mean", label="Usual mean", color=COLORS["band_mean"], dash=True, quiet=True,
               points=[(day_iso(p.date), _round(p.baseline_mean, metric)) for p in series.points]),
    ]


def _summary(title: str, metric: str, series: DailySeries, banded: bool) -> str:
    present = series.present
    days = len(series.points)
    if not present:
        return f"{title}: no data in the last {days} days."
    last = present[-1]
    text = (f"{title}: latest {format_value(metric, last.value)} on {last.date:%b} {last.date.day} "
            f"({last.source_label}); {len(present)} of {days} days with data")
    if banded and last.baseline_mean is not None:
        text += (f"; usual range {format_value(metric, last.baseline_low)} to "
                 f"{format_value(metric, last.baseline_high)}")
    return text + "."


def _sleep(series: DailySeries, metric: str) -> tuple[list[Series], list[LegendItem]]:
    """Stacked stages on nights that report every stage; other nights as a total bar."""
    stages = [s for s in ("sleep_deep_hours", "sleep_rem_hours", "sleep_light_hours")
              if any(s in p.extra for p in series.present)]
    staged = [p.value is not None and bool(stages) and all(s in p.extra for s in stages) for p in series.points]
    drawn, legend = [], []
    for stage in stages:
        drawn.append(Series(key=stage, label=STAGE_LABELS[stage], kind="bar", stack="sleep", color=COLORS[stage],
                            points=[(day_iso(p.date), _round(p.extra.get(stage), metric) if ok else None)
                                    for p, ok in zip(series.points, staged, strict=True)]))
        legend.append(LegendItem(STAGE_LABELS[stage], COLORS[stage], "bar"))
    if not all(ok for p, ok in zip(series.points, staged, strict=True) if p.value is not None):
        label = "Total sleep" if not stages else "Total (no stages reported)"
        drawn.append(Series(key="sleep_total", label=label, kind="bar", stack="sleep", color=COLORS["sleep_total"],
                            points=[(day_iso(p.date), _round(p.value, metric) if not ok else None)
                                    for p, ok in zip(series.points, staged, strict=True)]))
        legend.append(LegendItem(label, COLORS["sleep_total"], "bar"))
    return drawn, legend


def chart_spec(metric: str, series: DailySeries, *, baseline_days: int, other: DailySeries | None = None) -> dict:
    """One metric's chart. For HRV, `other` is the series of the other method, drawn as
    separate, labelled points (never joined to the main line, no band)."""
    title = TITLES.get(metric, METRICS[metric].label)
    unit = METRICS[metric].unit
    subtitle = _sources_caption(series)
    series_label = title
    if metric == "hrv" and series.method:
        method = HRV_METHOD_LABELS[series.method]
        series_label = f"HRV ({method})"
        subtitle = f"{method} · {subtitle}"

    if metric == "sleep":
        drawn, legend = _sleep(series, metric)
    else:
        kind = "bar" if metric == "steps" else "line"
        color = COLORS.get(metric, "ink")
        drawn = [Series(key=metric, label=series_label, kind=kind, color=color,
                        points=[(day_iso(p.date), _round(p.value, metric)) for p in series.points])]
        legend = [LegendItem(series_label, color, kind)]

    # The tooltip's footer: the night's total and awake time, and where the day's value came from.
    footers: dict[str, list[str]] = {}
    for p in series.points:
        lines = []
        if metric == "sleep" and p.value is not None:
            awake = p.extra.get("sleep_awake_hours")
            lines.append(f"Total {format_value(metric, p.value)}"
                         + (f" · awake {format_value(metric, awake)}" if awake is not None else ""))
        if p.value is not None:
            lines.append(_source_line(p))
        footers[day_iso(p.date)] = lines

    if metric == "hrv" and other is not None and other.present:
        method = HRV_METHOD_LABELS[other.method]
        drawn.append(Series(key="hrv_other", label=f"{method} (other method)", kind="points",
                            color=COLORS["hrv_other"],
                            points=[(day_iso(p.date), _round(p.value, metric)) for p in other.points]))
        legend.append(LegendItem(f"{method} ({_sources_caption(other)}), other method: not comparable",
                                 COLORS["hrv_other"], "points"))
        for p in other.present:
            footers.setdefault(day_iso(p.date), []).append(_source_line(p))

    # The band describes this patient's usual values of the main series, never the other HRV method.
    band = _usual_range(series, metric, describes=tuple(d.key for d in drawn if d.key != "hrv_other"))
    if band:
        legend.append(LegendItem(f"Usual range ({baseline_days}-day mean ± 1 SD)",
                                 COLORS["band"], "band"))
    first = series.points[0].date if series.points else None
    last = series.points[-1].date if series.points else None
    return Chart(
        key=metric, title=title, unit=unit, subtitle=subtitle or "No source",
        x_kind="day", x_min=day_iso(first) if first else "", x_max=day_iso(last) if last else "",
        series=drawn + band, legend=legend, footers=footers,
        y=Axis(unit=unit, format={"sleep": "duration", "steps": "count"}.get(metric, "number"),
               decimals=DECIMALS.get(metric, 1), begin_at_zero=metric in ("sleep", "steps")),
        summary=_summary(title if metric != "hrv" else series_label, metric, series, bool(band)),
    ).as_dict()


def chart_specs(series: dict[str, DailySeries | None], *, baseline_days: int, days: int | None = None) -> list[dict]:
    """The four trend charts, in reading order. `days` keeps only the last N points
    (the series may have been built longer, e.g. for the 14-day table)."""
    specs = []
    for metric in ("hrv", "resting_hr", "sleep", "steps"):
        main = series.get(metric)
        if main is None:
            continue
        other = series.get("hrv_other") if metric == "hrv" else None
        if days is not None:
            main = DailySeries(main.metric, main.points[-days:], main.method)
            other = DailySeries(other.metric, other.points[-days:], other.method) if other else None
        specs.append(chart_spec(metric, main, baseline_days=baseline_days, other=other))
    return specs
