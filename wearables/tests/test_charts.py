"""The Wearables tab's chart specs (wearables/charts.py) on the one chart format."""

import json
from datetime import date, timedelta

from defusedxml import ElementTree as ET

from mahalo.charts import to_svg
from wearables.charts import chart_spec, chart_specs
from wearables.daily import Point, Series

START = date(2025, 5, 1)


def days(values, **kw) -> list[Point]:
    """One point per day from START; None is a day without a value."""
    return [Point(START + timedelta(days=i), v, source="oura" if v is not None else "", device="Oura Ring Gen3"
                  if v is not None else "", **kw) for i, v in enumerate(values)]


def test_a_missing_day_is_a_gap_and_the_tooltip_names_the_source():
    spec = chart_spec("resting_hr", Series("resting_hr", days([60, None, 62])), baseline_days=28)
    assert json.loads(json.dumps(spec)) == spec
    assert spec["x"] == {"kind": "day", "min": "2025-05-01", "max": "2025-05-03"}
    assert spec["series"][0]["points"] == [["2025-05-01", 60], ["2025-05-02", None], ["2025-05-03", 62]]
    assert spec["footers"] == {"2025-05-01": ["Source: Oura · Oura Ring Gen3"],
                               "2025-05-03": ["Source: Oura · Oura Ring Gen3"]}
    assert spec["subtitle"] == "Oura Ring Gen3"
    assert [s["key"] for s in spec["series"]] == ["resting_hr"]  # no baseline yet: no band
    assert spec["summary"] == "Resting heart rate: latest 62 bpm on May 3 (Oura); 2 of 3 days with data."


def test_the_usual_range_describes_the_main_series_only_never_the_other_hrv_method():
    main = days([40, 42, None])
    for p in main:
        p.baseline_mean, p.baseline_sd = 41.0, 2.0
    other = [Point(START + timedelta(days=i), v, source="apple_health", method="sdnn") for i, v in
             enumerate([None, None, 55])]
    spec = chart_spec("hrv", Series("hrv", main, "rmssd"), baseline_days=28, other=Series("hrv", other, "sdnn"))
    kinds = {s["key"]: (s["kind"], s["quiet"]) for s in spec["series"]}
    assert kinds == {"hrv": ("line", False), "hrv_other": ("points", False), "usual": ("range", False),
                     "usual_mean": ("line", True)}
    usual = next(s for s in spec["series"] if s["key"] == "usual")
    assert usual["describes"] == ["hrv"] and usual["points"][0] == ["2025-05-01", 39.0, 43.0]
    assert next(s for s in spec["series"] if s["key"] == "hrv_other")["label"] == "SDNN (other method)"
    assert spec["subtitle"].startswith("RMSSD")
    assert spec["footers"]["2025-05-03"] == ["Source: Apple Health"]
    assert [i["style"] for i in spec["legend"]] == ["line", "points", "band"]
    assert spec["summary"] == ("HRV (RMSSD): latest 42 ms on May 2 (Oura); 2 of 3 days with data; "
                               "usual range 39 ms to 43 ms.")
    assert not spec["empty"]


def test_sleep_stages_stack_and_a_night_without_stages_is_a_total():
    stages = {"sleep_deep_hours": 1.0, "sleep_rem_hours": 1.5, "sleep_light_hours": 4.5, "sleep_awake_hours": 0.5}
    points = days([7.0, 6.0])
    points[0].extra = dict(stages)
    spec = chart_spec("sleep", Series("sleep", points), baseline_days=28)
    by_key = {s["key"]: s for s in spec["series"]}
    assert list(by_key) == ["sleep_deep_hours", "sleep_rem_hours", "sleep_light_hours", "sleep_total"]
    assert {s["stack"] for s in by_key.values()} == {"sleep"} and {s["kind"] for s in by_key.values()} == {"bar"}
    assert by_key["sleep_deep_hours"]["points"] == [["2025-05-01", 1.0], ["2025-05-02", None]]
    assert by_key["sleep_total"]["points"] == [["2025-05-01", None], ["2025-05-02", 6.0]]
    assert spec["footers"]["2025-05-01"] == ["Total 7 h 00 min · awake 0 h 30 min", "Source: Oura · Oura Ring Gen3"]
    assert spec["y"]["format"] == "duration" and spec["y"]["begin_at_zero"]


def test_specs_keep_the_last_days_and_a_band_alone_is_empty():
    points = days([None] * 10)
    for p in points:
        p.baseline_mean, p.baseline_sd = 5000.0, 800.0
    specs = chart_specs({"steps": Series("steps", points), "hrv": None}, baseline_days=28, days=7)
    (steps,) = specs
    assert steps["x"] == {"kind": "day", "min": "2025-05-04", "max": "2025-05-10"}
    assert len(steps["series"][0]["points"]) == 7 and steps["series"][0]["kind"] == "bar"
    assert steps["empty"]  # the usual range is not data
    ET.fromstring(to_svg(steps))
