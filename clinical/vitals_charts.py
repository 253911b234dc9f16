"""The Vitals tab's trend charts, as `mahalo.charts` specs (one JSON-ready dict per chart).

Each reading is a point on a time axis (the program's local wall clock, so the viewer's
own time zone never moves a reading to another day), coloured by its own category and
explained in the tooltip; the published tables' categories are reference bands and
their other cut-offs dashed thresholds. `static/js/charts.js` draws them on the page
and `mahalo.charts.to_svg` in a PDF. Invalid readings (impossible values, entered in
error) never reach a chart: the caller passes only valid ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinical.observations import CATEGORY_LABELS, CONTEXT_LABELS, SHORT_SOURCES
from mahalo.charts import Axis, Band, Chart, LegendItem, Series, Threshold, time_iso

# Category -> palette token (severity order); always shown with its text in the tooltip.
BP_MARKS = {"normal": "ok", "elevated": "watch", "stage_1": "high", "stage_2": "alert", "crisis": "severe"}
GLUCOSE_MARKS = {"normal": "ok", "prediabetes": "watch", "diabetes": "high", "hypo_1": "alert", "hypo_2": "severe"}
INTERPRETATION_MARKS = {"normal": "ok", "abnormal": "high", "critical": "alert"}
LINE = {"systolic": "navy", "diastolic": "gray", "heart_rate": "wine", "resting_heart_rate": "blue", "spo2": "teal",
        "weight": "navy", "bmi": "violet", "glucose": "navy", "body_temperature": "wine", "respiratory_rate": "blue"}

# ACC/AHA 2017 office thresholds for systolic (the home line for stage 2 is 135: a threshold).
BP_BANDS = [
    Band(None, 120, "ok-tint", "Normal < 120"),
    Band(120, 130, "watch-tint", "Elevated 120–129"),
    Band(130, 140, "high-tint", "Stage 1 130–139"),
    Band(140, 180, "alert-tint", "Stage 2 ≥ 140"),
    Band(180, None, "severe-tint", "Crisis > 180"),
]
BP_THRESHOLDS = [Threshold(135, "Home stage 2 (135)", "alert"), Threshold(80, "Diastolic 80", "gray"),
                 Threshold(90, "Diastolic 90", "gray")]
GLUCOSE_BANDS = [
    Band(None, 54, "severe-tint", "Hypoglycemia level 2 < 54"),
    Band(54, 70, "alert-tint", "Hypoglycemia level 1 54–69"),
    Band(100, 126, "watch-tint", "Fasting prediabetes 100–125"),
    Band(126, None, "high-tint", "Fasting diabetes ≥ 126"),
]
SPO2_BANDS = [Band(None, 90, "alert-tint", "Below 90 %"), Band(90, 95, "watch-tint", "90–94 %")]
TEMPERATURE_BANDS = [Band(36.0, 37.9, "ok-tint", "36.0–37.9 °C")]


@dataclass(frozen=True, slots=True)
class Point:
    """One reading (or one day's aggregate) ready for a chart."""

    metric: str
    at: datetime  # program-local (aware)
    value: float
    value2: float | None = None
    category: str = ""
    interpretation: str = ""
    context: str = ""
    source: str = ""
    low: float | None = None    # a day's min, when aggregated
    high: float | None = None   # a day's max
    count: int = 1


def _fmt(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def _category_text(metric: str, p: Point) -> str:
    label = CATEGORY_LABELS.get(metric, {}).get(p.category, "")
    if not label:
        return p.interpretation.capitalize() if p.interpretation else ""
    where = [SHORT_SOURCES[metric]]
    if p.context:
        where.append(CONTEXT_LABELS.get(p.context, p.context))
    return f"{label} ({', '.join(where)})"


def _summary(title: str, unit: str, points: list[Point], decimals: int, days: int, metric: str) -> str:
    if not points:
        return f"{title}: no valid readings in the last {days} days."
    last = points[-1]
    value = _fmt(last.value, decimals) + (f"/{_fmt(last.value2, decimals)}" if last.value2 is not None else "")
    text = (f"{title}: {len(points)} readings in the last {days} days; latest {value} {unit} on "
            f"{last.at:%b} {last.at.day}")
    category = _category_text(metric, last)
    return text + (f", {category}." if category else ".")


def _notes(p: Point, metric: str, decimals: int, unit: str) -> list[str]:
    """The tooltip lines under a point's value: its category, then how it was measured."""
    extra = []
    if p.count > 1:
        extra.append(f"day mean of {p.count}, range {_fmt(p.low, decimals)}–{_fmt(p.high, decimals)} {unit}")
    if p.source == "patient":
        extra.append("entered by patient")
    elif p.source == "staff":
        extra.append("entered by staff")
    elif p.source:
        extra.append(p.source.replace("_", " ").title())
    return [line for line in (_category_text(metric, p), "; ".join(extra)) if line]


def _series(key: str, label: str, points: list[Point], tz, *, metric: str, attr: str = "value", marks=None,
            decimals: int = 0, unit: str = "", color: str = "navy", axis: str = "y", dash: bool = False) -> Series:
    kept = [p for p in points if getattr(p, attr) is not None]
    return Series(
        key=key, label=label, color=color, axis=axis, dash=dash,
        points=[(time_iso(p.at, tz), round(getattr(p, attr), decimals + 1)) for p in kept],
        marks=[(marks or {}).get(p.category) or INTERPRETATION_MARKS.get(p.interpretation, "navy") for p in kept],
        hollow=[p.context == "cuffless" for p in kept],
        notes=[_notes(p, metric, decimals, unit) for p in kept],
    )


def bp_chart(points: list[Point], tz, days: int, *, x_min: str, x_max: str) -> dict:
    series = [
        _series("systolic", "Systolic", points, tz, metric="blood_pressure", marks=BP_MARKS, unit="mmHg",
                color=LINE["systolic"]),
        _series("diastolic", "Diastolic", points, tz, metric="blood_pressure", attr="value2", marks=BP_MARKS,
                unit="mmHg", color=LINE["diastolic"], dash=True),
    ]
    legend = [LegendItem(label, BP_MARKS[slug], "point") for slug, label in CATEGORY_LABELS["blood_pressure"].items()]
    legend.append(LegendItem("Cuffless wearable (not for diagnosis)", "navy", "hollow"))
    note = ("Shaded bands: ACC/AHA 2017 office thresholds for systolic; dashed lines: diastolic 80 and 90 and the "
            "home stage-2 line (135). Each point is coloured by its own category (home readings use home thresholds).")
    return Chart(key="blood_pressure", title="Blood pressure", unit="mmHg", x_kind="time", x_min=x_min, x_max=x_max,
                 series=series, y=Axis(unit="mmHg"), bands=BP_BANDS, thresholds=BP_THRESHOLDS, legend=legend,
                 note=note, summary=_summary("Blood pressure", "mmHg", points, 0, days, "blood_pressure")).as_dict()


def simple_chart(key: str, title: str, unit: str, series: list[tuple[str, list[Point], str]], tz, days: int, *,
                 x_min: str, x_max: str, bands=(), marks=None, decimals=0, y2: dict | None = None, legend=None,
                 note="") -> dict:
    """`series`: (label, points, metric) per line; the metric named by `y2["metric"]` goes on the right axis."""
    drawn = []
    for label, points, metric in series:
        on_y2 = bool(y2 and metric == y2["metric"])
        drawn.append(_series(metric, label, points, tz, metric=metric, marks=marks, decimals=decimals, unit=unit,
                             color=LINE.get(metric, "navy"), axis="y2" if on_y2 else "y"))
    main = series[0][1] if series else []
    return Chart(
        key=key, title=title, unit=unit, x_kind="time", x_min=x_min, x_max=x_max, series=drawn,
        y=Axis(label=unit if y2 else "", unit=unit, decimals=decimals),
        y2=Axis(label=y2["label"], decimals=decimals) if y2 else None,
        bands=list(bands), legend=legend, note=note,
        summary=_summary(title, unit, list(main), decimals, days, series[0][2] if series else key),
    ).as_dict()


def vitals_charts(by_metric: dict[str, list[Point]], tz, days: int, *, start: datetime, end: datetime) -> list[dict]:
    """The six trend charts, each spanning exactly the chosen range."""
    get = by_metric.get
    span = {"x_min": time_iso(start, tz), "x_max": time_iso(end, tz)}
    glucose_legend = [LegendItem(label, GLUCOSE_MARKS[slug], "point")
                      for slug, label in CATEGORY_LABELS["glucose"].items()]
    return [
        bp_chart(get("blood_pressure", []), tz, days, **span),
        simple_chart("heart_rate", "Heart rate", "bpm",
                     [("Resting heart rate", get("resting_heart_rate", []), "resting_heart_rate"),
                      ("Heart rate", get("heart_rate", []), "heart_rate")], tz, days, **span,
                     note="Many samples a day are shown as the day's mean (the tooltip gives the range)."),
        simple_chart("spo2", "Oxygen saturation", "%", [("SpO₂", get("spo2", []), "spo2")], tz, days, **span,
                     bands=SPO2_BANDS, decimals=1,
                     note="Bands: below 90 % and 90–94 % (common adult reference range, no published table)."),
        simple_chart("weight", "Weight and BMI", "kg",
                     [("Weight (kg)", get("weight", []), "weight"), ("BMI (kg/m²)", get("bmi", []), "bmi")],
                     tz, days, **span, decimals=1, y2={"metric": "bmi", "label": "BMI"},
                     note="BMI on the right axis, WHO classes in the tooltip (WHO TRS 894)."),
        simple_chart("glucose", "Glucose", "mg/dL", [("Glucose", get("glucose", []), "glucose")], tz, days, **span,
                     bands=GLUCOSE_BANDS, marks=GLUCOSE_MARKS, legend=glucose_legend,
                     note="Bands: ADA hypoglycemia levels and fasting thresholds; each point is classified with "
                          "its own context (fasting, after a meal, random)."),
        simple_chart("body_temperature", "Temperature", "°C",
                     [("Temperature", get("body_temperature", []), "body_temperature")], tz, days, **span,
                     bands=TEMPERATURE_BANDS, decimals=1),
    ]
