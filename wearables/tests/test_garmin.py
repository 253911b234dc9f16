"""Garmin end to end against a local stub speaking the Health API: OAuth 2 with PKCE,
windowed pull (<= 24 h), signed push webhooks, ping callbacks, replay, unknown users.

No public Garmin payloads exist in wearables/tests/fixtures; the summaries below use the
field names of Garmin's Health API summary specifications (WEARABLES.md)."""

import base64
import copy
import hashlib
import hmac
import json
import math
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from clinical.models import Observation
from wearables import sync, webhooks
from wearables.models import Connection, DailyMetric, SyncFailure, SyncLog, WebhookEvent
from wearables.tests.stub import Reply

SECRET = "garmin-webhook-secret"
URL = "/wearables/webhooks/garmin/"
GARMIN_USER = "4aacafe82427c251df9c9592d0c06768"

# 2026-03-03 in Honolulu (-10:00): the day starts 10:00 UTC.
DAY_START = 1772532000  # 2026-03-03T10:00:00Z
DAILY = {"userId": GARMIN_USER, "summaryId": "x153a9f3-5a9478d4-6", "calendarDate": "2026-03-03",
         "startTimeInSeconds": DAY_START, "startTimeOffsetInSeconds": -36000, "durationInSeconds": 86400,
         "steps": 9512, "activeKilocalories": 421, "restingHeartRateInBeatsPerMinute": 58,
         "averageHeartRateInBeatsPerMinute": 71}
SLEEP = {"userId": GARMIN_USER, "summaryId": "x153a9f3-5a93e250-6a18", "calendarDate": "2026-03-04",
         "startTimeInSeconds": DAY_START + 13 * 3600, "startTimeOffsetInSeconds": -36000,
         "durationInSeconds": 28800, "deepSleepDurationInSeconds": 5400, "lightSleepDurationInSeconds": 14400,
         "remSleepInSeconds": 6300, "awakeDurationInSeconds": 2700}
HRV = {"userId": GARMIN_USER, "summaryId": "x153a9f3-5a93e250-hrv", "calendarDate": "2026-03-04",
       "startTimeInSeconds": DAY_START + 13 * 3600, "startTimeOffsetInSeconds": -36000,
       "durationInSeconds": 28800, "lastNightAvg": 44, "lastNight5MinHigh": 72}


def linked(patient, user_id=GARMIN_USER, access="at-1", refresh="rt-1"):
    c = Connection(project=patient.project, patient=patient, provider="garmin", external_user_id=user_id)
    c.access_token, c.refresh_token = access, refresh
    c.save()
    return c


def sign(body: bytes, secret=SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push(client, payload, *, signature=None, capture):
    body = json.dumps(payload).encode()
    headers = {} if signature is False else {"HTTP_X_MAHALO_SIGNATURE": signature or sign(body)}
    with capture(execute=True):
        return client.post(URL, data=body, content_type="application/json", **headers)


@pytest.fixture
def garmin(provider_stub, settings):
    settings.WEARABLES_GARMIN_WEBHOOK_SECRET = SECRET
    return provider_stub("garmin")


@pytest.mark.django_db
def test_pkce_connect_sends_s256_challenge_and_verifier_and_keeps_the_garmin_user(
        world, login, garmin, django_capture_on_commit_callbacks):
    garmin.on("POST", "/oauth/token", {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 86400})
    garmin.on("GET", "/wellness-api/rest/user/id", {"userId": GARMIN_USER})
    for path in ("dailies", "sleeps", "hrv"):
        garmin.on("GET", f"/wellness-api/rest/{path}", [])
    client = login(world.patient_user)
    start = client.get(reverse("wearables_connect", args=["garmin"]))
    assert start.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43

    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("wearables_callback", args=["garmin"]), {"code": "c0de", "state": params["state"]})
    form = garmin.seen("POST", "/oauth/token")[0].form
    assert form["grant_type"] == "authorization_code" and form["code"] == "c0de"
    # RFC 7636: BASE64URL(SHA256(verifier)) == the challenge sent to the authorize page.
    digest = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
    assert digest.decode() == params["code_challenge"]
    conn = Connection.objects.get(patient=world.me, provider="garmin")
    assert conn.external_user_id == GARMIN_USER and conn.access_token == "at-1"
    assert garmin.seen("GET", "/wellness-api/rest/user/id")[0].headers["authorization"] == "Bearer at-1"


@pytest.mark.django_db
def test_pull_walks_the_range_in_windows_of_at_most_24h(world, garmin, settings):
    settings.WEARABLES_SYNC_OVERLAP_HOURS = 0
    garmin.on("GET", "/wellness-api/rest/dailies", [DAILY], [])
    garmin.on("GET", "/wellness-api/rest/sleeps", [SLEEP], [])
    garmin.on("GET", "/wellness-api/rest/hrv", [HRV], [])
    conn = linked(world.me)
    Connection.objects.filter(pk=conn.pk).update(last_success_at=timezone.now() - timedelta(days=3))
    conn.refresh_from_db()
    log = SyncLog.objects.create(project=conn.project, patient=conn.patient, connection=conn, source="garmin",
                                 trigger="command")
    log = sync.run(log.pk)
    assert log.status == "success", log.error

    for path in ("dailies", "sleeps", "hrv"):
        calls = garmin.seen("GET", f"/wellness-api/rest/{path}")
        assert len(calls) >= 3
        windows = [(int(c.query["uploadStartTimeInSeconds"]), int(c.query["uploadEndTimeInSeconds"])) for c in calls]
        assert all(0 < end - start <= 86400 for start, end in windows)
        # Contiguous, covering the whole sync window.
        assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
        assert windows[0][0] == int(log.window_start.timestamp())
        assert windows[-1][1] == math.ceil(log.window_end.timestamp())
        assert all(c.headers["authorization"] == "Bearer at-1" for c in calls)

    day = DailyMetric.objects.get(patient=world.me, source="garmin", date=date(2026, 3, 3))
    assert (day.steps, day.resting_hr, day.active_energy_kcal) == (9512, 58, 421)
    night = DailyMetric.objects.get(patient=world.me, source="garmin", date=date(2026, 3, 4))
    # Garmin's own day for the night; asleep = deep + light + rem.
    assert night.sleep_hours == pytest.approx((5400 + 14400 + 6300) / 3600, abs=1e-3)
    assert night.sleep_deep_hours == pytest.approx(1.5) and night.sleep_awake_hours == pytest.approx(0.75)
    assert night.hrv_ms == 44 and night.hrv_method == "rmssd"
    session = Observation.objects.get(patient=world.me, metric="sleep_session")
    assert session.effective_at.timestamp() == SLEEP["startTimeInSeconds"]
    assert (session.end_at - session.effective_at).total_seconds() == 28800 and session.unit == "h"
    hrv = Observation.objects.get(patient=world.me, metric="hrv")
    assert (hrv.value, hrv.method, hrv.unit) == (44, "rmssd", "ms")


@pytest.mark.django_db
def test_signed_push_is_stored_first_and_its_data_lands(world, client, garmin,
                                                          django_capture_on_commit_callbacks):
    linked(world.me)
    response = push(client, {"dailies": [DAILY], "sleeps": [SLEEP], "hrv": [HRV]},
                     capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "done" and event.summary_type == "dailies,hrv,sleeps" and event.error == ""
    assert json.loads(event.body)["dailies"][0]["summaryId"] == DAILY["summaryId"]
    assert DailyMetric.objects.get(patient=world.me, date=date(2026, 3, 3)).steps == 9512
    assert DailyMetric.objects.get(patient=world.me, date=date(2026, 3, 4)).hrv_ms == 44
    log = SyncLog.objects.get(patient=world.me, trigger="webhook")
    assert log.status == "success" and log.records > 0
    assert not garmin.requests  # a push carries its data: nothing fetched


@pytest.mark.django_db
@pytest.mark.parametrize("signature", [False, "sha256=" + "0" * 64, "md5=abc", "sha256=zz", "sha256=é"])
def test_missing_or_bad_signature_is_refused_and_nothing_is_stored(world, client, garmin, signature,
                                                                   django_capture_on_commit_callbacks):
    linked(world.me)
    response = push(client, {"dailies": [DAILY]}, signature=signature, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists() and not DailyMetric.objects.exists()


@pytest.mark.django_db
def test_signature_with_another_secret_or_no_secret_configured_is_refused(world, client, garmin, settings,
                                                                         django_capture_on_commit_callbacks):
    linked(world.me)
    body = json.dumps({"dailies": [DAILY]}).encode()
    r = push(client, {"dailies": [DAILY]}, signature=sign(body, "other"), capture=django_capture_on_commit_callbacks)
    assert r.status_code == 401
    settings.WEARABLES_GARMIN_WEBHOOK_SECRET = ""
    # Even a body "signed" with the empty key is refused when no secret is set.
    r = push(client, {"dailies": [DAILY]}, signature=sign(body, ""), capture=django_capture_on_commit_callbacks)
    assert r.status_code == 403
    assert not WebhookEvent.objects.exists() and not DailyMetric.objects.exists()
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_unknown_user_is_skipped_and_noted_never_a_500(world, client, garmin, django_capture_on_commit_callbacks):
    other = linked(world.cardiac_patients[1], user_id="someone-else")
    Connection.objects.filter(pk=other.pk).update(status="disconnected")
    linked(world.me)
    stranger = dict(DAILY, userId="not-linked-anywhere")
    orphan = dict(DAILY, userId="someone-else")  # only a disconnected connection has it
    response = push(client, {"dailies": [stranger, orphan]}, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "done"
    assert "not-linked-anywhere" in event.error and "someone-else" in event.error
    assert not DailyMetric.objects.exists() and not Observation.objects.exists()


@pytest.mark.django_db
def test_replayed_push_adds_no_rows(world, client, garmin, django_capture_on_commit_callbacks):
    linked(world.me)
    payload = {"dailies": [DAILY], "sleeps": [SLEEP], "hrv": [HRV]}
    push(client, payload, capture=django_capture_on_commit_callbacks)
    counts = (Observation.objects.count(), DailyMetric.objects.count())
    assert counts[0] >= 4
    assert push(client, payload, capture=django_capture_on_commit_callbacks).status_code == 200
    assert (Observation.objects.count(), DailyMetric.objects.count()) == counts
    # A later push of the same day updates it in place.
    push(client, {"dailies": [dict(DAILY, steps=12000)]}, capture=django_capture_on_commit_callbacks)
    assert DailyMetric.objects.get(date=date(2026, 3, 3)).steps == 12000
    assert (Observation.objects.count(), DailyMetric.objects.count()) == counts


@pytest.mark.django_db
def test_malformed_item_is_skipped_while_the_rest_lands(world, client, garmin, django_capture_on_commit_callbacks):
    linked(world.me)
    bad = dict(SLEEP, calendarDate="yesterday", summaryId="bad")
    push(client, {"sleeps": [bad], "dailies": [DAILY]}, capture=django_capture_on_commit_callbacks)
    event = WebhookEvent.objects.get()
    assert event.status == "done" and "calendarDate" in event.error
    assert DailyMetric.objects.get(date=date(2026, 3, 3)).steps == 9512
    log = SyncLog.objects.get(trigger="webhook")
    assert log.status == "partial" and log.skipped == 1
    assert "yesterday" in SyncFailure.objects.get(sync_log=log).raw


@pytest.mark.django_db
def test_ping_fetches_the_callback_with_the_users_token(world, client, garmin, django_capture_on_commit_callbacks):
    linked(world.me)
    garmin.on("GET", "/wellness-api/rest/dailies", [DAILY])
    garmin.on("GET", "/wellness-api/rest/hrv", Reply(401, {"error": "expired"}), [HRV])
    garmin.on("POST", "/oauth/token", {"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 86400})
    ping = {"dailies": [{"userId": GARMIN_USER, "uploadStartTimeInSeconds": DAY_START,
                         "uploadEndTimeInSeconds": DAY_START + 86400,
                         "callbackURL": f"{garmin.url}/wellness-api/rest/dailies?uploadStartTimeInSeconds="
                                        f"{DAY_START}&uploadEndTimeInSeconds={DAY_START + 86400}"}],
            "hrv": [{"userId": GARMIN_USER, "callbackURL": f"{garmin.url}/wellness-api/rest/hrv?token=abc"}]}
    assert push(client, ping, capture=django_capture_on_commit_callbacks).status_code == 200
    call = garmin.seen("GET", "/wellness-api/rest/dailies")[0]
    assert call.headers["authorization"] == "Bearer at-1"
    assert call.query["uploadStartTimeInSeconds"] == str(DAY_START)
    # 401 on the callback: one refresh, the rotated token is stored, the retry succeeds.
    assert [c.headers["authorization"] for c in garmin.seen("GET", "/wellness-api/rest/hrv")] == [
        "Bearer at-1", "Bearer at-2"]
    assert Connection.objects.get(patient=world.me).refresh_token == "rt-2"
    assert WebhookEvent.objects.get().status == "done"
    day = DailyMetric.objects.get(patient=world.me, date=date(2026, 3, 3))
    assert day.steps == 9512
    assert DailyMetric.objects.get(patient=world.me, date=date(2026, 3, 4)).hrv_ms == 44


@pytest.mark.django_db
def test_ping_to_another_host_never_gets_the_token(world, client, garmin, django_capture_on_commit_callbacks):
    linked(world.me)
    ping = {"dailies": [{"userId": GARMIN_USER, "callbackURL": "http://127.0.0.2:9/steal?x=1"}]}
    assert push(client, ping, capture=django_capture_on_commit_callbacks).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "done" and "refused" in event.error
    assert not DailyMetric.objects.exists()


@pytest.mark.django_db
def test_ping_while_garmin_is_down_stays_pending_and_the_sweeper_finishes_it(
        world, client, garmin, settings, django_capture_on_commit_callbacks):
    settings.WEARABLES_MAX_ATTEMPTS = 2
    linked(world.me)
    garmin.on("GET", "/wellness-api/rest/dailies", Reply(503, "down"))
    ping = {"dailies": [{"userId": GARMIN_USER, "callbackURL": f"{garmin.url}/wellness-api/rest/dailies?a=1"}]}
    assert push(client, ping, capture=django_capture_on_commit_callbacks).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "pending" and event.attempts == 1 and "503" in event.error
    assert not DailyMetric.objects.exists()

    garmin.on("GET", "/wellness-api/rest/dailies", [DAILY])
    assert webhooks.sweep_pending() == 0  # too recent to sweep
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(minutes=10))
    assert webhooks.sweep_pending() == 1  # eager Celery: processed now
    event.refresh_from_db()
    assert event.status == "done" and event.attempts == 2
    assert DailyMetric.objects.get(patient=world.me).steps == 9512


@pytest.mark.django_db
def test_a_broker_outage_loses_nothing(world, client, garmin, monkeypatch, django_capture_on_commit_callbacks):
    from wearables import tasks

    linked(world.me)

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.process_webhook_event, "delay", broker_down)
    assert push(client, {"dailies": [DAILY]}, capture=django_capture_on_commit_callbacks).status_code == 200
    assert WebhookEvent.objects.get().status == "pending"
    monkeypatch.undo()
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    webhooks.sweep_pending()
    assert WebhookEvent.objects.get().status == "done" and DailyMetric.objects.get().steps == 9512


@pytest.mark.django_db
def test_deregistration_marks_the_connection_for_reconsent(world, client, garmin,
                                                           django_capture_on_commit_callbacks):
    conn = linked(world.me)
    push(client, {"deregistrations": [{"userId": GARMIN_USER}]}, capture=django_capture_on_commit_callbacks)
    conn.refresh_from_db()
    assert conn.status == "needs_reconsent"


@pytest.mark.django_db
def test_non_json_signed_body_is_kept_for_diagnosis_and_answered_400(world, client, garmin):
    body = b"not json at all"
    r = client.post(URL, data=body, content_type="application/json", HTTP_X_MAHALO_SIGNATURE=sign(body))
    assert r.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == "failed" and event.body == "not json at all"


def test_normalize_keeps_garmins_day_and_refuses_nonsense():
    from wearables.providers.base import Malformed
    from wearables.providers.garmin import Garmin

    g = Garmin()
    out = g.normalize("/wellness-api/rest/dailies", copy.deepcopy(DAILY), None)
    assert out.dailies[0].date == date(2026, 3, 3)
    for bad in ({**DAILY, "steps": -5}, {**DAILY, "steps": float("nan")}, {**DAILY, "startTimeInSeconds": None},
                {**HRV, "lastNightAvg": True}, "a string"):
        kind = "hrv" if isinstance(bad, dict) and "lastNightAvg" in bad else "dailies"
        with pytest.raises(Malformed):
            g.normalize(kind, bad, None)
