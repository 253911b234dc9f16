"""The patient chart's Wearables tab and its "Sync now": access through the gate,
what the page shows, constant queries, and the real page in a browser."""

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from mahalo.models import AuditEvent, RolePermission
from wearables.ingest import Daily, store
from wearables.models import Connection, SyncFailure, SyncLog
from wearables.views import chart as chart_views

RAW_BODY = '{"day": "<script>alert(1)</script>", "score": null}'


def url(patient, days=None):
    return f"/patients/{patient.pk}/wearables/" + (f"?days={days}" if days else "")


def sync_url(patient, connection):
    return f"/patients/{patient.pk}/wearables/connections/{connection.pk}/sync/"


def today_of(patient):
    return timezone.now().astimezone(patient.program.tz).date()


def fill(patient, days: int, sources=("oura", "whoop", "apple_health")) -> None:
    """`days` days of values from several sources, ending today (local), one gap."""
    today = today_of(patient)
    for n, source in enumerate(sources):
        method = "sdnn" if source == "apple_health" else "rmssd"
        store(patient, source, dailies=[
            Daily(today - timedelta(days=i), {"hrv_ms": 30.0 + n + i % 5, "hrv_method": method,
                                              "resting_hr": 60.0 + n, "steps": 5000 + 10 * i, "sleep_hours": 7.0,
                                              "sleep_deep_hours": 1.0, "sleep_rem_hours": 1.5,
                                              "sleep_light_hours": 4.5, "device": f"{source} device"})
            for i in range(days) if i != 3])


def connect(patient, provider="oura", status=Connection.Status.LINKED, logs=1) -> Connection:
    connection = Connection(project=patient.project, patient=patient, provider=provider, status=status)
    connection.access_token = "access-SECRET-value"
    connection.refresh_token = "refresh-SECRET-value"
    connection.last_error = "boom <b>bad</b>" if status != Connection.Status.LINKED else ""
    connection.save()
    now = timezone.now()
    for i in range(logs):
        log = SyncLog.objects.create(project=patient.project, patient=patient, connection=connection,
                                     source=provider, status=SyncLog.Status.PARTIAL, started_at=now,
                                     finished_at=now, records=5, skipped=2, error=f"log error {i}")
        SyncFailure.objects.create(sync_log=log, endpoint="/v2/sleep", error="unreadable", raw=RAW_BODY)
        SyncFailure.objects.create(sync_log=log, endpoint="/v2/sleep", error="unreadable 2", raw="{}")
    return connection


# --- access ----------------------------------------------------------------------

@pytest.mark.django_db
def test_login_required(client, world):
    response = client.get(url(world.me))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("who, whom", [
    ("clinician", "metabolic_patients"),   # another program
    ("other_clinician", "cardiac_patients"),
    ("dietitian", "cardiac_patients"),     # dietitian of Metabolic Health: no cardiac access
    ("outsider", "cardiac_patients"),      # another tenant
    ("lead", "foreign_patients"),          # another tenant's patient
])
def test_out_of_reach_patients_are_404(login, world, who, whom):
    patient = getattr(world, whom)[-1]
    fill(patient, 5)
    response = login(getattr(world, who)).get(url(patient))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="denied", patient=patient).exists()


@pytest.mark.django_db
def test_patient_login_cannot_open_staff_tab(login, world):
    assert login(world.patient_user).get(url(world.me)).status_code == 404


@pytest.mark.django_db
def test_role_without_wearables_read_is_refused(login, world):
    RolePermission.objects.filter(role__members__user=world.clinician, resource="wearables").delete()
    response = login(world.clinician).get(url(world.cardiac_patients[1]))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(actor=world.clinician, action="denied", resource="wearables").exists()


@pytest.mark.django_db
def test_in_scope_staff_see_the_tab_and_the_read_is_audited(login, world):
    patient = world.metabolic_patients[0]
    fill(patient, 20)
    for user in (world.lead, world.other_clinician, world.dietitian):
        response = login(user).get(url(patient))
        assert response.status_code == 200, user
    assert AuditEvent.objects.filter(action="read", resource="wearables", patient=patient).count() == 3


# --- the page --------------------------------------------------------------------

@pytest.mark.django_db
def test_full_page_shows_four_charts_table_connections_and_logs(login, world):
    patient = world.cardiac_patients[1]
    fill(patient, 40)
    connect(patient, "oura", logs=2)
    connect(patient, "whoop", Connection.Status.NEEDS_RECONSENT, logs=0)
    response = login(world.lead).get(url(patient))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'aria-current="page">Wearables</a>' in html
    for key in ("hrv", "resting_hr", "sleep", "steps"):
        assert f'data-chart="chart-{key}-spec"' in html and f'id="chart-{key}-spec"' in html
    assert "Content-Security-Policy" in response.headers
    assert "<script>alert" not in html  # raw bodies are escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "boom &lt;b&gt;bad&lt;/b&gt;" in html
    assert "SECRET" not in html and patient.wearable_connections.first().access_token_encrypted[:20] not in html
    assert "Needs re-consent" in html and "Linked" in html
    assert html.count("Sync now") == 1  # only the linked connection
    assert "vendor/chartjs/4.6.1/chart.umd.min.js" in html and "js/charts.js" in html

    specs = json.loads(json.dumps(response.context["chart_specs"]))  # plain JSON, reusable by a PDF
    assert [s["key"] for s in specs] == ["hrv", "resting_hr", "sleep", "steps"]
    hrv = specs[0]
    today = today_of(patient)
    assert hrv["x"] == {"kind": "day", "min": (today - timedelta(days=29)).isoformat(), "max": today.isoformat()}
    main = hrv["series"][0]
    assert len(main["points"]) == 30 and main["points"][-1][0] == today.isoformat()
    assert hrv["subtitle"].startswith("RMSSD")
    assert main["points"][-4] == [(today - timedelta(days=3)).isoformat(), None]  # the gap day stays a gap
    assert hrv["footers"][today.isoformat()] == ["Source: Oura · oura device"]
    assert [s["kind"] for s in hrv["series"] if s["key"].startswith("usual")] == ["range", "line"]
    # The flowsheet: 14 days, newest first, the gap day empty.
    rows = response.context["table_rows"]
    assert len(rows) == 14 and rows[0]["date"] == today_of(patient)
    assert all(cell["value"] == "" for cell in rows[3]["cells"])


@pytest.mark.django_db
@pytest.mark.parametrize("raw, expected", [("7", 7), ("30", 30), ("90", 90), ("", 30), ("31", 30), ("x", 30),
                                           ("-7", 30), ("9" * 40, 30)])
def test_range_switch(login, world, raw, expected):
    patient = world.cardiac_patients[1]
    fill(patient, 3)
    response = login(world.lead).get(url(patient) + f"?days={raw}")
    assert response.status_code == 200
    assert response.context["days"] == expected
    specs = response.context["chart_specs"]
    assert all(len(s["series"][0]["points"]) == expected for s in specs)
    assert all(date.fromisoformat(s["x"]["max"]) - date.fromisoformat(s["x"]["min"]) == timedelta(days=expected - 1)
               for s in specs)


@pytest.mark.django_db
def test_htmx_fragment(login, world):
    patient = world.cardiac_patients[1]
    fill(patient, 10)
    response = login(world.lead).get(url(patient, 7), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="chart-main")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<body" not in html
    assert 'id="chart-steps-spec"' in html and 'data-chart="chart-steps-spec"' in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_empty_patient(login, world):
    response = login(world.lead).get(url(world.cardiac_patients[2]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "No heart rate variability reported" in html and "No device connected" in html
    assert "never received" in html


@pytest.mark.django_db
def test_query_count_is_constant(login, world, django_assert_max_num_queries):
    small, big = world.cardiac_patients[1], world.cardiac_patients[2]
    fill(small, 2, sources=("oura",))
    connect(small, "oura", logs=1)
    fill(big, 130, sources=("oura", "whoop", "garmin", "apple_health", "google_health"))
    for provider in ("oura", "whoop", "garmin"):
        connect(big, provider, logs=6)
    client = login(world.lead)
    client.get(url(small, 7))  # warm per-user caches alike for both
    with django_assert_max_num_queries(40) as few:
        assert client.get(url(small, 7)).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url(big, 90))
    assert response.status_code == 200
    assert len(response.context["sync_logs"]) == chart_views.SYNC_LOGS_SHOWN


# --- sync now --------------------------------------------------------------------

@pytest.mark.django_db
def test_sync_now_queues_a_manual_sync(login, world, django_capture_on_commit_callbacks):
    patient = world.cardiac_patients[1]
    connection = connect(patient, logs=0)
    client = login(world.clinician)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(sync_url(patient, connection), {"days": "7"})
    assert response.status_code == 302
    assert response["Location"] == url(patient, 7)
    log = SyncLog.objects.get(connection=connection)
    assert (log.trigger, log.status, log.patient_id) == ("manual", "queued", patient.pk)
    assert len(callbacks) == 1  # the task is queued when the transaction commits
    event = AuditEvent.objects.get(action="write", resource="wearables", patient=patient)
    assert event.metadata["event"] == "sync_now" and event.object_id == str(connection.pk)
    # A second click while it waits queues nothing more.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(sync_url(patient, connection))
    assert SyncLog.objects.filter(connection=connection).count() == 1 and not callbacks


@pytest.mark.django_db
def test_sync_now_refusals(login, world):
    patient = world.cardiac_patients[1]
    connection = connect(patient, logs=0)
    other = connect(world.cardiac_patients[2], logs=0)
    broken = connect(patient, "whoop", Connection.Status.NEEDS_RECONSENT, logs=0)
    foreign = connect(world.foreign_patients[0], logs=0)
    lead = login(world.lead)
    assert lead.get(sync_url(patient, connection)).status_code == 405
    assert lead.post(sync_url(patient, other)).status_code == 404          # someone else's connection
    assert lead.post(sync_url(patient, broken)).status_code == 404         # not linked
    assert lead.post(sync_url(world.foreign_patients[0], foreign)).status_code == 404  # another tenant
    assert login(world.other_clinician).post(sync_url(patient, connection)).status_code == 404  # other program
    assert login(world.outsider).post(sync_url(patient, connection)).status_code == 404
    # The dietitian may read wearables but not update them: no button, and a 403.
    assert login(world.dietitian).post(sync_url(patient, connection)).status_code == 403
    metabolic = world.metabolic_patients[0]
    connect(metabolic, logs=0)
    assert "Sync now" not in login(world.dietitian).get(url(metabolic)).content.decode()
    assert not SyncLog.objects.filter(trigger="manual").exists()


@pytest.mark.django_db
def test_sync_now_anonymous(client, world):
    patient = world.cardiac_patients[1]
    connection = connect(patient, logs=0)
    response = client.post(sync_url(patient, connection))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not SyncLog.objects.exists()


# --- in a browser ----------------------------------------------------------------

def wait_for_charts(page, days: int, timeout: float = 15.0) -> None:
    """Until exactly four charts of `days` days are drawn. Polled from Python: the strict
    CSP forbids the eval that page.wait_for_function would need."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        labels = page.evaluate("() => window.Chart ? Object.values(window.Chart.instances)"
                               ".map(c => c.data.labels.length) : []")
        if labels == [days] * 4:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"charts drawn: {labels}")
        page.wait_for_timeout(100)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_tab_in_a_browser(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator
    from playwright.sync_api import expect

    from conftest import axe_violations, enrol_totp
    from patients.tests.test_e2e_chart import sign_in

    patient = world.cardiac_patients[1]
    fill(patient, 60)
    connect(patient, "oura", logs=2)
    Authenticator.objects.filter(user=world.lead).delete()
    secret = enrol_totp(world.lead)
    page = browser_page
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server, world.lead, world.password, secret)

    # Into the tab by HTMX from the chart's overview.
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name="Wearables").click()
    page.wait_for_url(f"{live_server.url}{url(patient)}")
    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(4)
    wait_for_charts(page, 30)
    # Drawn, not just present: the canvases have a size and pixels.
    assert page.evaluate("""() => [...document.querySelectorAll('canvas[data-chart]')].every(c =>
        c.width > 100 && c.height > 100 && window.Chart.getChart(c))""")

    page.get_by_role("link", name="90 days").click()
    page.wait_for_url("**/wearables/?days=90")
    wait_for_charts(page, 90)
    expect(page.get_by_role("link", name="90 days")).to_have_attribute("aria-current", "true")
    page.locator("details.wd-failures summary").first.click()
    expect(page.locator("pre.wd-raw").first).to_contain_text("<script>alert(1)</script>")
    assert axe_violations(page) == []

    # The full page load draws too.
    page.goto(f"{live_server.url}{url(patient, 7)}")
    wait_for_charts(page, 7)
    assert axe_violations(page) == []
    assert errors == []
