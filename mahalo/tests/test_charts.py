"""The chart-spec format (mahalo/charts.py): what it accepts, its JSON form, and the SVG
a PDF report draws from the same spec."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from defusedxml import ElementTree as ET

from mahalo.charts import PALETTE, Axis, Band, Chart, LegendItem, Series, Threshold, days_between, time_iso, to_svg

SVG = "{http://www.w3.org/2000/svg}"


def day_chart(**overrides) -> Chart:
    fields = dict(
        key="steps", title="Steps", unit="steps", x_kind="day", x_min="2025-05-01", x_max="2025-05-05",
        series=[
            Series("steps", "Steps", [("2025-05-01", 4000), ("2025-05-02", None), ("2025-05-03", 6100),
                                      ("2025-05-04", 5000), ("2025-05-05", 5200)], kind="bar", color="blue"),
            Series("usual", "Usual range", [("2025-05-01", None, None), ("2025-05-02", 3000, 6000),
                                            ("2025-05-03", None, None), ("2025-05-04", 3100, 6200),
                                            ("2025-05-05", 3200, 6300)], kind="range", color="range",
                   describes=("steps",)),
            Series("usual_mean", "Usual mean", [("2025-05-01", None), ("2025-05-02", 4500), ("2025-05-03", 4600),
                                                ("2025-05-04", 4700), ("2025-05-05", 4800)], color="range-line",
                   dash=True, quiet=True),
        ],
        y=Axis(unit="steps", format="count", begin_at_zero=True), summary="Steps: latest 5,200 on May 5.",
        footers={"2025-05-05": ["Source: Oura"], "2025-05-02": []},
    )
    fields.update(overrides)
    return Chart(**fields)


def time_chart(**overrides) -> Chart:
    fields = dict(
        key="blood_pressure", title="Blood pressure", unit="mmHg", x_kind="time", x_min="2025-05-01T00:00",
        x_max="2025-05-31T00:00",
        series=[
            Series("systolic", "Systolic", [("2025-05-02T08:30", 134), ("2025-05-10T09:00", None),
                                            ("2025-05-20T07:45", 142)], color="navy",
                   marks=["high", "navy", "alert"], hollow=[False, False, True],
                   notes=[["Stage 1 hypertension"], [], ["Stage 2 hypertension", "Cuffless"]]),
        ],
        bands=[Band(None, 120, "ok-tint", "Normal < 120"), Band(140, None, "alert-tint", "Stage 2 ≥ 140")],
        thresholds=[Threshold(135, "Home stage 2 (135)")],
        summary="Blood pressure: 2 readings.",
    )
    fields.update(overrides)
    return Chart(**fields)


# --- the JSON form -----------------------------------------------------------------------

def test_the_json_form_round_trips_and_carries_only_the_colours_it_uses():
    spec = day_chart().as_dict()
    assert json.loads(json.dumps(spec)) == spec
    assert spec["x"] == {"kind": "day", "min": "2025-05-01", "max": "2025-05-05"}
    assert spec["palette"] == {t: PALETTE[t] for t in ("blue", "range", "range-line")}
    assert spec["series"][0]["points"][1] == ["2025-05-02", None]  # a gap stays a gap
    assert spec["series"][1]["describes"] == ["steps"]
    # The legend comes from the series, without the quiet guide line; with each colour's value.
    assert [(i["label"], i["style"], i["hex"]) for i in spec["legend"]] == [
        ("Steps", "bar", PALETTE["blue"]), ("Usual range", "band", PALETTE["range"])]
    assert spec["footers"] == {"2025-05-05": ["Source: Oura"]}  # no empty footers
    assert spec["y2"] is None and spec["y"]["format"] == "count" and not spec["empty"]


def test_an_explicit_legend_replaces_the_derived_one():
    spec = time_chart(legend=[LegendItem("Stage 1", "high", "point"), LegendItem("Cuffless", "navy", "hollow")])
    assert [i["style"] for i in spec.as_dict()["legend"]] == ["point", "hollow"]
    assert set(spec.as_dict()["palette"]) == {"navy", "high", "alert", "ok-tint", "alert-tint"}


def test_a_chart_with_only_a_usual_range_or_a_guide_is_empty():
    chart = day_chart()
    chart.series[0].points = [(x, None) for x, _ in chart.series[0].points]
    assert chart.empty and chart.as_dict()["empty"]
    assert not day_chart().empty


@pytest.mark.parametrize("build, message", [
    (lambda: Series("a", "A", [("2025-05-01", 1)], color="fuchsia"), "unknown colour token"),
    (lambda: Series("a", "A", [("2025-05-01", 1)], kind="pie"), "kind"),
    (lambda: Series("a", "A", [("2025-05-01", 1)], kind="range"), "tuples of 3"),
    (lambda: Series("a", "A", [("2025-05-01", 1)], marks=["ok", "ok"]), "one entry per point"),
    (lambda: Series("a", "A", [("2025-05-01", 1)], marks=["nope"]), "unknown colour token"),
    (lambda: Series("a", "A", [], axis="y3"), "axis"),
    (lambda: Axis(format="percent"), "format"),
    (lambda: Band(1, 2, "#ff0000", "raw hex"), "unknown colour token"),
    (lambda: LegendItem("x", "ok", "pie"), "legend style"),
    (lambda: time_chart(x_kind="week"), "x kind"),
    (lambda: time_chart(series=[Series("b", "BMI", [], axis="y2")]), "y2"),
    (lambda: time_iso(datetime(2025, 5, 1, 8, 0), UTC), "naive"),
])
def test_what_the_format_refuses(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_time_x_is_the_programs_wall_clock():
    moment = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
    assert time_iso(moment, ZoneInfo("Pacific/Honolulu")) == "2025-02-28T16:30"  # the evening before, locally
    assert time_iso(moment, ZoneInfo("Europe/Berlin")) == "2025-03-01T03:30"


def test_days_between():
    assert days_between("2025-02-27", "2025-03-02") == ["2025-02-27", "2025-02-28", "2025-03-01", "2025-03-02"]
    assert days_between("2025-05-01", "2025-05-01") == ["2025-05-01"]


# --- SVG from the same spec ----------------------------------------------------------------

def parse(svg: str):
    root = ET.fromstring(svg)  # well-formed XML or this raises
    assert root.tag == f"{SVG}svg"
    return root


def test_svg_of_a_day_chart_draws_bars_without_the_gap_and_the_range_in_runs():
    root = parse(to_svg(day_chart()))
    assert root.find(f"{SVG}title").text == "Steps"
    assert root.find(f"{SVG}desc").text == "Steps: latest 5,200 on May 5."
    assert root.get("role") == "img"
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == PALETTE["blue"]]
    assert len(bars) == 4  # five days, one gap
    xs = [float(r.get("x")) for r in bars]
    assert xs == sorted(xs)
    areas = list(root.iter(f"{SVG}polygon"))
    assert len(areas) == 2  # the range breaks at the day it has no value: May 2, then May 4-5
    assert all(a.get("fill") == PALETTE["range"] for a in areas)
    guide = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == PALETTE["range-line"]]
    assert len(guide) == 1 and guide[0].get("stroke-dasharray")
    # A count axis from zero, ticks in thousands.
    ticks = [t.text for t in root.iter(f"{SVG}text")]
    assert "0" in ticks and any(t.endswith("k") for t in ticks)


def test_svg_of_a_time_chart_breaks_the_line_at_a_gap_and_keeps_colours():
    root = parse(to_svg(time_chart(), width=500, height=200))
    assert root.get("width") == "500"
    lines = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == PALETTE["navy"]]
    assert len(lines) == 2 and all(p.get("d").count("M") == 1 for p in lines)  # one run each side of the gap
    markers = list(root.iter(f"{SVG}circle"))
    assert [(c.get("fill"), c.get("stroke")) for c in markers] == [
        (PALETTE["high"], PALETTE["high"]), ("#ffffff", PALETTE["alert"])]  # category colour; cuffless hollow
    assert float(markers[0].get("cx")) < float(markers[1].get("cx"))
    assert float(markers[0].get("cy")) > float(markers[1].get("cy"))  # 134 below 142
    bands = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    # The axis follows the data (134-142 and the 135 line): "Normal < 120" lies below it, not drawn.
    assert [b.find(f"{SVG}title").text for b in bands] == ["Stage 2 ≥ 140"]
    threshold = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke-dasharray")]
    assert threshold[0].find(f"{SVG}title").text == "Home stage 2 (135)"
    assert "May 1" in [t.text for t in root.iter(f"{SVG}text")]


def test_svg_escapes_text_and_takes_the_json_form():
    chart = time_chart(title='<script>alert("x")</script>', summary="a & b")
    svg = to_svg(json.loads(json.dumps(chart.as_dict())))
    root = parse(svg)
    assert "<script>" not in svg
    assert root.find(f"{SVG}title").text == '<script>alert("x")</script>'
    assert root.find(f"{SVG}desc").text == "a & b"


def test_svg_of_an_empty_chart_is_still_valid():
    chart = day_chart()
    chart.series = []
    root = parse(to_svg(chart))
    assert not list(root.iter(f"{SVG}path")) and not list(root.iter(f"{SVG}circle"))
