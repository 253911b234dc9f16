"""The one chart stack in a real browser: the Vitals and Wearables tabs draw from their
specs, hover shows values, gaps stay gaps, the values table opens, and no tab restyles
another's charts (Chart.js global defaults are never touched)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinical.observations import observation_record

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Chart.js 4's own defaults: a page that changed them would restyle every later chart.
PRISTINE = {"color": "#666", "family": "'Helvetica Neue', 'Helvetica', 'Arial', sans-serif", "size": 12}
DEFAULTS = "() => ({color: Chart.defaults.color, family: Chart.defaults.font.family, size: Chart.defaults.font.size})"
# What a chart looks like: its resolved colours and fonts, and its pixels.
LOOKS = """() => [...document.querySelectorAll('canvas[data-chart]')].map(c => {
  const ch = Chart.getChart(c);
  return {key: c.dataset.chart, ticks: ch.options.scales.y.ticks.color, font: ch.options.scales.y.ticks.font.family,
          datasets: ch.data.datasets.map(d => [d.borderColor, d.backgroundColor, d.pointBackgroundColor]),
          pixels: c.toDataURL()};
})"""


def wait_for_charts(page, count: int, timeout: float = 15.0) -> None:
    """Until `count` charts are drawn on connected canvases. Polled from Python: the strict
    CSP forbids the eval that page.wait_for_function would need."""
    deadline = time.monotonic() + timeout
    while True:
        drawn = page.evaluate("() => window.Chart ? [...document.querySelectorAll('canvas[data-chart]')]"
                              ".filter(c => Chart.getChart(c)).length : -1")
        if drawn == count:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{drawn} charts drawn, expected {count}")
        page.wait_for_timeout(100)


def record_vitals(patient, actor):
    now = timezone.now()
    for i, (systolic, diastolic) in enumerate([(134, 82), (142, 91), (118, 76), (126, 79)]):
        observation_record(patient, "blood_pressure", systolic, "mmHg", now - timedelta(days=i * 3, minutes=5),
                           value2=diastolic, context="home", actor=actor, source="staff")
    for i in range(3):
        observation_record(patient, "weight", 82 - i, "kg", now - timedelta(days=i * 4, minutes=7), actor=actor,
                           source="staff")


@pytest.fixture
def signed_in(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    from conftest import enrol_totp
    from patients.tests.test_e2e_chart import sign_in

    Authenticator.objects.filter(user=world.lead).delete()
    secret = enrol_totp(world.lead)
    errors = []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(browser_page, live_server, world.lead, world.password, secret)
    return browser_page, errors


def test_vitals_charts_look_the_same_after_the_wearables_tab(live_server, signed_in, world):
    from conftest import axe_violations
    from wearables.tests.test_chart_tab import fill

    page, errors = signed_in
    patient = world.cardiac_patients[1]
    record_vitals(patient, world.clinician)
    fill(patient, 40)
    base = f"{live_server.url}/patients/{patient.pk}"

    page.goto(f"{base}/vitals/")
    # Blood pressure and weight; resting heart rate from the wearables (Vitals has none of its own);
    # the others say they have no readings.
    wait_for_charts(page, 3)
    assert page.evaluate(DEFAULTS) == PRISTINE
    before = page.evaluate(LOOKS)
    assert [c["key"] for c in before] == ["chart-blood_pressure-spec", "chart-heart_rate-spec",
                                          "chart-weight-spec"]

    # Hover a reading: the tooltip gives its value, unit and category.
    canvas = page.locator("canvas[data-chart='chart-blood_pressure-spec']")
    canvas.scroll_into_view_if_needed()  # the chart header may push it below the fold
    box = canvas.bounding_box()
    point = page.evaluate("""() => { const ch = Chart.getChart(document.querySelector(
        "canvas[data-chart='chart-blood_pressure-spec']")); const el = ch.getDatasetMeta(0).data.at(-1);
        return {x: el.x, y: el.y}; }""")
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_timeout(150)
    tooltip = page.evaluate("""() => { const t = Chart.getChart(document.querySelector(
        "canvas[data-chart='chart-blood_pressure-spec']")).tooltip;
        return {shown: t.opacity, lines: t.body.flatMap(b => [...b.lines, ...b.after]), title: t.title}; }""")
    assert tooltip["shown"] > 0
    assert "Systolic: 134 mmHg" in tooltip["lines"]
    assert "Stage 1 hypertension (ACC/AHA 2017, home)" in tooltip["lines"]

    # The values as a table, for anyone who can't use the canvas.
    page.get_by_text("Values of blood pressure as a table").click()
    table = page.locator("details[data-chart-values='chart-blood_pressure-spec'] table")
    expect(table.locator("tbody tr")).to_have_count(4)  # built when opened (the toggle event is async)
    assert "142" in table.inner_text()
    assert axe_violations(page) == []
    # The entry form beside the charts (js/observation-form.js) still shows only the chosen metric's fields.
    page.locator("form[data-vt-form] select[name=metric]").select_option("weight")
    expect(page.locator("form[data-vt-form] [data-vt-field=value2]")).to_be_hidden()

    # Over to Wearables by HTMX: its charts draw, and nothing global changes.
    page.get_by_role("link", name="Wearables").click()
    page.wait_for_url(f"{base}/wearables/")
    wait_for_charts(page, 4)
    assert page.evaluate(DEFAULTS) == PRISTINE
    # The gap day three days ago is a gap: no point is drawn and the line breaks there.
    gap = page.evaluate("""() => { const ch = Chart.getChart(document.querySelector(
        "canvas[data-chart='chart-hrv-spec']")); const i = ch.data.labels.length - 4;
        return {value: ch.data.datasets[0].data[i], skipped: ch.getDatasetMeta(0).data[i].skip}; }""")
    assert gap == {"value": None, "skipped": True}

    # And back: the vitals charts look exactly as they did, pixel for pixel.
    page.get_by_role("link", name="Vitals").click()
    page.wait_for_url(f"{base}/vitals/")
    wait_for_charts(page, 3)
    page.mouse.move(0, 0)
    after = page.evaluate(LOOKS)
    assert [{k: v for k, v in c.items() if k != "pixels"} for c in after] == \
        [{k: v for k, v in c.items() if k != "pixels"} for c in before]
    assert after[2]["pixels"] == before[2]["pixels"]  # weight: never hovered
    assert errors == []


def test_charts_fit_a_phone(live_server, signed_in, world):
    from wearables.tests.test_chart_tab import fill

    page, errors = signed_in
    patient = world.cardiac_patients[1]
    fill(patient, 30)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/patients/{patient.pk}/wearables/?days=90")
    wait_for_charts(page, 4)
    # Each chart fills its card and nothing in the grid is wider than the grid (the chart
    # shell around it is another matter).
    fit = page.evaluate("""() => [...document.querySelectorAll('canvas[data-chart]')].map(c => {
        const card = c.closest('.chart-card').getBoundingClientRect(), box = c.getBoundingClientRect();
        return box.left >= card.left && box.right <= card.right && box.width > card.width - 40; })""")
    assert fit == [True] * 4
    assert page.evaluate("() => { const g = document.querySelector('.chart-grid'); "
                         "return g.scrollWidth <= g.clientWidth; }")
    page.get_by_text("Values of sleep as a table").click()
    # 30 days with one gap: a row per night measured, none for the usual range alone.
    expect(page.locator("details[data-chart-values='chart-sleep-spec'] tbody tr")).to_have_count(29)
    assert errors == []
