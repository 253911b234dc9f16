"""The preferred-source rule, HRV method separation and the baseline band
(wearables.daily), on rows written through the real upsert (ingest.store)."""

import math
import statistics
from datetime import date, timedelta

import pytest

from mahalo.models import ProgramSetting, ProjectSetting
from wearables import daily
from wearables.ingest import Daily, store

pytestmark = pytest.mark.django_db

D0 = date(2026, 3, 1)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


@pytest.fixture
def patient(world):
    return world.cardiac_patients[1]


def series(patient, start, end, **kw):
    return daily.daily_series(patient, start, end, metrics=("hrv", "resting_hr", "sleep", "steps"), **kw)


def test_preferred_source_is_chosen_per_metric_and_day(patient):
    # Oura has HRV and resting HR but no steps; the watch has resting HR and steps.
    store(patient, "apple_health", dailies=[Daily(day(0), {"resting_hr": 66.0, "steps": 8000, "device": "Watch"}),
                                            Daily(day(1), {"resting_hr": 67.0, "steps": 9000, "device": "Watch"})])
    store(patient, "oura", dailies=[Daily(day(0), {"resting_hr": 58.0, "hrv_ms": 40.0, "hrv_method": "rmssd",
                                                   "device": "Ring"})])
    store(patient, "patient", dailies=[Daily(day(0), {"steps": 100})])
    s = series(patient, day(0), day(1))
    rhr, steps = s["resting_hr"].points, s["steps"].points
    assert (rhr[0].value, rhr[0].source, rhr[0].device) == (58.0, "oura", "Ring")
    assert (rhr[1].value, rhr[1].source) == (67.0, "apple_health")  # Oura has nothing that day
    assert (steps[0].value, steps[0].source) == (8000, "apple_health")  # watch ranks above hand entry
    assert (steps[1].value, steps[1].source) == (9000, "apple_health")


def test_program_setting_overrides_project_and_default(patient, world):
    store(patient, "apple_health", dailies=[Daily(day(0), {"resting_hr": 66.0})])
    store(patient, "oura", dailies=[Daily(day(0), {"resting_hr": 58.0})])
    store(patient, "whoop", dailies=[Daily(day(0), {"resting_hr": 61.0})])
    assert series(patient, day(0), day(0))["resting_hr"].points[0].source == "oura"  # default order

    ProjectSetting.objects.create(project=world.project, key="wearables.preferred_sources", value="whoop")
    assert series(patient, day(0), day(0))["resting_hr"].points[0].source == "whoop"

    ProgramSetting.objects.create(program=world.cardiac, key="wearables.preferred_sources",
                                  value=" Apple_Health , nonsense,oura")
    point = series(patient, day(0), day(0))["resting_hr"].points[0]
    assert (point.source, point.value) == ("apple_health", 66.0)
    # Another program of the same project still follows the project's value.
    other = world.metabolic_patients[0]
    store(other, "oura", dailies=[Daily(day(0), {"resting_hr": 50.0})])
    store(other, "whoop", dailies=[Daily(day(0), {"resting_hr": 52.0})])
    assert series(other, day(0), day(0))["resting_hr"].points[0].source == "whoop"


def test_parse_preference_keeps_every_source():
    order = daily.parse_preference("strava, bogus, strava")
    assert order[0] == "strava"
    assert order.count("strava") == 1
    assert set(order) == set(daily.DEFAULT_PREFERENCE)
    assert daily.parse_preference("") == daily.DEFAULT_PREFERENCE
    assert daily.parse_preference("nothing,valid") == daily.DEFAULT_PREFERENCE


def test_hrv_never_mixes_methods(patient):
    # Oura (RMSSD) every day but day 2; Apple Health (SDNN) every day.
    store(patient, "oura", dailies=[Daily(day(i), {"hrv_ms": 30.0 + i, "hrv_method": "rmssd"})
                                    for i in range(5) if i != 2])
    store(patient, "apple_health", dailies=[Daily(day(i), {"hrv_ms": 50.0 + i, "hrv_method": "sdnn"})
                                            for i in range(5)])
    s = series(patient, day(0), day(4))
    main, other = s["hrv"], s["hrv_other"]
    assert main.method == "rmssd"
    assert [p.value for p in main.points] == [30.0, 31.0, None, 33.0, 34.0]
    assert {p.method for p in main.present} == {"rmssd"}
    assert {p.source for p in main.present} == {"oura"}
    # The SDNN value is kept only for the day RMSSD is missing, in its own series.
    assert other.method == "sdnn"
    assert [p.value for p in other.points] == [None, None, 52.0, None, None]
    assert other.points[2].method == "sdnn"


def test_hrv_method_follows_the_preferred_source_present(patient, world):
    store(patient, "oura", dailies=[Daily(day(i), {"hrv_ms": 30.0, "hrv_method": "rmssd"}) for i in (0, 1)])
    store(patient, "apple_health", dailies=[Daily(day(i), {"hrv_ms": 55.0, "hrv_method": "sdnn"}) for i in (1, 2)])
    ProgramSetting.objects.create(program=world.cardiac, key="wearables.preferred_sources", value="apple_health")
    s = series(patient, day(0), day(2))
    assert s["hrv"].method == "sdnn"
    assert [p.value for p in s["hrv"].points] == [None, 55.0, 55.0]
    assert [p.value for p in s["hrv_other"].points] == [30.0, None, None]


def test_hrv_without_the_preferred_source_in_window_uses_the_one_present(patient):
    # Oura only reported long ago (baseline days), the window has only the watch.
    store(patient, "oura", dailies=[Daily(day(-20), {"hrv_ms": 30.0, "hrv_method": "rmssd"})])
    store(patient, "apple_health", dailies=[Daily(day(i), {"hrv_ms": 55.0, "hrv_method": "sdnn"}) for i in (0, 1)])
    s = series(patient, day(0), day(1))
    assert s["hrv"].method == "sdnn"
    assert [p.value for p in s["hrv"].points] == [55.0, 55.0]
    assert s["hrv_other"] is None


def test_hrv_without_a_method_is_left_out(patient):
    # Written past ingest's daily merge (which does not check methods): can't be placed, so not shown.
    from wearables.models import DailyMetric

    DailyMetric.objects.create(project=patient.project, patient=patient, date=day(0), source="garmin", hrv_ms=44.0)
    s = series(patient, day(0), day(0))
    assert s["hrv"].points[0].value is None
    assert s["hrv_other"] is None


def test_gaps_are_none(patient):
    store(patient, "oura", dailies=[Daily(day(0), {"resting_hr": 60.0, "steps": 5000}),
                                    Daily(day(3), {"resting_hr": 62.0})])
    s = series(patient, day(0), day(3))
    assert [p.date for p in s["resting_hr"].points] == [day(i) for i in range(4)]
    assert [p.value for p in s["resting_hr"].points] == [60.0, None, None, 62.0]
    assert [p.value for p in s["steps"].points] == [5000, None, None, None]
    assert s["resting_hr"].points[1].source == ""
    assert [p.value for p in s["sleep"].points] == [None] * 4


def test_baseline_band_on_a_known_series(patient):
    # 1..10 on the ten days before day 0, then 1000 on day 0 itself.
    store(patient, "oura", dailies=[Daily(day(-10 + i), {"resting_hr": float(i + 1)}) for i in range(10)]
          + [Daily(day(0), {"resting_hr": 1000.0})])
    p0, p1 = series(patient, day(0), day(1))["resting_hr"].points
    # Mean 5.5; sample SD sqrt(82.5 / 9): worked by hand, not by the code under test.
    assert p0.baseline_mean == pytest.approx(5.5)
    assert p0.baseline_sd == pytest.approx(math.sqrt(82.5 / 9))
    assert p0.baseline_low == pytest.approx(5.5 - math.sqrt(82.5 / 9))
    # The day's own value never moves its own band; the next day's band includes it.
    values = [float(v) for v in range(1, 11)] + [1000.0]
    assert p1.baseline_mean == pytest.approx(sum(values) / 11)
    assert p1.baseline_sd == pytest.approx(statistics.stdev(values))


def test_baseline_needs_seven_points_and_only_looks_back_n_days(patient, world):
    store(patient, "oura", dailies=[Daily(day(-i), {"steps": 1000 * i}) for i in range(1, 7)])
    s = series(patient, day(0), day(0))
    assert s["steps"].points[0].baseline_mean is None  # six prior days: no band

    store(patient, "oura", dailies=[Daily(day(-9), {"steps": 9000})])
    assert series(patient, day(0), day(0))["steps"].points[0].baseline_mean == pytest.approx(
        (1000 + 2000 + 3000 + 4000 + 5000 + 6000 + 9000) / 7)

    # With an 8-day baseline, the value nine days back is out of reach again.
    ProgramSetting.objects.create(program=world.cardiac, key="wearables.baseline_days", value="8")
    assert series(patient, day(0), day(0))["steps"].points[0].baseline_mean is None
    # Out-of-range or unreadable settings fall back to the default (28 days).
    ProgramSetting.objects.filter(program=world.cardiac).update(value="3")
    assert daily.settings_for(patient).baseline_days == 28
    ProgramSetting.objects.filter(program=world.cardiac).update(value="many")
    assert daily.settings_for(patient).baseline_days == 28


def test_sleep_stages_come_from_the_chosen_source(patient):
    store(patient, "oura", dailies=[Daily(day(0), {"sleep_hours": 7.0, "sleep_deep_hours": 1.5,
                                                   "sleep_rem_hours": 1.5, "sleep_light_hours": 4.0})])
    store(patient, "google_health", dailies=[Daily(day(0), {"sleep_hours": 6.0, "sleep_deep_hours": 0.5}),
                                             Daily(day(1), {"sleep_hours": 6.5})])
    points = series(patient, day(0), day(1))["sleep"].points
    assert points[0].value == 7.0
    assert points[0].extra == {"sleep_deep_hours": 1.5, "sleep_rem_hours": 1.5, "sleep_light_hours": 4.0}
    assert (points[1].value, points[1].source, points[1].extra) == (6.5, "google_health", {})


def test_one_query_for_the_data(patient, django_assert_num_queries):
    for source in ("oura", "whoop", "apple_health"):
        store(patient, source, dailies=[Daily(day(-i), {"resting_hr": 60.0, "steps": 4000, "hrv_ms": 40.0,
                                                        "hrv_method": "sdnn" if source == "apple_health"
                                                        else "rmssd"}) for i in range(120)])
    settings = daily.settings_for(patient)
    with django_assert_num_queries(1):
        s = daily.daily_series(patient, day(-89), day(0), settings=settings)
    assert len(s["hrv"].points) == 90
    assert all(p.source == "oura" for p in s["hrv"].points)


def test_other_patients_rows_never_leak_in(patient, world):
    store(world.cardiac_patients[2], "oura", dailies=[Daily(day(0), {"resting_hr": 99.0})])
    assert series(patient, day(0), day(0))["resting_hr"].points[0].value is None
