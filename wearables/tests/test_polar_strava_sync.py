"""Polar AccessLink v3 and Strava v3 end to end against the local stub.

No public sample payloads exist for either (wearables/tests/fixtures has none): the stub
payloads below are built from the field names and shapes of the providers' documented
examples (Polar AccessLink reference: exercise, daily activity, nightly recharge;
Strava reference: SummaryActivity of GET /athlete/activities, token response). The
values are illustrative, not captures."""

import base64
import copy
import json
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from clinical.models import Observation
from wearables import providers, sync
from wearables.models import Connection, DailyMetric, SyncFailure, SyncLog
from wearables.tests.stub import Reply

# --- Polar payloads (documented shapes) -------------------------------------------
POLAR_EXERCISE = {
    "id": "2AC312F", "upload_time": "2008-10-13T10:40:02Z", "polar_user": "https://www.polaraccesslink.com/v3/users/1",
    "device": "Polar M400", "device_id": "1111AAAA", "start_time": "2008-10-13T10:40:02",
    "start_time_utc_offset": 180, "duration": "PT2H44M45S", "calories": 530, "distance": 1600,
    "heart_rate": {"average": 129, "maximum": 147}, "training_load": 143.22, "sport": "OTHER",
    "has_route": True, "detailed_sport_info": "WATERSPORTS_WATERSKI",
}
POLAR_ACTIVITY = {
    "start_time": "2022-09-30T00:00", "end_time": "2022-09-30T23:59:59", "active_duration": "PT3H15M",
    "inactive_duration": "PT20H44M59S", "daily_activity": 84.2, "calories": 2500, "active_calories": 1000,
    "steps": 10500, "inactivity_alert_count": 2, "distance_from_steps": 7000.5,
}
POLAR_RECHARGE = {
    "polar_user": "https://www.polaraccesslink.com/v3/users/1", "date": "2020-01-01", "heart_rate_avg": 70,
    "beat_to_beat_avg": 816, "heart_rate_variability_avg": 28, "breathing_rate_avg": 14.1,
    "nightly_recharge_status": 3, "ans_charge": 0.0, "ans_charge_status": 2,
    "hrv_samples": {"00:41": 14, "00:46": 14}, "breathing_samples": {"00:39": 13.4, "00:44": 13.5},
}

# --- Strava payloads (documented SummaryActivity shape; heart rate added) ------------
STRAVA_RIDE = {
    "resource_state": 2, "athlete": {"id": 134815, "resource_state": 1}, "name": "Happy Friday",
    "distance": 24931.4, "moving_time": 4500, "elapsed_time": 4500, "total_elevation_gain": 0, "type": "Ride",
    "sport_type": "MountainBikeRide", "id": 154504250376823, "start_date": "2018-05-02T12:15:09Z",
    "start_date_local": "2018-05-02T05:15:09Z", "timezone": "(GMT-08:00) America/Los_Angeles",
    "utc_offset": -25200, "kilojoules": 788.7, "device_watts": True, "has_heartrate": True,
    "average_heartrate": 140.3, "max_heartrate": 178.0, "manual": False,
}
STRAVA_RUN = {
    "resource_state": 2, "athlete": {"id": 134815, "resource_state": 1}, "name": "Bondi",
    "distance": 23676.5, "moving_time": 5400, "elapsed_time": 5880, "type": "Run", "sport_type": "Run",
    "id": 1234567809, "start_date": "2018-04-30T12:35:51Z", "start_date_local": "2018-04-30T05:35:51Z",
    "timezone": "(GMT-08:00) America/Los_Angeles", "has_heartrate": True, "average_heartrate": 151.2,
    "max_heartrate": 183.0, "calories": 870.2, "manual": False,
}


def linked(patient, provider, access="at-1", refresh="rt-1"):
    c = Connection(project=patient.project, patient=patient, provider=provider)
    c.access_token, c.refresh_token = access, refresh
    c.save()
    return c


def run_sync(connection):
    log = SyncLog.objects.create(project=connection.project, patient=connection.patient, connection=connection,
                                 source=connection.provider, trigger="command")
    return sync.run(log.pk)


def polar_routes(stub, *, exercises=None, activities=None, recharges=None):
    stub.on("GET", "/v3/exercises", exercises if exercises is not None else [POLAR_EXERCISE])
    stub.on("GET", "/v3/users/activities", activities if activities is not None else [POLAR_ACTIVITY])
    stub.on("GET", "/v3/users/nightly-recharge",
            recharges if recharges is not None else {"recharges": [POLAR_RECHARGE]})


def strava_pages(stub, pages):
    """GET /athlete/activities answering by the `page` query parameter; past the end: []."""
    def reply(seen):
        index = int(seen.query.get("page", "1")) - 1
        return Reply(200, pages[index] if index < len(pages) else [])
    stub.on("GET", "/athlete/activities", reply)


# ================================ Polar ==========================================

@pytest.mark.django_db
def test_polar_connect_basic_auth_then_registers_the_user(world, login, provider_stub,
                                                          django_capture_on_commit_callbacks):
    stub = provider_stub("polar")
    polar_routes(stub)
    stub.on("POST", "/oauth/token", {"access_token": "pat-1", "token_type": "bearer", "x_user_id": 4711,
                                     "expires_in": 473039999})
    stub.on("POST", "/v3/users", {"polar-user-id": 4711, "member-id": "x", "registration-date": "2024-01-01"})
    client = login(world.patient_user)
    start = client.get(reverse("wearables_connect", args=["polar"]))
    params = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    assert params["client_id"] == "polar-client" and params["scope"] == "accesslink.read_all"

    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("wearables_callback", args=["polar"]), {"code": "p-code", "state": params["state"]})
    [token] = stub.seen("POST", "/oauth/token")
    basic = base64.b64encode(b"polar-client:polar-secret").decode()
    assert token.headers["authorization"] == f"Basic {basic}"
    assert token.form == {"grant_type": "authorization_code", "code": "p-code",
                          "redirect_uri": params["redirect_uri"]}  # no secret in the body
    [register] = stub.seen("POST", "/v3/users")
    assert register.headers["authorization"] == "Bearer pat-1"
    member = json.loads(register.body)["member-id"]
    assert len(member) == 32 and "kai" not in member.lower()  # opaque: nothing about the patient
    conn = Connection.objects.get(patient=world.me, provider="polar")
    assert conn.external_user_id == "4711" and conn.access_token == "pat-1" and conn.refresh_token == ""
    assert conn.sync_logs.get().status == "success"


@pytest.mark.django_db
def test_polar_already_registered_is_fine_other_registration_errors_are_not(provider_stub):
    stub = provider_stub("polar")
    stub.on("POST", "/oauth/token", {"access_token": "pat-1", "x_user_id": 4711})
    stub.on("POST", "/v3/users", Reply(409, ""), Reply(403, "forbidden"))
    polar = providers.get("polar")
    assert polar.exchange_code(code="c", redirect_uri="http://x/cb").access_token == "pat-1"
    with pytest.raises(providers.base.ProviderError):
        polar.exchange_code(code="c", redirect_uri="http://x/cb")


@pytest.mark.django_db
def test_polar_sync_maps_exercises_activity_and_nightly_recharge(world, provider_stub):
    stub = provider_stub("polar")
    polar_routes(stub)
    log = run_sync(linked(world.me, "polar", refresh=""))
    assert log.status == "success" and log.skipped == 0

    workout = Observation.objects.get(patient=world.me, source="polar", metric="workout")
    assert workout.effective_at == datetime(2008, 10, 13, 7, 40, 2, tzinfo=UTC)  # 10:40:02 at UTC+3
    assert (workout.value, workout.unit) == (pytest.approx(164.75), "min")  # PT2H44M45S
    assert workout.end_at == datetime(2008, 10, 13, 10, 24, 47, tzinfo=UTC)
    assert workout.details["average_heart_rate"] == 129 and workout.details["max_heart_rate"] == 147
    assert workout.details["energy_kcal"] == 530 and workout.details["distance_m"] == 1600
    assert workout.device == "Polar M400" and workout.external_id == "2AC312F"

    activity = DailyMetric.objects.get(patient=world.me, source="polar", date=date(2022, 9, 30))
    assert (activity.steps, activity.active_energy_kcal) == (10500, 1000)
    night = DailyMetric.objects.get(patient=world.me, source="polar", date=date(2020, 1, 1))
    assert (night.hrv_ms, night.hrv_method, night.resting_hr, night.respiratory_rate) == (28, "rmssd", 70, 14.1)
    hrv = Observation.objects.get(patient=world.me, metric="hrv")
    assert (hrv.value, hrv.method, hrv.unit) == (28, "rmssd", "ms")
    # Dated by Polar's day at the program's midnight (Honolulu, UTC-10).
    assert hrv.effective_at == datetime(2020, 1, 1, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_polar_activity_window_is_chunked_to_28_days(world, provider_stub, settings):
    settings.WEARABLES_INITIAL_BACKFILL_DAYS = 30
    stub = provider_stub("polar")
    second = copy.deepcopy(POLAR_ACTIVITY)
    second.update(start_time="2022-10-01T00:00", steps=4321)
    stub_activities = [[POLAR_ACTIVITY], {"activities": [second]}]  # both documented shapes accepted
    polar_routes(stub)
    stub.on("GET", "/v3/users/activities", *stub_activities)
    assert run_sync(linked(world.me, "polar", refresh="")).status == "success"
    calls = stub.seen("GET", "/v3/users/activities")
    assert len(calls) == 2
    assert calls[0].query["to"] == calls[1].query["from"]
    first_from = date.fromisoformat(calls[0].query["from"])
    assert (date.fromisoformat(calls[0].query["to"]) - first_from).days == 28
    steps = dict(DailyMetric.objects.filter(patient=world.me, steps__isnull=False).values_list("date", "steps"))
    assert steps == {date(2022, 9, 30): 10500, date(2022, 10, 1): 4321}


@pytest.mark.django_db
def test_polar_429_then_success(world, provider_stub):
    stub = provider_stub("polar")
    polar_routes(stub)
    stub.on("GET", "/v3/exercises", Reply(429, "", {"Retry-After": "0.05"}), [POLAR_EXERCISE])
    assert run_sync(linked(world.me, "polar", refresh="")).status == "success"
    assert len(stub.seen("GET", "/v3/exercises")) == 2
    assert Observation.objects.filter(patient=world.me, metric="workout").count() == 1


@pytest.mark.django_db
def test_polar_401_without_refresh_token_means_reconsent(world, provider_stub):
    """Polar issues no refresh tokens: a refused token goes straight to re-consent."""
    stub = provider_stub("polar")
    polar_routes(stub)
    stub.on("GET", "/v3/exercises", Reply(401, ""))
    conn = linked(world.me, "polar", refresh="")
    log = run_sync(conn)
    conn.refresh_from_db()
    assert conn.status == "needs_reconsent" and log.status == "failed"
    assert not stub.seen("POST", "/oauth/token")


@pytest.mark.django_db
def test_polar_malformed_exercise_is_skipped_and_logged(world, provider_stub):
    stub = provider_stub("polar")
    bad = {**POLAR_EXERCISE, "id": "BAD1", "duration": "two hours"}
    polar_routes(stub, exercises=[bad, POLAR_EXERCISE])
    log = run_sync(linked(world.me, "polar", refresh=""))
    assert log.status == "partial" and log.skipped == 1
    failure = SyncFailure.objects.get(sync_log=log)
    assert failure.endpoint == "/v3/exercises" and "two hours" in failure.raw
    assert Observation.objects.filter(patient=world.me, metric="workout").count() == 1
    assert DailyMetric.objects.filter(patient=world.me, hrv_ms=28).exists()


@pytest.mark.django_db
def test_polar_second_sync_adds_nothing(world, provider_stub):
    stub = provider_stub("polar")
    polar_routes(stub)
    conn = linked(world.me, "polar", refresh="")
    run_sync(conn)
    counts = (Observation.objects.count(), DailyMetric.objects.count())
    assert counts == (4, 2)  # workout, hrv, resting hr, respiratory rate; two days
    assert run_sync(conn).status == "success"
    assert (Observation.objects.count(), DailyMetric.objects.count()) == counts


# ================================ Strava =========================================

@pytest.mark.django_db
def test_strava_connect_exchanges_the_code(world, login, provider_stub, django_capture_on_commit_callbacks):
    stub = provider_stub("strava")
    strava_pages(stub, [[STRAVA_RIDE]])
    stub.on("POST", "/oauth/token", {"token_type": "Bearer", "expires_at": 1568775134, "expires_in": 21600,
                                     "refresh_token": "srt-1", "access_token": "sat-1",
                                     "athlete": {"id": 134815, "username": "x"}})
    client = login(world.patient_user)
    start = client.get(reverse("wearables_connect", args=["strava"]))
    params = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    assert params["scope"] == "read,activity:read_all" and "code_challenge" not in params
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("wearables_callback", args=["strava"]), {"code": "s-code", "state": params["state"]})
    [token] = stub.seen("POST", "/oauth/token")
    assert token.form == {"grant_type": "authorization_code", "code": "s-code",
                          "redirect_uri": params["redirect_uri"], "client_id": "strava-client",
                          "client_secret": "strava-secret"}
    conn = Connection.objects.get(patient=world.me, provider="strava")
    assert (conn.access_token, conn.refresh_token, conn.external_user_id) == ("sat-1", "srt-1", "134815")
    assert conn.sync_logs.get().status == "success"


@pytest.mark.django_db
def test_strava_sync_pages_until_empty_and_maps_workouts(world, provider_stub):
    stub = provider_stub("strava")
    strava_pages(stub, [[STRAVA_RIDE], [STRAVA_RUN]])
    log = run_sync(linked(world.me, "strava"))
    assert log.status == "success"
    calls = stub.seen("GET", "/athlete/activities")
    assert [c.query["page"] for c in calls] == ["1", "2", "3"]  # the third, empty page ends it
    assert all(c.query["per_page"] == "100" and int(c.query["before"]) > int(c.query["after"]) for c in calls)

    ride = Observation.objects.get(patient=world.me, source="strava", external_id="154504250376823")
    assert ride.effective_at == datetime(2018, 5, 2, 12, 15, 9, tzinfo=UTC)
    assert (ride.metric, ride.value, ride.unit) == ("workout", 75, "min")  # moving_time 4500 s
    assert ride.details["sport_type"] == "MountainBikeRide" and ride.details["distance_m"] == 24931.4
    assert ride.details["average_heart_rate"] == 140.3 and ride.details["max_heart_rate"] == 178
    assert ride.details["work_kj"] == 788.7 and "energy_kcal" not in ride.details
    run = Observation.objects.get(patient=world.me, source="strava", external_id="1234567809")
    assert run.value == 90 and run.details["elapsed_min"] == 98  # moving 5400 s, elapsed 5880 s
    assert run.end_at == datetime(2018, 4, 30, 14, 13, 51, tzinfo=UTC)
    assert run.details["energy_kcal"] == 870.2
    assert not DailyMetric.objects.filter(patient=world.me).exists()


@pytest.mark.django_db
def test_strava_429_with_rate_headers_backs_off_then_succeeds(world, provider_stub):
    stub = provider_stub("strava")
    state = {"limited": True}

    def reply(seen):
        if state.pop("limited", False):
            return Reply(429, {"message": "Rate Limit Exceeded"},
                         {"X-RateLimit-Limit": "200,2000", "X-RateLimit-Usage": "201,503"})
        return Reply(200, [STRAVA_RIDE] if seen.query["page"] == "1" else [])

    stub.on("GET", "/athlete/activities", reply)
    log = run_sync(linked(world.me, "strava"))
    assert log.status == "success"
    assert [c.query["page"] for c in stub.seen("GET", "/athlete/activities")] == ["1", "1", "2"]
    assert Observation.objects.filter(patient=world.me, metric="workout").count() == 1


@pytest.mark.django_db
def test_strava_401_refreshes_and_stores_the_rotated_token(world, provider_stub):
    stub = provider_stub("strava")
    state = {"expired": True}

    def reply(seen):
        if state.pop("expired", False):
            return Reply(401, {"message": "Authorization Error"})
        return Reply(200, [STRAVA_RIDE] if seen.query["page"] == "1" else [])

    stub.on("GET", "/athlete/activities", reply)
    stub.on("POST", "/oauth/token", {"token_type": "Bearer", "access_token": "sat-2", "refresh_token": "srt-2",
                                     "expires_at": 1568775134, "expires_in": 21600})
    conn = linked(world.me, "strava", "sat-1", "srt-1")
    assert run_sync(conn).status == "success"
    [refresh] = stub.seen("POST", "/oauth/token")
    assert refresh.form == {"grant_type": "refresh_token", "refresh_token": "srt-1",
                            "client_id": "strava-client", "client_secret": "strava-secret"}
    conn.refresh_from_db()
    assert (conn.access_token, conn.refresh_token) == ("sat-2", "srt-2")
    assert stub.seen("GET", "/athlete/activities")[-1].headers["authorization"] == "Bearer sat-2"


@pytest.mark.django_db
def test_strava_refused_refresh_marks_needs_reconsent(world, provider_stub):
    stub = provider_stub("strava")
    stub.on("GET", "/athlete/activities", Reply(401, {"message": "Authorization Error"}))
    stub.on("POST", "/oauth/token", Reply(400, {"message": "Bad Request",
                                                "errors": [{"field": "refresh_token", "code": "invalid"}]}))
    conn = linked(world.me, "strava")
    log = run_sync(conn)
    conn.refresh_from_db()
    assert conn.status == "needs_reconsent" and log.status == "failed"


@pytest.mark.django_db
def test_strava_malformed_activity_is_skipped_and_logged(world, provider_stub):
    stub = provider_stub("strava")
    bad = {**STRAVA_RUN, "id": 42, "start_date": "last tuesday"}
    strava_pages(stub, [[bad, STRAVA_RIDE]])
    log = run_sync(linked(world.me, "strava"))
    assert log.status == "partial" and log.skipped == 1
    assert "last tuesday" in SyncFailure.objects.get(sync_log=log).raw
    assert Observation.objects.filter(patient=world.me, metric="workout").count() == 1


@pytest.mark.django_db
def test_strava_second_sync_adds_nothing(world, provider_stub):
    stub = provider_stub("strava")
    strava_pages(stub, [[STRAVA_RIDE, STRAVA_RUN]])
    conn = linked(world.me, "strava")
    run_sync(conn)
    assert Observation.objects.count() == 2
    assert run_sync(conn).status == "success"
    assert Observation.objects.count() == 2


@pytest.mark.django_db
def test_strava_revoke_posts_to_deauthorize(provider_stub):
    stub = provider_stub("strava")
    stub.on("POST", "/oauth/deauthorize", {"access_token": "sat-1"})
    providers.get("strava").revoke("sat-1")
    [call] = stub.seen("POST", "/oauth/deauthorize")
    assert call.form == {"access_token": "sat-1"} and call.headers["authorization"] == "Bearer sat-1"


@pytest.mark.django_db
def test_polar_disconnect_deregisters_the_user_and_keeps_data(world, login, provider_stub):
    stub = provider_stub("polar")
    stub.on("DELETE", "/v3/users/4711", Reply(204, ""))
    conn = Connection(project=world.project, patient=world.me, provider="polar", external_user_id="4711")
    conn.access_token = "polar-token"
    conn.save()
    response = login(world.patient_user).post(reverse("portal_device_disconnect", args=[conn.pk]))
    assert response.status_code == 302
    [call] = stub.seen("DELETE", "/v3/users/4711")
    assert call.headers["authorization"] == "Bearer polar-token"
    conn.refresh_from_db()
    assert conn.status == "disconnected" and conn.access_token == ""
