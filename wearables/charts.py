"""Chart definitions for the wearables trends: one plain dict per metric.

The dict describes *what* to draw (dates, series with their source per point, the
baseline band, units, colours, an accessible summary), not how a particular
library draws it. The chart tab hands it to static/js/wearables-charts.js
(Chart.js); a PDF report can draw the same dict server-side. Everything in it
is JSON-serialisable.
"""

from __future__ import annotations

from wearables.daily import BASELINE_MIN_POINTS, HRV_METHOD_LABELS, METRICS, Point, Series, source_label

# Calm, distinguishable on white, and none of them an alarm red: the band and
# these colours must stay readable for a whole shift.
COLORS = {
    "hrv": "#0f766e",
    "hrv_other": "#a16207",
    "resting_hr": "#9f3a50",
    "steps": "#3d6f99",
    "sleep_deep_hours": "#312e81",
    "sleep_rem_hours": "#6366f1",
    "sleep_light_hours": "#a5b4fc",
    "sleep_total": "#94a3b8",
    "band": "rgba(71, 85, 105, 0.13)",
    "band_mean": "rgba(71, 85, 105, 0.55)",
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


def _meta(point: Point) -> list[str] | None:
    return [point.source_label, point.device] if point.value is not None else None


def _sources_caption(series: Series) -> str:
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


def _band(series: Series, metric: str, baseline_days: int) -> dict | None:
    if not any(p.baseline_mean is not None for p in series.points):
        return None
    return {
        "label": f"Usual range: {baseline_days}-day mean ± 1 SD (needs {BASELINE_MIN_POINTS} days)",
        "lower": [_round(p.baseline_low, metric) for p in series.points],
        "upper": [_round(p.baseline_high, metric) for p in series.points],
        "mean": [_round(p.baseline_mean, metric) for p in series.points],
        "color": COLORS["band"],
        "mean_color": COLORS["band_mean"],
    }


def _summary(title: str, metric: str, series: Series, band: dict | None) -> str:
    present = series.present
    days = len(series.points)
    if not present:
        return f"{title}: no data in the last {days} days."
    last = present[-1]
    text = (f"{title}: latest {format_value(metric, last.value)} on {last.date:%b} {last.date.day} "
            f"({last.source_label}); {len(present)} of {days} days with data")
    if band is not None and last.baseline_mean is not None:
        text += (f"; usual range {format_value(metric, last.baseline_low)} to "
                 f"{format_value(metric, last.baseline_high)}")
    return text + "."


def chart_spec(metric: str, series: Series, *, baseline_days: int, other: Series | None = None) -> dict:
    """One metric's chart. For HRV, `other` is the series of the other method, drawn as
    separate, labelled points (never joined to the main line, no band)."""
    title = TITLES.get(metric, METRICS[metric].label)
    unit = METRICS[metric].unit
    dates = [p.date.isoformat() for p in series.points]
    datasets: list[dict] = []
    legend: list[dict] = []
    subtitle = _sources_caption(series)
    series_label = title
    if metric == "hrv" and series.method:
        method = HRV_METHOD_LABELS[series.method]
        series_label = f"HRV ({method})"
        subtitle = f"{method} · {subtitle}"

    if metric == "sleep":
        stages = [s for s in ("sleep_deep_hours", "sleep_rem_hours", "sleep_light_hours")
                  if any(s in p.extra for p in series.present)]
        staged = [p.value is not None and all(s in p.extra for s in stages) and bool(stages) for p in series.points]
        for stage in stages:
            datasets.append({"key": stage, "label": STAGE_LABELS[stage], "style": "bar", "stack": "sleep",
                             "color": COLORS[stage],
                             "values": [_round(p.extra.get(stage), metric) if ok else None
                                        for p, ok in zip(series.points, staged, strict=True)],
                             "meta": [_meta(p) if ok else None for p, ok in zip(series.points, staged, strict=True)]})
            legend.append({"label": STAGE_LABELS[stage], "color": COLORS[stage], "style": "bar"})
        # Nights reported without stages still show, as a total.
        if not all(staged[i] for i, p in enumerate(series.points) if p.value is not None):
            label = "Total sleep" if not stages else "Total (no stages reported)"
            datasets.append({"key": "sleep_total", "label": label, "style": "bar", "stack": "sleep",
                             "color": COLORS["sleep_total"],
                             "values": [_round(p.value, metric) if not ok else None
                                        for p, ok in zip(series.points, staged, strict=True)],
                             "meta": [_meta(p) if not ok else None
                                      for p, ok in zip(series.points, staged, strict=True)]})
            legend.append({"label": label, "color": COLORS["sleep_total"], "style": "bar"})
        # The tooltip shows the night's total and awake time, whatever is stacked.
        totals = {"totals": [_round(p.value, metric) for p in series.points],
                  "awake": [_round(p.extra.get("sleep_awake_hours"), metric) for p in series.points]}
    else:
        totals = {}
        style = "bar" if metric == "steps" else "line"
        datasets.append({"key": metric, "label": series_label, "style": style, "color": COLORS.get(metric, "#334155"),
                         "values": [_round(p.value, metric) for p in series.points],
                         "meta": [_meta(p) for p in series.points]})
        legend.append({"label": series_label, "color": COLORS.get(metric, "#334155"), "style": style})

    if metric == "hrv" and other is not None and other.present:
        method = HRV_METHOD_LABELS[other.method]
        label = f"{method} ({_sources_caption(other)}), days without {HRV_METHOD_LABELS[series.method]}"
        datasets.append({"key": "hrv_other", "label": label, "style": "points", "color": COLORS["hrv_other"],
                         "method": method,
                         "values": [_round(p.value, metric) for p in other.points],
                         "meta": [_meta(p) for p in other.points]})
        legend.append({"label": f"{method}, other method: not comparable", "color": COLORS["hrv_other"],
                       "style": "points"})

    band = _band(series, metric, baseline_days)
    if band is not None:
        legend.append({"label": f"Usual range ({baseline_days}-day mean ± 1 SD)", "color": COLORS["band"],
                       "style": "band"})
    return {
        "key": metric,
        "title": title,
        "subtitle": subtitle or "No source",
        "unit": unit,
        "decimals": DECIMALS.get(metric, 1),
        "format": {"sleep": "duration", "steps": "count"}.get(metric, "number"),
        "dates": dates,
        "datasets": datasets,
        "band": band,
        "legend": legend,
        "begin_at_zero": metric in ("sleep", "steps"),
        "summary": _summary(title if metric != "hrv" else series_label, metric, series, band),
        "empty": not series.present and not (other and other.present),
        **totals,
    }


def chart_specs(series: dict[str, Series | None], *, baseline_days: int, days: int | None = None) -> list[dict]:
    """The four trend charts, in reading order. `days` keeps only the last N points
    (the series may have been built longer, e.g. for the 14-day table)."""
    specs = []
    for metric in ("hrv", "resting_hr", "sleep", "steps"):
        main = series.get(metric)
        if main is None:
            continue
        other = series.get("hrv_other") if metric == "hrv" else None
        if days is not None:
            main = Series(main.metric, main.points[-days:], main.method)
            other = Series(other.metric, other.points[-days:], other.method) if other else None
        specs.append(chart_spec(metric, main, baseline_days=baseline_days, other=other))
    return specs
