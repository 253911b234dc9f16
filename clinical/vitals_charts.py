"""Chart definitions for the Vitals tab: one plain, JSON-serialisable dict per chart.

Like wearables/charts.py, the dict says *what* to draw (points with their time,
value, category colour and a tooltip line; the published table's bands as
reference areas; thresholds as lines; an accessible summary), and
static/js/vitals-charts.js draws it with the vendored Chart.js. A PDF report can
draw the same dict.

Times are sent as the patient's program-local wall clock in milliseconds ("as if
UTC"), so the browser's own time zone never shifts a reading to another day.
Invalid readings (impossible values, entered in error) never reach a chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from clinical.observations import CATEGORY_LABELS, CONTEXT_LABELS, SHORT_SOURCES

# Category colours (always shown with their text elsewhere; here the tooltip names them).
BP_COLORS = {"normal": "#2f7d4f", "elevated": "#a46a00", "stage_1": "#d05a12", "stage_2": "#b42318",
             "crisis": "#6b1212"}
GLUCOSE_COLORS = {"normal": "#2f7d4f", "prediabetes": "#a46a00", "diabetes": "#d05a12", "hypo_1": "#b42318",
                  "hypo_2": "#6b1212"}
BMI_COLORS = {"normal": "#2f7d4f", "pre_obese": "#a46a00", "obese_1": "#d05a12", "obese_2": "#b42318",
              "obese_3": "#6b1212", "mild_thinness": "#a46a00", "moderate_thinness": "#d05a12",
              "severe_thinness": "#b42318"}
INTERPRETATION_COLORS = {"normal": "#2f7d4f", "abnormal": "#d05a12", "critical": "#b42318"}
LINE = {"systolic": "#334e68", "diastolic": "#7b8794", "heart_rate": "#9f3a50", "resting_heart_rate": "#3d6f99",
        "spo2": "#0f766e", "weight": "#334e68", "bmi": "#7c5cbf", "glucose": "#334e68",
        "body_temperature": "#9f3a50", "respiratory_rate": "#3d6f99", "range": "rgba(159, 58, 80, 0.18)"}


def _band(low, high, color, label):
    return {"from": low, "to": high, "color": color, "label": label}


# ACC/AHA 2017 office thresholds for systolic (the home line for stage 2 is 135: drawn as a line).
BP_BANDS = [
    _band(None, 120, "rgba(47, 125, 79, 0.07)", "Normal < 120"),
    _band(120, 130, "rgba(164, 106, 0, 0.08)", "Elevated 120–129"),
    _band(130, 140, "rgba(208, 90, 18, 0.08)", "Stage 1 130–139"),
    _band(140, 180, "rgba(180, 35, 24, 0.07)", "Stage 2 ≥ 140"),
    _band(180, None, "rgba(107, 18, 18, 0.12)", "Crisis > 180"),
]
GLUCOSE_BANDS = [
    _band(None, 54, "rgba(107, 18, 18, 0.12)", "Hypoglycemia level 2 < 54"),
    _band(54, 70, "rgba(180, 35, 24, 0.08)", "Hypoglycemia level 1 54–69"),
    _band(100, 126, "rgba(164, 106, 0, 0.08)", "Fasting prediabetes 100–125"),
    _band(126, None, "rgba(208, 90, 18, 0.07)", "Fasting diabetes ≥ 126"),
]
SPO2_BANDS = [_band(None, 90, "rgba(180, 35, 24, 0.09)", "Below 90 %"),
              _band(90, 95, "rgba(164, 106, 0, 0.08)", "90–94 %")]
TEMPERATURE_BANDS = [_band(36.0, 37.9, "rgba(47, 125, 79, 0.07)", "36.0–37.9 °C")]


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


def local_ms(moment: datetime, tz) -> int:
    """The program-local wall clock as epoch milliseconds ("as if UTC")."""
    local = moment.astimezone(tz).replace(tzinfo=UTC)
    return int(local.timestamp() * 1000)


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


def _spec(key, title, unit, *, datasets, bands=(), lines=(), decimals=0, points=(), days=30, metric="",
          legend=(), y2=None, note=""):
    return {"key": key, "title": title, "unit": unit, "decimals": decimals, "datasets": datasets,
            "bands": list(bands), "lines": list(lines), "y2": y2, "legend": list(legend), "note": note,
            "summary": _summary(title, unit, list(points), decimals, days, metric or key),
            "empty": not any(ds["points"] for ds in datasets)}


def _points(points: list[Point], tz, attr="value", *, metric: str, colors=None, decimals=0, unit=""):
    out = []
    for p in points:
        value = getattr(p, attr)
        if value is None:
            continue
        color = (colors or {}).get(p.category) or INTERPRETATION_COLORS.get(p.interpretation, "#334e68")
        extra = []
        if p.count > 1:
            extra.append(f"day mean of {p.count}, range {_fmt(p.low, decimals)}–{_fmt(p.high, decimals)} {unit}")
        if p.source == "patient":
            extra.append("entered by patient")
        elif p.source == "staff":
            extra.append("entered by staff")
        elif p.source:
            extra.append(p.source.replace("_", " ").title())
        out.append({"x": local_ms(p.at, tz), "y": round(value, decimals + 1), "c": color,
                    "t": _category_text(metric, p), "e": "; ".join(extra),
                    "hollow": p.context == "cuffless"})
    return out


def bp_chart(points: list[Point], tz, days: int) -> dict:
    datasets = [
        {"label": "Systolic", "color": LINE["systolic"], "points": _points(points, tz, metric="blood_pressure",
                                                                           colors=BP_COLORS, unit="mmHg")},
        {"label": "Diastolic", "color": LINE["diastolic"], "dash": True,
         "points": _points(points, tz, "value2", metric="blood_pressure", colors=BP_COLORS, unit="mmHg")},
    ]
    lines = [{"y": 135, "label": "Home stage 2 (135)", "color": "#b42318"},
             {"y": 80, "label": "Diastolic 80", "color": "#7b8794"},
             {"y": 90, "label": "Diastolic 90", "color": "#7b8794"}]
    legend = [{"label": label, "color": BP_COLORS[slug], "style": "point"}
              for slug, label in CATEGORY_LABELS["blood_pressure"].items()]
    legend.append({"label": "Cuffless wearable (not for diagnosis)", "color": "#334e68", "style": "hollow"})
    note = ("Shaded bands: ACC/AHA 2017 office thresholds for systolic; dashed lines: diastolic 80 and 90 and the "
            "home stage-2 line (135). Each point is coloured by its own category (home readings use home thresholds).")
    return _spec("blood_pressure", "Blood pressure", "mmHg", datasets=datasets, bands=BP_BANDS, lines=lines,
                 points=points, days=days, legend=legend, note=note)


def simple_chart(key: str, title: str, unit: str, series: list[tuple[str, list[Point], str]], tz, days: int, *,
                 bands=(), lines=(), colors=None, decimals=0, y2=None, legend=(), note="") -> dict:
    """`series`: (label, points, metric) per line; a metric named in `y2` goes on the right axis."""
    datasets = []
    for label, points, metric in series:
        ds = {"label": label, "color": LINE.get(metric, "#334e68"),
              "points": _points(points, tz, metric=metric, colors=colors, decimals=decimals, unit=unit)}
        if y2 and metric == y2["metric"]:
            ds["axis"] = "y2"
        datasets.append(ds)
    main = series[0][1] if series else []
    if not legend:
        legend = [{"label": label, "color": LINE.get(metric, "#334e68"), "style": "line"}
                  for label, _, metric in series]
    return _spec(key, title, unit, datasets=datasets, bands=bands, lines=lines, decimals=decimals, points=main,
                 days=days, metric=series[0][2] if series else key, legend=legend, y2=y2, note=note)


def vitals_charts(by_metric: dict[str, list[Point]], tz, days: int, *, start: datetime, end: datetime) -> list[dict]:
    """The six trend charts, each spanning exactly the chosen range."""
    specs = _charts(by_metric, tz, days)
    for spec in specs:
        spec["x_min"], spec["x_max"] = local_ms(start, tz), local_ms(end, tz)
    return specs


def _charts(by_metric: dict[str, list[Point]], tz, days: int) -> list[dict]:
    get = by_metric.get
    glucose_legend = [{"label": label, "color": GLUCOSE_COLORS[slug], "style": "point"}
                      for slug, label in CATEGORY_LABELS["glucose"].items()]
    return [
        bp_chart(get("blood_pressure", []), tz, days),
        simple_chart("heart_rate", "Heart rate", "bpm",
                     [("Resting heart rate", get("resting_heart_rate", []), "resting_heart_rate"),
                      ("Heart rate", get("heart_rate", []), "heart_rate")], tz, days,
                     note="Many samples a day are shown as the day's mean (the tooltip gives the range)."),
        simple_chart("spo2", "Oxygen saturation", "%", [("SpO₂", get("spo2", []), "spo2")], tz, days,
                     bands=SPO2_BANDS, decimals=1,
                     note="Bands: below 90 % and 90–94 % (common adult reference range, no published table)."),
        simple_chart("weight", "Weight and BMI", "kg",
                     [("Weight (kg)", get("weight", []), "weight"), ("BMI (kg/m²)", get("bmi", []), "bmi")],
                     tz, days, decimals=1, y2={"metric": "bmi", "label": "BMI"},
                     lines=[], note="BMI on the right axis, WHO classes in the tooltip (WHO TRS 894)."),
        simple_chart("glucose", "Glucose", "mg/dL", [("Glucose", get("glucose", []), "glucose")], tz, days,
                     bands=GLUCOSE_BANDS, colors=GLUCOSE_COLORS, legend=glucose_legend,
                     note="Bands: ADA hypoglycemia levels and fasting thresholds; each point is classified with "
                          "its own context (fasting, after a meal, random)."),
        simple_chart("body_temperature", "Temperature", "°C",
                     [("Temperature", get("body_temperature", []), "body_temperature")], tz, days,
                     bands=TEMPERATURE_BANDS, decimals=1),
    ]
