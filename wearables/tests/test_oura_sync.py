"""Oura v2 end to end against a local stub speaking Oura's protocol with the published
fixtures (wearables/tests/fixtures/oura): OAuth connect (no PKCE, credentials in the
body), sync into daily values and units, paging by next_token, 429 + retry-after,
401 + refresh with single-use rotating refresh tokens, refresh failure, malformed
records (the published filler SpO2 of 0 included), idempotency."""

import copy
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from clinical.models import Observation
from wearables import providers, sync
from wearables.models import Connection, DailyMetric, SyncFailure, SyncLog
from wearables.tests.stub import Reply, fixture

BASE = "/v2/usercollection"
COLLECTIONS = ("daily_sleep", "sleep", "daily_readiness", "daily_activity", "daily_spo2", "heartrate")


def spo2_fixture(average=97.25):
    """The published daily_spo2 example carries OpenAPI filler (average 0): a real value
    for the tests that check the mapping, the filler itself in the malformed test."""
    data = fixture("oura/daily_spo2.json")
    data["data"][0]["spo2_percentage"]["average"] = average
    return data


def oura_routes(stub, **override):
    for name in COLLECTIONS:
        body = override.get(name)
        if body is None:
            body = spo2_fixture() if name == "daily_spo2" else fixture(f"oura/{name}.json")
        stub.on("GET", f"{BASE}/{name}", body)


def linked(patient, access="at-1", refresh="rt-1"):
    c = Connection(project=patient.project, patient=patient, provider="oura")
    c.access_token, c.refresh_token = access, refresh
    c.save()
    return c


def run_sync(connection):
    log = SyncLog.objects.create(project=connection.project, patient=connection.patient, connection=connection,
                                 source=connection.provider, trigger="command")
    return sync.run(log.pk)


@pytest.mark.django_db
def test_oauth_connect_exchanges_the_code_without_pkce(world, login, provider_stub,
                                                      django_capture_on_commit_callbacks):
    stub = provider_stub("oura")
    oura_routes(stub)
    stub.on("POST", "/oauth/token", {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 86400,
                                     "token_type": "bearer"})
    client = login(world.patient_user)

    start = client.get(reverse("wearables_connect", args=["oura"]))
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{stub.url}/oauth/authorize"
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert params["response_type"] == "code" and params["client_id"] == "oura-client"
    assert set(params["scope"].split(" ")) == {"personal", "daily", "heartrate", "spo2"}
    assert "code_challenge" not in params  # Oura documents no PKCE

    with django_capture_on_commit_callbacks(execute=True):
        done = client.get(reverse("wearables_callback", args=["oura"]), {"code": "oura-code",
                                                                       "state": params["state"]})
    assert done.status_code == 302 and done["Location"] == reverse("portal_devices")
    [call] = stub.seen("POST", "/oauth/token")
    assert call.form == {"grant_type": "authorization_code", "code": "oura-code",
                         "redirect_uri": params["redirect_uri"], "client_id": "oura-client",
                         "client_secret": "oura-secret"}
    conn = Connection.objects.get(patient=world.me, provider="oura")
    assert (conn.status, conn.access_token, conn.refresh_token) == ("linked", "at-1", "rt-1")
    assert conn.sync_logs.get().status == "success"
    sleeps = stub.seen("GET", f"{BASE}/sleep")
    assert sleeps and all(r.headers["authorization"] == "Bearer at-1" for r in sleeps)
    assert DailyMetric.objects.filter(patient=world.me, source="oura").exists()


@pytest.mark.django_db
def test_sync_maps_oura_into_daily_values_and_units(world, provider_stub):
    stub = provider_stub("oura")
    daily_sleep = fixture("oura/daily_sleep.json")
    daily_sleep["data"][0]["day"] = "2022-07-12"  # the published examples are of different days
    oura_routes(stub, daily_sleep=daily_sleep)
    log = run_sync(linked(world.me))
    assert log.status == "success" and log.skipped == 0

    # sleep.json: long_sleep, day 2022-07-12 (Oura's own day, kept), total_sleep_duration null.
    night = DailyMetric.objects.get(patient=world.me, source="oura", date=date(2022, 7, 12))
    assert night.hrv_ms == 117 and night.hrv_method == "rmssd"
    assert night.resting_hr == 48
    assert night.sleep_hours == pytest.approx((4170 + 18750 + 2280) / 3600)  # 7.0 h from the stages
    assert night.sleep_deep_hours == pytest.approx(4170 / 3600, abs=1e-4)
    assert night.sleep_light_hours == pytest.approx(18750 / 3600, abs=1e-4)
    assert night.sleep_rem_hours == pytest.approx(2280 / 3600, abs=1e-4)
    assert night.sleep_awake_hours == pytest.approx(4800 / 3600, abs=1e-4)
    assert night.respiratory_rate == 12.625 and night.device == "Oura"

    assert DailyMetric.objects.get(patient=world.me, date=date(2021, 10, 27)).recovery_score == 66
    activity = DailyMetric.objects.get(patient=world.me, date=date(2021, 11, 26))
    assert (activity.steps, activity.active_energy_kcal) == (18430, 1222)
    assert DailyMetric.objects.get(patient=world.me, date=date(2019, 8, 24)).spo2 == 97.25

    session = Observation.objects.get(patient=world.me, metric="sleep_session")
    assert session.effective_at == datetime(2022, 7, 12, 8, 5, 14, tzinfo=UTC)  # 01:05:14-07:00
    assert session.end_at == datetime(2022, 7, 12, 16, 25, 14, tzinfo=UTC)
    assert (session.value, session.unit, session.context) == (pytest.approx(7.0), "h", "sleep")
    assert session.details["sleep_score"] == 63 and session.details["basis"] == "stages"
    hrv = Observation.objects.get(patient=world.me, metric="hrv")
    assert (hrv.value, hrv.unit, hrv.method, hrv.effective_at) == (117, "ms", "rmssd", session.end_at)
    rhr = Observation.objects.get(patient=world.me, metric="resting_heart_rate")
    assert (rhr.value, rhr.unit) == (48, "bpm")
    hr = Observation.objects.get(patient=world.me, metric="heart_rate")
    assert (hr.value, hr.unit, hr.context, hr.effective_at) == (60, "bpm", "sleep",
                                                               datetime(2021, 1, 1, 1, 2, 3, tzinfo=UTC))
    # The query shapes: dates for the daily collections, datetimes for heartrate.
    daily_call = stub.seen("GET", f"{BASE}/daily_activity")[0].query
    assert set(daily_call) == {"start_date", "end_date"} and len(daily_call["start_date"]) == 10
    hr_call = stub.seen("GET", f"{BASE}/heartrate")[0].query
    assert set(hr_call) == {"start_datetime", "end_datetime"} and hr_call["end_datetime"].endswith("Z")


@pytest.mark.django_db
def test_naps_are_sessions_only(world, provider_stub):
    stub = provider_stub("oura")
    sleep = fixture("oura/sleep.json")
    nap = copy.deepcopy(sleep["data"][0])
    nap.update(id="nap-1", type="late_nap", bedtime_start="2022-07-12T14:00:00-07:00",
               bedtime_end="2022-07-12T14:40:00-07:00", average_hrv=40, lowest_heart_rate=70,
               total_sleep_duration=2100)
    sleep["data"].append(nap)
    oura_routes(stub, sleep=sleep)
    run_sync(linked(world.me))
    night = DailyMetric.objects.get(patient=world.me, date=date(2022, 7, 12))
    assert night.hrv_ms == 117 and night.resting_hr == 48 and night.sleep_hours == pytest.approx(7.0)
    sessions = Observation.objects.filter(patient=world.me, metric="sleep_session").order_by("effective_at")
    assert [(s.context, round(s.value, 4)) for s in sessions] == [("sleep", 7.0), ("nap", round(2100 / 3600, 4))]
    assert Observation.objects.filter(patient=world.me, metric="hrv").count() == 1


@pytest.mark.django_db
def test_published_fixtures_as_is_placeholders_tolerated_filler_spo2_logged(world, provider_stub):
    """The fixtures exactly as published: placeholder strings (class_5_min,
    movement_30_sec...) are tolerated; the filler SpO2 average of 0 and one broken
    heart-rate sample are skipped with their raw body kept while the rest lands."""
    stub = provider_stub("oura")
    heartrate = fixture("oura/heartrate.json")
    heartrate["data"].append({"bpm": "sixty", "source": "awake", "timestamp": "2021-01-01T01:07:03+00:00"})
    oura_routes(stub, daily_spo2=fixture("oura/daily_spo2.json"), heartrate=heartrate)
    log = run_sync(linked(world.me))
    assert log.status == "partial" and log.skipped == 2
    failures = {f.endpoint: f for f in SyncFailure.objects.filter(sync_log=log)}
    assert set(failures) == {f"{BASE}/daily_spo2", f"{BASE}/heartrate"}
    assert '"average": 0' in failures[f"{BASE}/daily_spo2"].raw and "out of range" in failures[
        f"{BASE}/daily_spo2"].error
    assert "sixty" in failures[f"{BASE}/heartrate"].raw
    assert not DailyMetric.objects.filter(patient=world.me, spo2__isnull=False).exists()
    assert Observation.objects.filter(patient=world.me, metric="heart_rate").count() == 1
    assert DailyMetric.objects.get(patient=world.me, date=date(2021, 11, 26)).steps == 18430
    assert DailyMetric.objects.get(patient=world.me, date=date(2022, 7, 12)).hrv_ms == 117


@pytest.mark.django_db
def test_paging_follows_next_token_to_the_end(world, provider_stub):
    stub = provider_stub("oura")
    oura_routes(stub)
    first = fixture("oura/heartrate.json")
    first["next_token"] = "tok-2"
    second = {"data": [{"bpm": 72, "source": "awake", "timestamp": "2021-01-01T01:07:03+00:00"}],
              "next_token": None}
    stub.on("GET", f"{BASE}/heartrate", first, second)
    log = run_sync(linked(world.me))
    calls = stub.seen("GET", f"{BASE}/heartrate")
    assert [c.query.get("next_token") for c in calls] == [None, "tok-2"]
    assert calls[0].query["start_datetime"] == calls[1].query["start_datetime"]  # same window, next page
    assert sorted(Observation.objects.filter(patient=world.me, metric="heart_rate").values_list(
        "value", flat=True)) == [60, 72]
    assert log.status == "success"


@pytest.mark.django_db
def test_429_with_retry_after_then_success(world, provider_stub):
    stub = provider_stub("oura")
    oura_routes(stub)
    stub.on("GET", f"{BASE}/daily_readiness",
            Reply(429, {"detail": "Too many requests", "status": 429, "title": "Too Many Requests"},
                  {"retry-after": "0.05", "Content-Type": "application/problem+json"}),
            fixture("oura/daily_readiness.json"))
    log = run_sync(linked(world.me))
    assert log.status == "success"
    assert len(stub.seen("GET", f"{BASE}/daily_readiness")) == 2
    assert DailyMetric.objects.get(patient=world.me, date=date(2021, 10, 27)).recovery_score == 66


@pytest.mark.django_db
def test_401_refreshes_with_single_use_rotating_tokens(world, provider_stub):
    """Each refresh token works once (reuse gets 400, as Oura does): the second
    refresh must send the token the first one returned."""
    stub = provider_stub("oura")
    oura_routes(stub)
    issued = {"rt-1": ("at-2", "rt-2"), "rt-2": ("at-3", "rt-3")}
    used = set()

    def token(seen):
        rt = seen.form.get("refresh_token")
        if rt in used or rt not in issued:
            return Reply(400, {"error": "invalid_grant"})
        used.add(rt)
        return Reply(200, {"access_token": issued[rt][0], "refresh_token": issued[rt][1], "expires_in": 86400})

    stub.on("POST", "/oauth/token", token)
    problem = Reply(401, {"detail": "Token expired", "status": 401, "title": "Unauthorized"})
    stub.on("GET", f"{BASE}/daily_sleep", problem, fixture("oura/daily_sleep.json"), problem,
            fixture("oura/daily_sleep.json"))
    conn = linked(world.me)
    assert run_sync(conn).status == "success"
    conn.refresh_from_db()
    assert (conn.access_token, conn.refresh_token) == ("at-2", "rt-2")
    sleeps = stub.seen("GET", f"{BASE}/sleep")
    assert sleeps and all(r.headers["authorization"] == "Bearer at-2" for r in sleeps)

    assert run_sync(conn).status == "success"
    refreshes = stub.seen("POST", "/oauth/token")
    assert [r.form["refresh_token"] for r in refreshes] == ["rt-1", "rt-2"]
    assert refreshes[0].form == {"grant_type": "refresh_token", "refresh_token": "rt-1",
                                 "client_id": "oura-client", "client_secret": "oura-secret"}
    conn.refresh_from_db()
    assert (conn.access_token, conn.refresh_token, conn.status) == ("at-3", "rt-3", "linked")


@pytest.mark.django_db
def test_refresh_refused_marks_needs_reconsent(world, provider_stub):
    stub = provider_stub("oura")
    oura_routes(stub)
    stub.on("GET", f"{BASE}/daily_sleep", Reply(401, {"detail": "Unauthorized", "status": 401}))
    stub.on("POST", "/oauth/token", Reply(400, {"error": "invalid_grant"}))
    conn = linked(world.me)
    log = run_sync(conn)
    conn.refresh_from_db()
    assert conn.status == "needs_reconsent" and log.status == "failed" and "re-consent" in log.error
    assert not DailyMetric.objects.filter(patient=world.me).exists()


@pytest.mark.django_db
def test_rfc7807_error_fails_the_run_with_the_detail(world, provider_stub):
    stub = provider_stub("oura")
    oura_routes(stub)
    stub.on("GET", f"{BASE}/daily_activity",
            Reply(400, {"type": "about:blank", "title": "Bad Request", "status": 400,
                        "detail": "Start date is greater than end date"},
                  {"Content-Type": "application/problem+json"}))
    conn = linked(world.me)
    log = run_sync(conn)
    conn.refresh_from_db()
    assert log.status == "failed" and "Start date is greater than end date" in log.error
    assert conn.last_success_at is None and conn.status == "linked"


@pytest.mark.django_db
def test_a_scope_the_patient_unticked_skips_that_collection_only(world, provider_stub):
    stub = provider_stub("oura")
    oura_routes(stub)
    stub.on("GET", f"{BASE}/daily_spo2", Reply(403, {"detail": "Missing scope spo2", "status": 403}))
    log = run_sync(linked(world.me))
    assert log.status == "success"
    assert DailyMetric.objects.get(patient=world.me, date=date(2022, 7, 12)).hrv_ms == 117
    assert Observation.objects.filter(patient=world.me, metric="heart_rate").count() == 1


@pytest.mark.django_db
def test_second_sync_adds_nothing(world, provider_stub):
    stub = provider_stub("oura")
    oura_routes(stub)
    conn = linked(world.me)
    assert run_sync(conn).status == "success"
    counts = (Observation.objects.count(), DailyMetric.objects.count())
    assert counts[0] == 5 and counts[1] == 4  # session, hrv, rhr, resp. rate, hr; 4 distinct days
    assert run_sync(conn).status == "success"
    assert (Observation.objects.count(), DailyMetric.objects.count()) == counts


@pytest.mark.django_db
def test_revoke_posts_the_token_to_oauth_revoke(provider_stub):
    stub = provider_stub("oura")
    stub.on("POST", "/oauth/revoke", Reply(200, ""))
    providers.get("oura").revoke("at-9")
    [call] = stub.seen("POST", "/oauth/revoke")
    assert call.query == {"access_token": "at-9"}
