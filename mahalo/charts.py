"""The one chart-spec format: what a chart shows, never how a library draws it.

Every plotted graph (the Vitals and Wearables tabs today; nutrition, assessments and
rehab next; the PDF reports) is described by one `Chart`, built on the server by the
app that owns the data, and drawn by

- the browser: `static/js/charts.js` (vendored Chart.js, per-chart options only),
  fed by `templates/_chart.html`, which writes `chart.as_dict()` as JSON;
- a PDF or e-mail: `to_svg(spec)` below (plain SVG, no JavaScript).

The JSON form (`Chart.as_dict()`, what builders hand to views and templates) is:

    key        str   unique on the page ("blood_pressure"); names the canvas and its JSON
    title      str   the card's heading ("Blood pressure")
    unit       str   the main axis's unit ("mmHg"), shown beside the title
    subtitle   str   optional line under the title (the data's source)
    note       str   optional footnote under the chart (what the bands mean)
    summary    str   the text alternative: one sentence a screen reader reads for the canvas
    empty      bool  no series has a value: the card says so instead of drawing
    x          {"kind": "day" | "time", "min": iso, "max": iso}
               day:  one slot per local date from min to max ("2025-05-01"); bars fit here
               time: a continuous axis of program-local wall-clock times ("2025-05-01T08:30",
                     no offset: the patient's program time zone already decided it)
    y, y2      {"label", "unit", "format": "number" | "duration" | "count", "decimals",
                "begin_at_zero", "min", "max"}; y2 is null unless a series uses it
    series     [{"key", "label", "kind", "color", "axis": "y" | "y2", "stack", "dash",
                 "points", "marks", "hollow", "notes", "describes", "quiet"}, ...]
               kind   line   points joined in x order; a null value is a gap (the line breaks)
                      bar    one bar per x; bars sharing a non-empty `stack` pile up
                      points markers only, never joined (e.g. a measurement not comparable
                             with the line beside it)
                      range  a shaded area between low and high: points are [x, low, high];
                             the tooltip shows it only beside a value of a series it
                             `describes` (so a band never invites a comparison on its own)
               points [[x, value], ...] in x order; value null = gap. Day charts list every day.
               marks  optional per-point colour token (e.g. each reading in its category colour)
               hollow optional per-point bool (drawn as an open marker: e.g. cuffless BP)
               notes  optional per-point list of extra tooltip lines
               quiet  a guide drawn with the data but left out of tooltip and legend
    bands      [{"low", "high", "color", "label"}]  fixed reference areas on the y axis
               (a published table's categories); low/high null = open-ended
    thresholds [{"y", "label", "color"}]  dashed reference lines
    footers    {x: [lines]}  extra tooltip lines for one x (a night's total, the day's source)
    legend     [{"label", "color", "style": "line" | "bar" | "point" | "hollow" | "points" |
                 "band", "hex"}]  (derived from the series unless given)
    palette    {token: css colour} for every token this chart uses

Colours are tokens of the one `PALETTE`; the JSON carries the tokens it uses with their
values, so the browser, SVG and PDF all draw the same colours and nothing else holds a
colour table. Everything is JSON-serialisable; no HTML in any string (templates escape).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

# The one palette. Series hues are calm and distinguishable on white; the status
# colours follow the published tables' severity order and always come with text.
PALETTE: dict[str, str] = {
    # series
    "navy": "#334e68", "gray": "#7b8794", "wine": "#9f3a50", "blue": "#3d6f99", "teal": "#0f766e",
    "violet": "#7c5cbf", "ochre": "#a16207", "ink": "#334155", "indigo-deep": "#312e81", "indigo": "#6366f1",
    "lavender": "#a5b4fc", "slate": "#94a3b8",
    # status (category markers, thresholds)
    "ok": "#2f7d4f", "watch": "#a46a00", "high": "#d05a12", "alert": "#b42318", "severe": "#6b1212",
    # tints for reference bands (under the data, so they must stay faint)
    "ok-tint": "rgba(47, 125, 79, 0.07)", "watch-tint": "rgba(164, 106, 0, 0.08)",
    "high-tint": "rgba(208, 90, 18, 0.08)", "alert-tint": "rgba(180, 35, 24, 0.08)",
    "severe-tint": "rgba(107, 18, 18, 0.12)",
    # a patient's own usual range and its mean
    "range": "rgba(71, 85, 105, 0.13)", "range-line": "rgba(71, 85, 105, 0.55)",
}
# Axis text and grid: the page's muted text colour, contrast >= 4.5:1 on white.
AXIS_TEXT = "#5b6673"
AXIS_LINE = "#c5ccd4"
GRID = "#eef1f4"
WHITE = '"#ffffff"'  # an SVG attribute value, quoted

KINDS = ("line", "bar", "points", "range")
X_KINDS = ("day", "time")
FORMATS = ("number", "duration", "count")
LEGEND_STYLES = ("line", "bar", "point", "hollow", "points", "band")


def _check_token(token: str) -> str:
    if token not in PALETTE:
        raise ValueError(f"unknown colour token {token!r}: add it to mahalo.charts.PALETTE")
    return token


def day_iso(value: date) -> str:
    """A local date as a day chart's x."""
    return value.isoformat()


def time_iso(moment: datetime, tz) -> str:
    """An aware moment as a time chart's x: the wall clock in `tz` (the program's), no offset,
    so the viewer's own time zone never moves a reading to another day."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: charts take aware moments")
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


@dataclass(slots=True)
class Axis:
    label: str = ""
    unit: str = ""
    format: str = "number"
    decimals: int = 0
    begin_at_zero: bool = False
    min: float | None = None
    max: float | None = None

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"axis format {self.format!r} not in {FORMATS}")


@dataclass(slots=True)
class Series:
    key: str
    label: str
    points: list  # [(x, value)]; range: [(x, low, high)]; None = gap
    kind: str = "line"
    color: str = "navy"
    axis: str = "y"
    stack: str = ""
    dash: bool = False
    marks: list[str] | None = None
    hollow: list[bool] | None = None
    notes: list[list[str]] | None = None
    describes: tuple[str, ...] = ()
    quiet: bool = False  # a guide (a range's mean): drawn, but not data: no tooltip, no legend entry

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"series kind {self.kind!r} not in {KINDS}")
        if self.axis not in ("y", "y2"):
            raise ValueError("axis is 'y' or 'y2'")
        _check_token(self.color)
        width = 3 if self.kind == "range" else 2
        if any(len(p) != width for p in self.points):
            raise ValueError(f"{self.kind} points are tuples of {width}")
        for name in ("marks", "hollow", "notes"):
            extra = getattr(self, name)
            if extra is not None and len(extra) != len(self.points):
                raise ValueError(f"{name} needs one entry per point")
        for token in self.marks or ():
            _check_token(token)

    @property
    def has_values(self) -> bool:
        return any(v is not None for p in self.points for v in p[1:])


@dataclass(slots=True)
class Band:
    low: float | None
    high: float | None
    color: str
    label: str

    def __post_init__(self):
        _check_token(self.color)


@dataclass(slots=True)
class Threshold:
    y: float
    label: str
    color: str = "alert"

    def __post_init__(self):
        _check_token(self.color)


@dataclass(slots=True)
class LegendItem:
    label: str
    color: str
    style: str = "line"

    def __post_init__(self):
        _check_token(self.color)
        if self.style not in LEGEND_STYLES:
            raise ValueError(f"legend style {self.style!r} not in {LEGEND_STYLES}")


@dataclass(slots=True)
class Chart:
    key: str
    title: str
    x_kind: str
    x_min: str
    x_max: str
    series: list[Series]
    unit: str = ""
    subtitle: str = ""
    note: str = ""
    summary: str = ""
    y: Axis = field(default_factory=Axis)
    y2: Axis | None = None
    bands: list[Band] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    footers: dict[str, list[str]] = field(default_factory=dict)
    legend: list[LegendItem] | None = None  # None: one entry per series

    def __post_init__(self):
        if self.x_kind not in X_KINDS:
            raise ValueError(f"x kind {self.x_kind!r} not in {X_KINDS}")
        if any(s.axis == "y2" for s in self.series) and self.y2 is None:
            raise ValueError("a series on y2 needs the chart's y2 axis")

    @property
    def empty(self) -> bool:
        """Nothing measured to draw: a reference range or a guide alone is not data."""
        return not any(s.has_values for s in self.series if s.kind != "range" and not s.quiet)

    def legend_items(self) -> list[LegendItem]:
        if self.legend is not None:
            return self.legend
        style = {"line": "line", "bar": "bar", "points": "points", "range": "band"}
        return [LegendItem(s.label, s.color, style[s.kind]) for s in self.series if not s.quiet]

    def as_dict(self) -> dict:
        """The JSON form (see the module docstring): what views, templates, JS and SVG read."""
        legend = self.legend_items()
        tokens = {s.color for s in self.series} | {m for s in self.series for m in (s.marks or ())}
        tokens |= {b.color for b in self.bands} | {t.color for t in self.thresholds} | {i.color for i in legend}
        return {
            "key": self.key, "title": self.title, "unit": self.unit, "subtitle": self.subtitle,
            "note": self.note, "summary": self.summary, "empty": self.empty,
            "x": {"kind": self.x_kind, "min": self.x_min, "max": self.x_max},
            "y": _axis_dict(self.y),
            "y2": _axis_dict(self.y2) if self.y2 else None,
            "series": [_series_dict(s) for s in self.series],
            "bands": [{"low": b.low, "high": b.high, "color": b.color, "label": b.label} for b in self.bands],
            "thresholds": [{"y": t.y, "label": t.label, "color": t.color} for t in self.thresholds],
            "footers": {x: list(lines) for x, lines in self.footers.items() if lines},
            "legend": [{"label": i.label, "color": i.color, "style": i.style, "hex": PALETTE[i.color]}
                       for i in legend],
            "palette": {t: PALETTE[t] for t in sorted(tokens)},
        }


def _axis_dict(axis: Axis) -> dict:
    return {"label": axis.label, "unit": axis.unit, "format": axis.format, "decimals": axis.decimals,
            "begin_at_zero": axis.begin_at_zero, "min": axis.min, "max": axis.max}


def _series_dict(s: Series) -> dict:
    return {"key": s.key, "label": s.label, "kind": s.kind, "color": s.color, "axis": s.axis, "stack": s.stack,
            "dash": s.dash, "points": [list(p) for p in s.points], "marks": s.marks, "hollow": s.hollow,
            "notes": [list(n) for n in s.notes] if s.notes is not None else None, "describes": list(s.describes),
            "quiet": s.quiet}


# --- SVG (PDF reports, e-mail): the same spec without a browser --------------------------

def days_between(first: str, last: str) -> list[str]:
    """Every local date from `first` to `last` inclusive, as a day chart's slots."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]


def _domain(spec: dict, axis: str) -> tuple[float, float]:
    conf = spec[axis] or {}
    values = [v for s in spec["series"] if s["axis"] == axis for p in s["points"] for v in p[1:] if v is not None]
    if axis == "y":
        values += [t["y"] for t in spec["thresholds"]]
    if not values:
        values = [0.0, 1.0]
    low, high = min(values), max(values)
    grace = (high - low) * 0.08 or abs(high) * 0.08 or 1
    low, high = low - grace, high + grace
    if conf.get("begin_at_zero") and low > 0:
        low = 0.0
    if conf.get("min") is not None:
        low = conf["min"]
    if conf.get("max") is not None:
        high = conf["max"]
    return low, high


def _tick_text(value: float, axis: dict) -> str:
    if axis["format"] == "duration":
        return f"{value:g} h"
    if axis["format"] == "count" and value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def to_svg(spec: dict | Chart, *, width: int = 640, height: int = 220) -> str:
    """A static SVG of one chart spec (its JSON form or the `Chart`): bands, the usual-range
    areas, bars, lines broken at gaps, markers, thresholds, axes. Accessible: the title and
    the summary are the SVG's <title> and <desc>. For PDFs: no script, no external reference."""
    if isinstance(spec, Chart):
        spec = spec.as_dict()
    palette = spec["palette"]
    left, right, top, bottom = 44, width - (44 if spec["y2"] else 12), 10, height - 24
    y_low, y_high = _domain(spec, "y")
    y2_low, y2_high = _domain(spec, "y2") if spec["y2"] else (0.0, 1.0)

    if spec["x"]["kind"] == "day":
        slots = days_between(spec["x"]["min"], spec["x"]["max"])
        index = {d: i for i, d in enumerate(slots)}
        slot_w = (right - left) / max(1, len(slots))

        def px(x: str) -> float | None:
            i = index.get(x[:10])
            return None if i is None else left + (i + 0.5) * slot_w
        ticks_x = [(px(d), d) for d in slots[:: max(1, len(slots) // 6)]]
    else:
        x0, x1 = _wall_clock(spec["x"]["min"]), _wall_clock(spec["x"]["max"])
        span = (x1 - x0).total_seconds() or 1
        slot_w = 6.0

        def px(x: str) -> float | None:
            return left + (_wall_clock(x) - x0).total_seconds() / span * (right - left)
        ticks_x = [(left + i * (right - left) / 6, (x0 + (x1 - x0) * i / 6).date().isoformat()) for i in range(7)]

    def py(value: float, axis: str = "y") -> float:
        low, high = (y_low, y_high) if axis == "y" else (y2_low, y2_high)
        frac = (value - low) / ((high - low) or 1)
        return bottom - max(0.0, min(1.0, frac)) * (bottom - top)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="c-{escape(spec["key"])}-t '
           f'c-{escape(spec["key"])}-d" font-family="sans-serif" font-size="10">',
           f'<title id="c-{escape(spec["key"])}-t">{escape(spec["title"])}</title>',
           f'<desc id="c-{escape(spec["key"])}-d">{escape(spec["summary"])}</desc>']
    for band in spec["bands"]:
        y_top = top if band["high"] is None else py(band["high"])
        y_bot = bottom if band["low"] is None else py(band["low"])
        if y_bot > y_top:
            out.append(f'<rect x="{left}" y="{y_top:.1f}" width="{right - left}" height="{y_bot - y_top:.1f}" '
                       f'fill={quoteattr(palette[band["color"]])}><title>{escape(band["label"])}</title></rect>')
    for tick in _nice_ticks(y_low, y_high):
        out.append(f'<line x1="{left}" x2="{right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="{GRID}"/>'
                   f'<text x="{left - 4}" y="{py(tick) + 3:.1f}" text-anchor="end" fill="{AXIS_TEXT}">'
                   f'{escape(_tick_text(tick, spec["y"]))}</text>')
    if spec["y2"]:
        for tick in _nice_ticks(y2_low, y2_high):
            out.append(f'<text x="{right + 4}" y="{py(tick, "y2") + 3:.1f}" fill="{AXIS_TEXT}">'
                       f'{escape(_tick_text(tick, spec["y2"]))}</text>')
    for x, label in ticks_x:
        out.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="{AXIS_TEXT}">'
                   f'{_short_date(label)}</text>')
    out.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{AXIS_LINE}"/>')

    stacks: dict[tuple[str, str], float] = {}
    bars = [s for s in spec["series"] if s["kind"] == "bar"]
    groups = list(dict.fromkeys(s["stack"] or s["key"] for s in bars))
    for s in sorted(spec["series"], key=lambda s: KINDS.index(s["kind"]) if s["kind"] != "range" else -1):
        colour = quoteattr(palette[s["color"]])
        if s["kind"] == "range":
            for run in _runs([(px(x), lo, hi) for x, lo, hi in s["points"]]):
                upper = " ".join(f"{x:.1f},{py(hi, s['axis']):.1f}" for x, _, hi in run)
                lower = " ".join(f"{x:.1f},{py(lo, s['axis']):.1f}" for x, lo, _ in reversed(run))
                out.append(f'<polygon points="{upper} {lower}" fill={colour}/>')
        elif s["kind"] == "bar":
            group = s["stack"] or s["key"]
            bar_w = slot_w * 0.8 / len(groups)
            for x, value in s["points"]:
                cx = px(x)
                if value is None or cx is None:
                    continue
                base = stacks.get((group, x), 0.0)
                stacks[(group, x)] = base + value
                x_left = cx - slot_w * 0.4 + groups.index(group) * bar_w
                y_top, y_bot = py(base + value, s["axis"]), py(base, s["axis"])
                out.append(f'<rect x="{x_left:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                           f'height="{max(0.0, y_bot - y_top):.1f}" fill={colour}/>')
        else:
            if s["kind"] == "line":
                for run in _runs([(px(x), v) for x, v in s["points"]]):
                    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{py(v, s['axis']):.1f}"
                                    for i, (x, v) in enumerate(run))
                    dash = ' stroke-dasharray="5 4"' if s["dash"] else ""
                    out.append(f'<path d="{path}" fill="none" stroke={colour} stroke-width="1.5"{dash}/>')
            for i, (x, value) in enumerate(s["points"]):
                cx = px(x)
                if value is None or cx is None:
                    continue
                mark = quoteattr(palette[s["marks"][i]]) if s["marks"] else colour
                hollow = bool(s["hollow"] and s["hollow"][i]) or s["kind"] == "points"
                fill = WHITE if hollow else mark
                out.append(f'<circle cx="{cx:.1f}" cy="{py(value, s["axis"]):.1f}" r="2.5" '
                           f'fill={fill} stroke={mark}/>')
    for t in spec["thresholds"]:
        if y_low <= t["y"] <= y_high:
            out.append(f'<line x1="{left}" x2="{right}" y1="{py(t["y"]):.1f}" y2="{py(t["y"]):.1f}" '
                       f'stroke={quoteattr(palette[t["color"]])} stroke-dasharray="4 4" stroke-opacity="0.55">'
                       f'<title>{escape(t["label"])}</title></line>')
    out.append("</svg>")
    return "".join(out)


def _wall_clock(x: str) -> datetime:
    """A spec's x (program-local wall clock) as an aware datetime "as if UTC", for arithmetic."""
    return datetime.fromisoformat(x).replace(tzinfo=UTC)


def _short_date(iso: str) -> str:
    day = date.fromisoformat(iso[:10])
    return f"{day:%b} {day.day}"


def _runs(points: list[tuple]) -> list[list[tuple]]:
    """Split points at gaps (a None anywhere in the tuple): a line never bridges a gap."""
    runs: list[list[tuple]] = [[]]
    for p in points:
        if any(v is None for v in p):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(p)
    return [r for r in runs if r]
