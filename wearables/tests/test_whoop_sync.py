"""WHOOP end to end against a local stub speaking WHOOP's v2 protocol: OAuth connect,
sync into the right daily values and units, paging, 429, 401 + refresh, refresh
failure, malformed records, idempotency, encrypted tokens."""

import copy
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection as db
from django.urls import reverse

from clinical.models import Observation
from messaging.models import Notification
from wearables import sync
from wearables.models import Connection, DailyMetric, SyncFailure, SyncLog
from wearables.tests.stub import Reply, fixture


def whoop_routes(stub, *, sleep=None, recovery=None, workout=None):
    stub.on("GET", "/v2/activity/sleep", sleep or fixture("whoop/sleep.json"))
    stub.on("GET", "/v2/recovery", recovery or fixture("whoop/recovery.json"))
    stub.on("GET", "/v2/activity/workout", workout or fixture("whoop/workout.json"))


def linked(patient, provider="whoop", access="at-1", refresh="rt-1"):
    c = Connection(project=patient.project, patient=patient, provider=provider)
    c.access_token, c.refresh_token = access, refresh
    c.save()
    return c


def run_sync(connection):
    log = SyncLog.objects.create(project=connection.project, patient=connection.patient, connection=connection,
                                 source=connection.provider, trigger="command")
    return sync.run(log.pk)


@pytest.mark.django_db
def test_full_oauth_connect_then_first_sync(world, login, provider_stub, django_capture_on_commit_callbacks):
    stub = provider_stub("whoop")
    whoop_routes(stub)
    stub.on("POST", "/oauth/token", {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600,
                                     "scope": "offline read:recovery", "token_type": "bearer"})
    client = login(world.patient_user)

    start = client.get(reverse("wearables_connect", args=["whoop"]))
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{stub.url}/oauth/authorize"
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert params["response_type"] == "code" and params["client_id"] == "whoop-client"
    assert "offline" in params["scope"].split()
    assert len(params["state"]) >= 32

    with django_capture_on_commit_callbacks(execute=True):
        done = client.get(reverse("wearables_callback", args=["whoop"]),
                          {"code": "the-code", "state": params["state"]})
    assert done.status_code == 302 and done["Location"] == reverse("portal_devices")
    token_call = stub.seen("POST", "/oauth/token")[0]
    assert token_call.form["grant_type"] == "authorization_code" and token_call.form["code"] == "the-code"
    assert token_call.form["redirect_uri"] == params["redirect_uri"]
    conn = Connection.objects.get(patient=world.me, provider="whoop")
    assert conn.status == "linked" and conn.access_token == "at-1" and conn.refresh_token == "rt-1"
    # The first sync ran (eager Celery) with the new token.
    recoveries = stub.seen("GET", "/v2/recovery")
    assert recoveries and all(r.headers["authorization"] == "Bearer at-1" for r in recoveries)
    assert conn.sync_logs.get().status == "success"
    assert DailyMetric.objects.filter(patient=world.me, source="whoop").exists()

    # The state is single use: replaying the callback connects nothing new.
    again = client.get(reverse("wearables_callback", args=["whoop"]), {"code": "x", "state": params["state"]})
    assert again.status_code == 302 and len(stub.seen("POST", "/oauth/token")) == 1


@pytest.mark.django_db
def test_callback_with_forged_state_or_refusal_stores_nothing(world, login, provider_stub):
    stub = provider_stub("whoop")
    client = login(world.patient_user)
    r = client.get(reverse("wearables_callback", args=["whoop"]), {"code": "c", "state": "forged"})
    assert r.status_code == 302
    start = client.get(reverse("wearables_connect", args=["whoop"]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    r = client.get(reverse("wearables_callback", args=["whoop"]), {"error": "access_denied", "state": state})
    assert r.status_code == 302
    assert not Connection.objects.exists() and not stub.seen("POST", "/oauth/token")


@pytest.mark.django_db
def test_connect_pages_need_a_patient_login(world, client, login, provider_stub):
    provider_stub("whoop")
    url = reverse("wearables_connect", args=["whoop"])
    assert client.get(url).status_code == 302  # to the login page
    assert login(world.clinician).get(url).status_code == 404  # staff have no portal
    assert login(world.patient_user).get(reverse("wearables_connect", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_unconfigured_provider_is_not_offered(world, login, settings):
    settings.WEARABLES_WHOOP_CLIENT_ID = ""
    assert login(world.patient_user).get(reverse("wearables_connect", args=["whoop"])).status_code == 404


@pytest.mark.django_db
def test_sync_maps_whoop_into_daily_values_and_units(world, provider_stub):
    stub = provider_stub("whoop")
    sleep = fixture("whoop/sleep.json")
    sleep["records"][0]["score"]["stage_summary"] = {
        "total_in_bed_time_milli": 30272735, "total_awake_time_milli": 1403507,
        "total_light_sleep_time_milli": 14905851, "total_slow_wave_sleep_time_milli": 6630370,
        "total_rem_sleep_time_milli": 5879573, "sleep_cycle_count": 3, "disturbance_count": 12}
    whoop_routes(stub, sleep=sleep)
    log = run_sync(linked(world.me))
    assert log.status == "success" and log.skipped == 0

    # The fixture's night ends 2022-04-24T10:25Z at -05:00: WHOOP's own day is the 24th.
    day = DailyMetric.objects.get(patient=world.me, source="whoop", date=date(2022, 4, 24))
    assert day.hrv_ms == pytest.approx(31.813562) and day.hrv_method == "rmssd"
    assert day.resting_hr == 64 and day.recovery_score == 44 and day.spo2 == pytest.approx(95.6875)
    assert day.sleep_hours == pytest.approx((14905851 + 6630370 + 5879573) / 3_600_000, abs=1e-3)
    assert day.sleep_deep_hours == pytest.approx(6630370 / 3_600_000)
    assert day.respiratory_rate == pytest.approx(16.11328125)
    hrv = Observation.objects.get(patient=world.me, metric="hrv")
    assert (hrv.value, hrv.unit, hrv.method, hrv.source) == (pytest.approx(31.813562), "ms", "rmssd", "whoop")
    workout = Observation.objects.get(patient=world.me, metric="workout")
    assert workout.value == pytest.approx(480.0) and workout.unit == "min"
    assert workout.details["energy_kcal"] == pytest.approx(1569.34033203125 / 4.184, abs=0.1)
    assert Observation.objects.get(patient=world.me, metric="skin_temperature").unit == "Cel"
    world.me.refresh_from_db()
    assert world.me.last_data_at is not None


@pytest.mark.django_db
def test_paging_is_followed_to_the_end(world, provider_stub):
    stub = provider_stub("whoop")
    first = fixture("whoop/workout.json")
    first["next_token"] = "page-2"
    second = copy.deepcopy(fixture("whoop/workout.json"))
    second["records"][0].update(id="11111111-1111-4111-8111-111111111111", start="2022-04-25T02:00:00.000Z",
                                end="2022-04-25T03:00:00.000Z")
    whoop_routes(stub, workout=None)
    stub.on("GET", "/v2/activity/workout", first, second)
    log = run_sync(linked(world.me))
    calls = stub.seen("GET", "/v2/activity/workout")
    assert [c.query.get("nextToken") for c in calls] == [None, "page-2"]
    assert all(c.query["limit"] == "25" for c in calls)
    assert Observation.objects.filter(patient=world.me, metric="workout").count() == 2
    assert log.status == "success"


@pytest.mark.django_db
def test_429_is_honoured_then_succeeds(world, provider_stub):
    stub = provider_stub("whoop")
    whoop_routes(stub)
    stub.on("GET", "/v2/recovery", Reply(429, {"error": "slow down"}, {"Retry-After": "0.05"}),
            fixture("whoop/recovery.json"))
    log = run_sync(linked(world.me))
    assert log.status == "success"
    assert len(stub.seen("GET", "/v2/recovery")) == 2
    assert DailyMetric.objects.get(patient=world.me).recovery_score == 44


@pytest.mark.django_db
def test_long_retry_after_ends_the_run_and_defers_the_next(world, provider_stub):
    stub = provider_stub("whoop")
    whoop_routes(stub)
    stub.on("GET", "/v2/activity/sleep", Reply(429, {"error": "quota"}, {"Retry-After": "3600"}))
    conn = linked(world.me)
    log = run_sync(conn)
    conn.refresh_from_db()
    assert log.status == "failed" and "429" in log.error
    assert conn.retry_after is not None and conn.last_success_at is None
    assert conn not in sync.due_connections()


@pytest.mark.django_db
def test_5xx_retries_with_backoff_then_gives_up_without_moving_the_cursor(world, provider_stub, settings):
    settings.WEARABLES_MAX_ATTEMPTS = 3
    stub = provider_stub("whoop")
    whoop_routes(stub)
    stub.on("GET", "/v2/activity/sleep", Reply(503, "unavailable"))
    conn = linked(world.me)
    log = run_sync(conn)
    conn.refresh_from_db()
    assert len(stub.seen("GET", "/v2/activity/sleep")) == 3
    assert log.status == "failed" and "503" in log.error
    assert conn.status == "linked" and conn.last_success_at is None and conn.last_error


@pytest.mark.django_db
def test_401_refreshes_once_stores_the_rotated_token_and_succeeds(world, provider_stub):
    stub = provider_stub("whoop")
    whoop_routes(stub)
    stub.on("GET", "/v2/activity/sleep", Reply(401, {"error": "expired"}), fixture("whoop/sleep.json"))
    stub.on("POST", "/oauth/token", {"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600})
    conn = linked(world.me)
    log = run_sync(conn)
    assert log.status == "success"
    refresh = stub.seen("POST", "/oauth/token")
    assert len(refresh) == 1
    assert refresh[0].form == {"grant_type": "refresh_token", "refresh_token": "rt-1",
                               "client_id": "whoop-client", "client_secret": "whoop-secret"}
    conn.refresh_from_db()
    assert (conn.access_token, conn.refresh_token) == ("at-2", "rt-2")
    later = stub.seen("GET", "/v2/recovery")
    assert later and all(r.headers["authorization"] == "Bearer at-2" for r in later)


@pytest.mark.django_db
def test_failed_refresh_marks_needs_reconsent_and_notifies(world, provider_stub):
    from mahalo.access import staff_of
    from patients.care_team import care_team_add

    care_team_add(patient=world.me, staff=staff_of(world.clinician), actor=world.lead)
    stub = provider_stub("whoop")
    whoop_routes(stub)
    stub.on("GET", "/v2/activity/sleep", Reply(401, {"error": "expired"}))
    stub.on("POST", "/oauth/token", Reply(400, {"error": "invalid_grant"}))
    conn = linked(world.me)
    log = run_sync(conn)
    conn.refresh_from_db()
    assert conn.status == "needs_reconsent" and log.status == "failed" and "re-consent" in log.error
    told = set(Notification.objects.filter(event_type="device_reconsent").values_list("recipient", flat=True))
    assert told == {world.patient_user.pk, world.clinician.pk}
    # Not synced again until the patient reconnects.
    assert conn not in sync.due_connections()
    assert run_sync(conn).status == "failed" and len(stub.seen("POST", "/oauth/token")) == 1


@pytest.mark.django_db
def test_malformed_record_is_skipped_and_logged_while_the_rest_lands(world, provider_stub):
    stub = provider_stub("whoop")
    workouts = fixture("whoop/workout.json")
    bad = copy.deepcopy(workouts["records"][0])
    bad.update(id="bad", start="yesterday-ish")
    workouts["records"].append(bad)
    whoop_routes(stub, workout=workouts)
    log = run_sync(linked(world.me))
    assert log.status == "partial" and log.skipped == 1
    failure = SyncFailure.objects.get(sync_log=log)
    assert "yesterday-ish" in failure.raw and failure.endpoint == "/v2/activity/workout"
    assert Observation.objects.filter(patient=world.me, metric="workout").count() == 1
    assert DailyMetric.objects.filter(patient=world.me).exists()


@pytest.mark.django_db
def test_second_sync_adds_nothing(world, provider_stub):
    stub = provider_stub("whoop")
    whoop_routes(stub)
    conn = linked(world.me)
    run_sync(conn)
    counts = (Observation.objects.count(), DailyMetric.objects.count())
    assert counts[0] > 0
    run_sync(conn)
    assert (Observation.objects.count(), DailyMetric.objects.count()) == counts
    # Incremental: the second window starts at the first success minus the overlap.
    first, second = SyncLog.objects.order_by("created_at")
    conn.refresh_from_db()
    assert second.window_start < first.window_end and second.window_start > first.window_start


@pytest.mark.django_db
def test_tokens_are_not_readable_in_the_database(world):
    conn = linked(world.me, access="secret-access-token-123", refresh="secret-refresh-token-456")
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token_encrypted, refresh_token_encrypted FROM wearables_connection "
                       "WHERE id = %s", [conn.pk.hex if db.vendor == "sqlite" else conn.pk])
        row = cursor.fetchone()
    assert row and all(row)
    assert "secret-access-token-123" not in "".join(row) and "secret-refresh-token-456" not in "".join(row)
    assert Connection.objects.get(pk=conn.pk).access_token == "secret-access-token-123"


@pytest.mark.django_db
def test_a_killed_run_is_completed_by_the_next(world, provider_stub, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    stub = provider_stub("whoop")
    whoop_routes(stub)
    conn = linked(world.me)
    # A worker died mid-run: its log says running and its lease is still held.
    dead = SyncLog.objects.create(project=conn.project, patient=conn.patient, connection=conn, source="whoop",
                                  status="running", started_at=timezone.now() - timedelta(hours=2))
    Connection.objects.filter(pk=conn.pk).update(lease_until=timezone.now() - timedelta(minutes=1))
    assert sync.sweep_stale() >= 1
    dead.refresh_from_db()
    assert dead.status == "abandoned"
    with django_capture_on_commit_callbacks(execute=True):
        assert sync.schedule_due() == 1  # eager: the queued run executes on commit
    assert SyncLog.objects.filter(connection=conn, status="success").count() == 1
    assert DailyMetric.objects.filter(patient=world.me).count() == 1


@pytest.mark.django_db
def test_tokens_never_reach_the_logs_or_sync_records(world, provider_stub, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    stub = provider_stub("whoop")
    whoop_routes(stub)
    stub.on("GET", "/v2/activity/sleep", Reply(401, {"error": "expired"}), fixture("whoop/sleep.json"))
    stub.on("POST", "/oauth/token", {"access_token": "fresh-access-secret", "refresh_token": "fresh-refresh-secret"})
    log = run_sync(linked(world.me, access="old-access-secret", refresh="old-refresh-secret"))
    assert log.status == "success"
    recorded = caplog.text + log.error + "".join(SyncFailure.objects.values_list("raw", flat=True))
    for secret in ("old-access-secret", "old-refresh-secret", "fresh-access-secret", "fresh-refresh-secret"):
        assert secret not in recorded
