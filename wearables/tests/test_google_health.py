"""Google Health API v4 (Fitbit devices) against a local stub: OAuth with offline
access and PKCE, sync into the right daily values, pageToken paging, 429, 401 +
refresh. Google publishes no sample payloads; these follow the documented
DataPoint / ListDataPointsResponse shapes (proto3 JSON: int64 as strings)."""

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from clinical.models import Observation
from wearables import sync
from wearables.models import Connection, DailyMetric, SyncLog
from wearables.tests.stub import Reply

BASE = "/users/me/dataTypes"
TRACKER = {"recordingMethod": "PASSIVELY_MEASURED", "device": {"displayName": "Charge 6"}}
PHONE = {"recordingMethod": "PASSIVELY_MEASURED", "platform": "ANDROID"}


def day(d):
    return {"year": d.year, "month": d.month, "day": d.day}


def resting(d, bpm):
    return {"name": f"users/1/dataTypes/daily-resting-heart-rate/dataPoints/{d}", "dataSource": TRACKER,
            "dailyRestingHeartRate": {"date": day(d), "beatsPerMinute": str(bpm),
                                      "dailyRestingHeartRateMetadata": {"calculationMethod": "WITH_SLEEP"}}}


def hrv(d, ms):
    return {"name": f"users/1/dataTypes/daily-heart-rate-variability/dataPoints/{d}", "dataSource": TRACKER,
            "dailyHeartRateVariability": {"date": day(d), "averageHeartRateVariabilityMilliseconds": ms,
                                          "deepSleepRootMeanSquareOfSuccessiveDifferencesMilliseconds": ms + 5}}


def steps(start, end, count, source=TRACKER, civil_day="2026-03-03"):
    y, m, d = (int(x) for x in civil_day.split("-"))
    return {"name": f"users/1/dataTypes/steps/dataPoints/{start}", "dataSource": source,
            "steps": {"count": str(count), "interval": {
                "startTime": start, "endTime": end, "startUtcOffset": "-36000s", "endUtcOffset": "-36000s",
                "civilStartTime": {"date": {"year": y, "month": m, "day": d}, "time": {"hours": 8}}}}}


def heart(at, bpm):
    return {"name": f"users/1/dataTypes/heart-rate/dataPoints/{at}", "dataSource": TRACKER,
            "heartRate": {"beatsPerMinute": str(bpm), "sampleTime": {"physicalTime": at, "utcOffset": "-36000s"}}}


def sleep(start, end, asleep, stages, civil_end, name="night"):
    y, m, d = (int(x) for x in civil_end.split("-"))
    return {"name": f"users/1/dataTypes/sleep/dataPoints/{name}", "dataSource": TRACKER,
            "sleep": {"interval": {"startTime": start, "endTime": end, "endUtcOffset": "-36000s",
                                   "civilEndTime": {"date": {"year": y, "month": m, "day": d}}},
                      "type": "STAGES",
                      "summary": {"minutesAsleep": str(asleep), "minutesAwake": str(stages.get("AWAKE", 0)),
                                  "stagesSummary": [{"type": k, "minutes": str(v), "count": "3"}
                                                    for k, v in stages.items()]}}}


NIGHT = sleep("2026-03-03T08:10:00Z", "2026-03-03T16:05:00Z", 430,
              {"AWAKE": 45, "LIGHT": 250, "DEEP": 80, "REM": 100}, "2026-03-03")
NAP = sleep("2026-03-04T01:00:00Z", "2026-03-04T01:40:00Z", 35, {"LIGHT": 35}, "2026-03-03", name="nap")


def routes(stub, **override):
    defaults = {
        "daily-resting-heart-rate": {"dataPoints": [resting(date(2026, 3, 3), 57)]},
        "daily-heart-rate-variability": {"dataPoints": [hrv(date(2026, 3, 3), 38.5)]},
        "sleep": {"dataPoints": [NIGHT, NAP]},
        "steps": {"dataPoints": [
            steps("2026-03-03T18:00:00Z", "2026-03-03T18:01:00Z", 1200),
            steps("2026-03-03T19:00:00Z", "2026-03-03T19:01:00Z", 800),
            # The phone counted the same walk: must not be added on top.
            steps("2026-03-03T18:00:00Z", "2026-03-03T18:01:00Z", 1500, source=PHONE),
            steps("2026-03-04T18:00:00Z", "2026-03-04T18:01:00Z", 300, civil_day="2026-03-04")]},
        "heart-rate": {"dataPoints": [heart("2026-03-03T18:00:00Z", 88), heart("2026-03-03T18:00:05.123456789Z", 90)]},
    }
    for data_type, body in {**defaults, **override}.items():
        if isinstance(body, tuple):
            stub.on("GET", f"{BASE}/{data_type}/dataPoints", *body)
        else:
            stub.on("GET", f"{BASE}/{data_type}/dataPoints", body)


def linked(patient, access="at-1", refresh="rt-1"):
    c = Connection(project=patient.project, patient=patient, provider="google_health")
    c.access_token, c.refresh_token = access, refresh
    c.save()
    return c


def run_sync(connection):
    log = SyncLog.objects.create(project=connection.project, patient=connection.patient, connection=connection,
                                 source="google_health", trigger="command")
    return sync.run(log.pk)


@pytest.mark.django_db
def test_connect_asks_for_offline_access_with_pkce(world, login, provider_stub, django_capture_on_commit_callbacks):
    stub = provider_stub("google_health")
    routes(stub)
    stub.on("POST", "/oauth/token", {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3599,
                                     "scope": "https://www.googleapis.com/auth/googlehealth.sleep.readonly",
                                     "token_type": "Bearer"})
    client = login(world.patient_user)
    start = client.get(reverse("wearables_connect", args=["google_health"]))
    params = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    assert params["access_type"] == "offline" and params["prompt"] == "consent"
    assert params["code_challenge_method"] == "S256"
    assert "https://www.googleapis.com/auth/googlehealth.sleep.readonly" in params["scope"].split()
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("wearables_callback", args=["google_health"]), {"code": "g", "state": params["state"]})
    assert stub.seen("POST", "/oauth/token")[0].form["code_verifier"]
    conn = Connection.objects.get(patient=world.me, provider="google_health")
    assert conn.refresh_token == "rt-1" and conn.sync_logs.get().status == "success"


@pytest.mark.django_db
def test_sync_maps_data_points_into_daily_values(world, provider_stub):
    stub = provider_stub("google_health")
    routes(stub)
    log = run_sync(linked(world.me))
    assert log.status == "success" and log.skipped == 0, log.error

    d = DailyMetric.objects.get(patient=world.me, source="google_health", date=date(2026, 3, 3))
    assert d.resting_hr == 57
    assert (d.hrv_ms, d.hrv_method) == (38.5, "rmssd")
    # The night, not the nap that ended the same civil day.
    assert d.sleep_hours == pytest.approx(430 / 60, abs=1e-3)
    assert d.sleep_deep_hours == pytest.approx(80 / 60) and d.sleep_rem_hours == pytest.approx(100 / 60)
    assert d.sleep_awake_hours == pytest.approx(45 / 60)
    assert d.steps == 2000  # tracker total; the phone's overlapping 1500 not added
    assert d.device == "Charge 6"
    assert DailyMetric.objects.get(patient=world.me, date=date(2026, 3, 4)).steps == 300
    hr = Observation.objects.filter(patient=world.me, metric="heart_rate").order_by("effective_at")
    assert [(o.value, o.unit) for o in hr] == [(88, "bpm"), (90, "bpm")]
    assert Observation.objects.filter(patient=world.me, metric="sleep_session").count() == 2

    calls = stub.seen("GET", f"{BASE}/daily-resting-heart-rate/dataPoints")
    assert calls[0].query["filter"].startswith('daily_resting_heart_rate.date >= "')
    assert stub.seen("GET", f"{BASE}/sleep/dataPoints")[0].query["pageSize"] == "25"
    hr_filter = stub.seen("GET", f"{BASE}/heart-rate/dataPoints")[0].query["filter"]
    assert "heart_rate.sample_time.physical_time >= " in hr_filter and " AND " in hr_filter
    assert all(r.headers["authorization"] == "Bearer at-1" for r in stub.requests)

    # Idempotent: a second run adds nothing.
    counts = (Observation.objects.count(), DailyMetric.objects.count())
    run_sync(Connection.objects.get(pk=log.connection_id))
    assert (Observation.objects.count(), DailyMetric.objects.count()) == counts
    assert DailyMetric.objects.get(date=date(2026, 3, 3)).steps == 2000


@pytest.mark.django_db
def test_page_token_is_followed_to_the_end(world, provider_stub):
    stub = provider_stub("google_health")
    first = {"dataPoints": [steps("2026-03-03T18:00:00Z", "2026-03-03T18:01:00Z", 1000)], "nextPageToken": "p2"}
    second = {"dataPoints": [steps("2026-03-03T20:00:00Z", "2026-03-03T20:01:00Z", 700)], "nextPageToken": "p3"}
    third = {"dataPoints": [steps("2026-03-03T21:00:00Z", "2026-03-03T21:01:00Z", 50)]}
    routes(stub, steps=(first, second, third))
    log = run_sync(linked(world.me))
    calls = stub.seen("GET", f"{BASE}/steps/dataPoints")
    assert [c.query.get("pageToken") for c in calls] == [None, "p2", "p3"]
    assert len({c.query["filter"] for c in calls}) == 1
    assert log.status == "success"
    # The day's steps sum across pages.
    assert DailyMetric.objects.get(patient=world.me, date=date(2026, 3, 3)).steps == 1750


@pytest.mark.django_db
def test_429_then_success(world, provider_stub):
    stub = provider_stub("google_health")
    routes(stub, **{"heart-rate": (Reply(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}},
                                         {"Retry-After": "0.05"}),
                                   {"dataPoints": [heart("2026-03-03T18:00:00Z", 88)]})})
    log = run_sync(linked(world.me))
    assert log.status == "success"
    assert len(stub.seen("GET", f"{BASE}/heart-rate/dataPoints")) == 2
    assert Observation.objects.get(patient=world.me, metric="heart_rate").value == 88


@pytest.mark.django_db
def test_401_refreshes_then_succeeds_and_keeps_the_refresh_token(world, provider_stub):
    stub = provider_stub("google_health")
    routes(stub, **{"daily-resting-heart-rate": (
        Reply(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
        {"dataPoints": [resting(date(2026, 3, 3), 57)]})})
    # Google's refresh answer carries no new refresh token: the old one stays.
    stub.on("POST", "/oauth/token", {"access_token": "at-2", "expires_in": 3599, "token_type": "Bearer"})
    conn = linked(world.me)
    log = run_sync(conn)
    assert log.status == "success"
    form = stub.seen("POST", "/oauth/token")[0].form
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "rt-1"
    conn.refresh_from_db()
    assert (conn.access_token, conn.refresh_token) == ("at-2", "rt-1")
    later = stub.seen("GET", f"{BASE}/heart-rate/dataPoints")
    assert later and all(r.headers["authorization"] == "Bearer at-2" for r in later)
    assert DailyMetric.objects.get(patient=world.me, date=date(2026, 3, 3)).resting_hr == 57


@pytest.mark.django_db
def test_malformed_point_is_skipped_while_the_rest_lands(world, provider_stub):
    stub = provider_stub("google_health")
    bad = heart("yesterday", 70)
    routes(stub, **{"heart-rate": {"dataPoints": [bad, heart("2026-03-03T18:00:00Z", 88)]},
                    "steps": {}})  # an empty list is omitted in proto3 JSON
    log = run_sync(linked(world.me))
    assert log.status == "partial" and log.skipped == 1
    assert Observation.objects.get(patient=world.me, metric="heart_rate").value == 88
