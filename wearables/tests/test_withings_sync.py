"""Withings end to end against a local stub speaking Withings' protocol (HTTP 200 with
a `{"status": N, "body": ...}` envelope, form-encoded POSTs with `action=`), replaying
the real getmeas capture in wearables/tests/fixtures/withings/getmeas.json: OAuth
connect, values × 10^unit into canonical units, BP pairs as one observation, offset
paging, status 601 (rate limit), status 401 (refresh), refresh refused, malformed
groups, idempotency."""

import copy
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from clinical.models import Observation
from wearables import sync
from wearables.models import Connection, DailyMetric, SyncFailure, SyncLog
from wearables.tests.stub import fixture

# (date, systolic, diastolic, pulse) of the ten BPM Connect groups, as published.
BP_GROUPS = [
    (1620039631, 143, 106, 82), (1619953233, 177, 96, 65), (1619866835, 118, 113, 63),
    (1619780437, 151, 111, 63), (1619694039, 170, 88, 89), (1619607641, 149, 91, 65),
    (1619521243, 129, 96, 80), (1619434844, 147, 92, 89), (1619348446, 136, 82, 71),
    (1619262048, 176, 110, 57),
]


def token_envelope(access="at-1", refresh="rt-1", userid="363"):
    return {"status": 0, "body": {"userid": userid, "access_token": access, "refresh_token": refresh,
                                  "expires_in": 10800, "scope": "user.metrics", "token_type": "Bearer"}}


def linked(patient, access="at-1", refresh="rt-1"):
    c = Connection(project=patient.project, patient=patient, provider="withings")
    c.access_token, c.refresh_token = access, refresh
    c.save()
    return c


def run_sync(connection):
    log = SyncLog.objects.create(project=connection.project, patient=connection.patient, connection=connection,
                                 source=connection.provider, trigger="command")
    return sync.run(log.pk)


@pytest.mark.django_db
def test_oauth_connect_requesttoken_envelope(world, login, provider_stub, django_capture_on_commit_callbacks):
    stub = provider_stub("withings")
    stub.on("POST", "/measure", fixture("withings/getmeas.json"))
    stub.on("POST", "/oauth/token", token_envelope())
    client = login(world.patient_user)

    start = client.get(reverse("wearables_connect", args=["withings"]))
    params = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    assert start["Location"].startswith(f"{stub.url}/oauth/authorize?")
    assert params["response_type"] == "code" and params["client_id"] == "withings-client"
    assert params["scope"] == "user.metrics" and "code_challenge" not in params

    with django_capture_on_commit_callbacks(execute=True):
        done = client.get(reverse("wearables_callback", args=["withings"]), {"code": "w-code",
                                                                           "state": params["state"]})
    assert done.status_code == 302 and done["Location"] == reverse("portal_devices")
    [call] = stub.seen("POST", "/oauth/token")
    assert call.form == {"action": "requesttoken", "grant_type": "authorization_code", "code": "w-code",
                         "redirect_uri": params["redirect_uri"], "client_id": "withings-client",
                         "client_secret": "withings-secret"}
    conn = Connection.objects.get(patient=world.me, provider="withings")
    assert (conn.status, conn.access_token, conn.refresh_token) == ("linked", "at-1", "rt-1")
    assert conn.external_user_id == "363"
    assert conn.sync_logs.get().status == "success"
    assert Observation.objects.filter(patient=world.me, source="withings", metric="blood_pressure").count() == 10


@pytest.mark.django_db
def test_refused_code_exchange_connects_nothing(world, login, provider_stub):
    stub = provider_stub("withings")
    stub.on("POST", "/oauth/token", {"status": 503, "error": "Invalid Params: invalid code"})
    client = login(world.patient_user)
    start = client.get(reverse("wearables_connect", args=["withings"]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    done = client.get(reverse("wearables_callback", args=["withings"]), {"code": "bad", "state": state})
    assert done.status_code == 302 and not Connection.objects.exists()


@pytest.mark.django_db
def test_sync_maps_getmeas_into_observations_and_units(world, provider_stub):
    stub = provider_stub("withings")
    stub.on("POST", "/measure", fixture("withings/getmeas.json"))
    log = run_sync(linked(world.me))
    assert log.status == "success" and log.skipped == 0

    [call] = stub.seen("POST", "/measure")
    assert call.headers["authorization"] == "Bearer at-1"
    assert call.form["action"] == "getmeas" and call.form["category"] == "1"
    assert set(call.form["meastypes"].split(",")) == {"1", "4", "9", "10", "11", "54", "12", "71", "73"}
    # Incremental by modification time, so late uploads dated before the window are fetched.
    log_row = SyncLog.objects.get(pk=log.pk)
    assert int(call.form["lastupdate"]) == int(log_row.window_start.timestamp())
    assert "startdate" not in call.form and "offset" not in call.form

    at = datetime.fromtimestamp(1620237216, UTC)
    height = Observation.objects.get(patient=world.me, metric="height")
    assert (height.value, height.unit, height.effective_at) == (160.0, "cm", at)  # 1600 × 10^-3 m
    weight = Observation.objects.get(patient=world.me, metric="weight")
    assert (weight.value, weight.unit, weight.effective_at) == (56.3, "kg", at)  # 56300 × 10^-3 kg

    bps = {int(o.effective_at.timestamp()): o for o in Observation.objects.filter(patient=world.me,
                                                                                 metric="blood_pressure")}
    pulses = {int(o.effective_at.timestamp()): o.value
              for o in Observation.objects.filter(patient=world.me, metric="heart_rate")}
    assert len(bps) == 10 and len(pulses) == 10
    for stamp, systolic, diastolic, pulse in BP_GROUPS:
        bp = bps[stamp]
        assert (bp.value, bp.value2, bp.unit, bp.context) == (systolic, diastolic, "mmHg", "home")
        assert bp.device == "BPM Connect" and pulses[stamp] == pulse
    # The odd pair is kept exactly as measured (diastolic 113 / systolic 118).
    assert (bps[1619866835].value, bps[1619866835].value2) == (118, 113)
    assert bps[1620039631].external_id == "2726388728"
    # Withings has no daily summaries of these: nothing in DailyMetric.
    assert not DailyMetric.objects.filter(patient=world.me).exists()
    world.me.refresh_from_db()
    assert world.me.last_data_at == at


@pytest.mark.django_db
def test_temperatures_spo2_and_ambiguous_measures(world, provider_stub):
    stub = provider_stub("withings")
    groups = [
        {"grpid": 1, "attrib": 0, "date": 1620000000, "category": 1, "measures": [
            {"value": 3710, "type": 71, "unit": -2}, {"value": 3650, "type": 12, "unit": -2},
            {"value": 3390, "type": 73, "unit": -2}, {"value": 97, "type": 54, "unit": 0}]},
        {"grpid": 2, "attrib": 1, "date": 1620000500, "category": 1,  # ambiguous: maybe someone else
         "measures": [{"value": 91000, "type": 1, "unit": -3}]},
        {"grpid": 3, "attrib": 0, "date": 1620001000, "category": 2,  # an objective, not a measure
         "measures": [{"value": 60000, "type": 1, "unit": -3}]},
    ]
    stub.on("POST", "/measure", {"status": 0, "body": {"measuregrps": groups, "more": 0, "offset": 0}})
    assert run_sync(linked(world.me)).status == "success"
    values = {o.metric: (o.value, o.unit) for o in Observation.objects.filter(patient=world.me)}
    assert values == {"body_temperature": (37.1, "Cel"), "skin_temperature": (33.9, "Cel"), "spo2": (97, "%")}


@pytest.mark.django_db
def test_offset_paging_while_more(world, provider_stub):
    stub = provider_stub("withings")
    body = fixture("withings/getmeas.json")["body"]
    first = {"status": 0, "body": {**body, "measuregrps": body["measuregrps"][:5], "more": 1, "offset": 5}}
    second = {"status": 0, "body": {**body, "measuregrps": body["measuregrps"][5:], "more": 0, "offset": 0}}
    stub.on("POST", "/measure", first, second)
    log = run_sync(linked(world.me))
    calls = stub.seen("POST", "/measure")
    assert [c.form.get("offset") for c in calls] == [None, "5"]
    assert calls[0].form["lastupdate"] == calls[1].form["lastupdate"]
    assert Observation.objects.filter(patient=world.me, metric="blood_pressure").count() == 10
    assert Observation.objects.filter(patient=world.me, metric__in=["height", "weight"]).count() == 2
    assert log.status == "success"


@pytest.mark.django_db
def test_status_601_is_a_rate_limit_then_success(world, provider_stub):
    stub = provider_stub("withings")
    stub.on("POST", "/measure", {"status": 601, "error": "Too Many Requests"}, fixture("withings/getmeas.json"))
    log = run_sync(linked(world.me))
    assert log.status == "success" and len(stub.seen("POST", "/measure")) == 2
    assert Observation.objects.filter(patient=world.me, metric="blood_pressure").count() == 10


@pytest.mark.django_db
def test_status_401_in_a_200_envelope_refreshes_then_succeeds(world, provider_stub):
    stub = provider_stub("withings")
    stub.on("POST", "/measure", {"status": 401, "error": "XRequestID: invalid token"},
            fixture("withings/getmeas.json"))
    stub.on("POST", "/oauth/token", token_envelope("at-2", "rt-2"))
    conn = linked(world.me)
    log = run_sync(conn)
    assert log.status == "success"
    [refresh] = stub.seen("POST", "/oauth/token")
    assert refresh.form == {"action": "requesttoken", "grant_type": "refresh_token", "refresh_token": "rt-1",
                            "client_id": "withings-client", "client_secret": "withings-secret"}
    conn.refresh_from_db()
    assert (conn.access_token, conn.refresh_token) == ("at-2", "rt-2")
    calls = stub.seen("POST", "/measure")
    assert [c.headers["authorization"] for c in calls] == ["Bearer at-1", "Bearer at-2"]
    assert Observation.objects.filter(patient=world.me, metric="weight").count() == 1


@pytest.mark.django_db
def test_refused_refresh_in_the_envelope_marks_needs_reconsent(world, provider_stub):
    stub = provider_stub("withings")
    stub.on("POST", "/measure", {"status": 401, "error": "invalid token"})
    stub.on("POST", "/oauth/token", {"status": 503, "error": "Invalid Params: invalid refresh_token"})
    conn = linked(world.me)
    log = run_sync(conn)
    conn.refresh_from_db()
    assert conn.status == "needs_reconsent" and log.status == "failed" and "re-consent" in log.error
    assert not Observation.objects.filter(patient=world.me).exists()


@pytest.mark.django_db
def test_other_envelope_errors_fail_the_run_without_moving_the_cursor(world, provider_stub):
    stub = provider_stub("withings")
    stub.on("POST", "/measure", {"status": 2554, "error": "Unknown action"})
    conn = linked(world.me)
    log = run_sync(conn)
    conn.refresh_from_db()
    assert log.status == "failed" and "2554" in log.error
    assert conn.status == "linked" and conn.last_success_at is None


@pytest.mark.django_db
def test_malformed_group_is_skipped_and_logged_while_the_rest_lands(world, provider_stub):
    stub = provider_stub("withings")
    data = fixture("withings/getmeas.json")
    groups = data["body"]["measuregrps"]
    half = copy.deepcopy(groups[2])
    half.update(grpid=999, date=1620100000)
    half["measures"] = [m for m in half["measures"] if m["type"] != 9]  # systolic without diastolic
    broken = copy.deepcopy(groups[1])
    broken.update(grpid=998, date=1620100500)
    broken["measures"][0]["value"] = "56.3kg"
    groups += [half, broken]
    stub.on("POST", "/measure", data)
    log = run_sync(linked(world.me))
    assert log.status == "partial" and log.skipped == 2
    raws = [f.raw for f in SyncFailure.objects.filter(sync_log=log, endpoint="/measure")]
    assert any('"grpid": 999' in r for r in raws) and any("56.3kg" in r for r in raws)
    assert Observation.objects.filter(patient=world.me, metric="blood_pressure").count() == 10
    assert Observation.objects.filter(patient=world.me, metric="weight").count() == 1


@pytest.mark.django_db
def test_second_sync_adds_nothing(world, provider_stub):
    stub = provider_stub("withings")
    stub.on("POST", "/measure", fixture("withings/getmeas.json"))
    conn = linked(world.me)
    run_sync(conn)
    count = Observation.objects.count()
    assert count == 22  # height, weight, 10 BP, 10 pulse
    assert run_sync(conn).status == "success"
    assert Observation.objects.count() == count
