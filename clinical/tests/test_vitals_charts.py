"""The Vitals tab's chart specs (clinical/vitals_charts.py) on the one chart format."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from defusedxml import ElementTree as ET

from clinical.vitals_charts import Point, vitals_charts
from mahalo.charts import to_svg

TZ = ZoneInfo("Pacific/Honolulu")
END = datetime(2025, 5, 31, 22, 0, tzinfo=UTC)
START = END - timedelta(days=30)


def at(day: int, hour: int = 8) -> datetime:
    return datetime(2025, 5, day, hour, 0, tzinfo=TZ)


def charts(by_metric: dict) -> dict[str, dict]:
    specs = vitals_charts(by_metric, TZ, 30, start=START, end=END)
    assert json.loads(json.dumps(specs)) == specs  # plain JSON: the page, the API or a PDF can take it
    return {s["key"]: s for s in specs}


def test_six_charts_over_exactly_the_range_in_the_programs_wall_clock():
    specs = charts({})
    assert list(specs) == ["blood_pressure", "heart_rate", "spo2", "weight", "glucose", "body_temperature"]
    for spec in specs.values():
        assert spec["x"] == {"kind": "time", "min": "2025-05-01T12:00", "max": "2025-05-31T12:00"}
        assert spec["empty"] and spec["summary"].endswith("no valid readings in the last 30 days.")


def test_blood_pressure_points_carry_their_category_colour_and_text():
    bp = charts({"blood_pressure": [
        Point("blood_pressure", at(2), 134, 82, "stage_1", "abnormal", "home", "staff"),
        Point("blood_pressure", at(9), 118, 76, "normal", "normal", "cuffless", "withings"),
    ]})["blood_pressure"]
    systolic, diastolic = bp["series"]
    assert systolic["points"] == [["2025-05-02T08:00", 134], ["2025-05-09T08:00", 118]]
    assert [v for _, v in diastolic["points"]] == [82, 76] and diastolic["dash"]
    assert systolic["marks"] == ["high", "ok"]
    assert systolic["hollow"] == [False, True]  # cuffless: an open marker
    assert systolic["notes"][0] == ["Stage 1 hypertension (ACC/AHA 2017, home)", "entered by staff"]
    assert systolic["notes"][1][1] == "Withings"
    assert [b["label"] for b in bp["bands"]][0] == "Normal < 120" and len(bp["bands"]) == 5
    assert [t["y"] for t in bp["thresholds"]] == [135, 80, 90]
    assert bp["legend"][-1] == {"label": "Cuffless wearable (not for diagnosis)", "color": "navy",
                                "style": "hollow", "hex": bp["palette"]["navy"]}
    assert bp["summary"] == ("Blood pressure: 2 readings in the last 30 days; latest 118/76 mmHg on May 9, "
                             "Normal (ACC/AHA 2017, cuffless).")
    assert not bp["empty"]


def test_a_days_aggregate_says_so_and_bmi_sits_on_the_right_axis():
    specs = charts({
        "heart_rate": [Point("heart_rate", at(3, 12), 72.4, low=61, high=98, count=240)],
        "weight": [Point("weight", at(4), 81.26, source="patient")],
        "bmi": [Point("bmi", at(4), 26.5, category="pre_obese")],
    })
    hr = specs["heart_rate"]
    assert [s["key"] for s in hr["series"]] == ["resting_heart_rate", "heart_rate"]
    assert hr["series"][1]["notes"] == [["day mean of 240, range 61–98 bpm"]]
    weight = specs["weight"]
    assert [s["axis"] for s in weight["series"]] == ["y", "y2"]
    assert weight["y2"]["label"] == "BMI" and weight["y"]["label"] == "kg"
    assert weight["series"][0]["points"] == [["2025-05-04T08:00", 81.26]]
    assert weight["series"][1]["notes"] == [["Pre-obese (WHO)"]]


def test_every_spec_renders_as_svg():
    specs = charts({"glucose": [Point("glucose", at(5), 182, category="diabetes", context="fasting")],
                    "spo2": [Point("spo2", at(6), 93.5)]})
    for spec in specs.values():
        ET.fromstring(to_svg(spec))
    assert specs["glucose"]["series"][0]["marks"] == ["high"]
