"""The Nutrition tab's charts (nutrition/charts.py) on the one chart format, and on the tab."""

import json
from datetime import date, timedelta
from types import SimpleNamespace

from defusedxml import ElementTree as ET

from mahalo.charts import to_svg
from nutrition.charts import nutrition_charts

START = date(2026, 5, 1)


def overview(days, target=None):
    """days: [(meals, sodium, fluid, energy)] from START; newest first as days_overview gives them."""
    rows = [{"date": START + timedelta(days=i), "meals": m, "sodium_mg": na, "fluid_ml": fl, "energy_kcal": kcal}
            for i, (m, na, fl, kcal) in enumerate(days)]
    return {"rows": list(reversed(rows)), "target": target}


def target(sodium=None, fluid=None, energy=None):
    return SimpleNamespace(sodium_mg=sodium, fluid_ml=fluid, energy_kcal=energy)


def by_key(specs):
    return {s["key"]: s for s in specs}


def test_a_day_without_meals_is_a_gap_and_over_target_days_are_their_own_series():
    specs = by_key(nutrition_charts(overview([(3, 1800.4, 1500, 1900), (0, 0, 0, 0), (2, 2600, 2100, 2400)],
                                             target(sodium=2000, fluid=1800, energy=2000))))
    sodium = specs["nu_sodium"]
    assert json.loads(json.dumps(sodium)) == sodium
    assert sodium["x"] == {"kind": "day", "min": "2026-05-01", "max": "2026-05-03"}
    series = {s["key"]: s["points"] for s in sodium["series"]}
    assert series["nu_sodium_within"] == [["2026-05-01", 1800], ["2026-05-02", None], ["2026-05-03", None]]
    assert series["nu_sodium_over"] == [["2026-05-01", None], ["2026-05-02", None], ["2026-05-03", 2600]]
    assert sodium["thresholds"] == [{"y": 2000.0, "label": "Target 2,000 mg", "color": "alert"}]
    assert sodium["footers"] == {"2026-05-01": ["3 meals logged"], "2026-05-03": ["2 meals logged"]}
    assert sodium["summary"] == "Sodium per day, 3 days: 2 with data, 1 over the target of 2,000 mg."
    assert set(sodium["palette"]) == {"blue", "high", "alert"}
    fluid = {s["key"]: s["points"] for s in specs["nu_fluid"]["series"]}
    assert fluid["nu_fluid_over"][2] == ["2026-05-03", 2100]
    energy = specs["nu_energy"]
    assert energy["series"][0]["points"][1] == ["2026-05-02", None]
    assert energy["thresholds"][0]["y"] == 2000.0
    for spec in specs.values():
        ET.fromstring(to_svg(spec))


def test_fluids_without_meals_still_count_and_no_target_means_one_plain_series():
    specs = by_key(nutrition_charts(overview([(0, 0, 750, 0), (0, 0, 0, 0)])))
    fluid = specs["nu_fluid"]
    assert [s["key"] for s in fluid["series"]] == ["nu_fluid_within"]
    assert fluid["series"][0]["points"] == [["2026-05-01", 750], ["2026-05-02", None]]
    assert fluid["thresholds"] == [] and fluid["summary"].endswith("no target set.")
    assert specs["nu_sodium"]["empty"] and specs["nu_energy"]["empty"]


def test_the_tab_carries_the_chart_specs(login, nw):
    from nutrition import services
    from nutrition.tests.factories import TOAST, log

    patient = nw.me
    services.target_set(patient=patient, actor=nw.clinician, values={"sodium_mg": 100}, via="test")
    log(patient, nw.clinician, [(TOAST, 2, "slice")])
    response = login(nw.clinician).get(f"/patients/{patient.pk}/nutrition/?days=30")
    html = response.content.decode()
    assert response.status_code == 200
    for key in ("nu_sodium", "nu_fluid", "nu_energy"):
        assert f'id="chart-{key}-spec"' in html
    sodium = by_key(response.context["charts"])["nu_sodium"]
    assert len(sodium["series"][0]["points"]) == 30
    assert any(v is not None for _, v in sodium["series"][1]["points"])  # 2 slices of toast > 100 mg
