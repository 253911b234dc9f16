"""Issue 20 fault 1: Redis down or hung must not become errors.

A private redis-server (mahalo/tests/faults.py) is the cache and broker; the test kills
it (down) or SIGSTOPs it (hung: accepts, never answers). Pages answer 200, message sends
and alert acknowledgements are kept, sign-in works, /healthz answers within 2 s with
`degraded` naming the cache, and never `ok` while a part is down."""

import time

import pytest
from django.urls import reverse

from clinical.models import Alert
from clinical.tests.factories import AlertFactory
from mahalo.models import StaffMember
from mahalo.tests import faults
from messaging import threads
from messaging.models import Message

pytestmark = [pytest.mark.django_db, pytest.mark.fault]


@pytest.fixture
def private_redis(settings):
    yield from faults.use_private_redis(settings)


def timed_get(client, url):
    started = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - started


@pytest.fixture
def convo(world):
    staff = StaffMember.objects.get(user=world.clinician)
    return threads.thread_default_for(patient=world.me, staff=staff, actor=world.clinician)


def staff_pages(world, convo):
    return [
        "/",
        reverse("message_inbox"),
        reverse("message_thread", args=[convo.pk]),
        "/alerts/",
        f"/patients/{world.me.pk}/",
        "/patients/",
    ]


def test_healthz_reports_ok_with_the_private_redis_up(client, private_redis):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["cache"] == "ok" and body["broker"] == "ok"
    assert body["failing"] == []


@pytest.mark.parametrize("fault", ["down", "hung"])
def test_staff_pages_writes_and_healthz_survive_redis(fault, client, login, world, convo, private_redis):
    user = login(world.clinician)
    # Warm: the badge counts are cached while Redis is up.
    for url in staff_pages(world, convo):
        assert user.get(url).status_code == 200, url
    alert = AlertFactory(patient=world.me, project=world.project, status=Alert.Status.ACTIVE)

    private_redis.kill() if fault == "down" else private_redis.hang()
    try:
        health, took = timed_get(client, "/healthz")
        assert took < 2.0, f"/healthz took {took:.2f} s"
        body = health.json()
        assert health.status_code == 200  # pages still work: the database answers
        assert body["status"] == "degraded" and body["cache"].startswith("error")
        assert "cache" in body["failing"]

        for url in staff_pages(world, convo):
            response, took = timed_get(user, url)
            assert response.status_code == 200, url
            assert took < 5.0, f"{url} took {took:.2f} s"
        # A message send is kept (the badge cache is forgotten best-effort, after the write).
        before = Message.objects.count()
        sent = user.post(reverse("message_send", args=[convo.pk]), {"body": f"Redis is {fault}"})
        assert sent.status_code in (200, 302)
        assert Message.objects.count() == before + 1
        # Acknowledging an alert is kept too.
        ack = user.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "seen"})
        assert ack.status_code in (200, 302)
        alert.refresh_from_db()
        assert alert.status == Alert.Status.ACKNOWLEDGED
        # Sign-in (its rate limits live in the cache).
        client.logout()
        signed_in = client.post("/accounts/login/", {"login": world.patient_user.email, "password": world.password})
        assert signed_in.status_code == 302
        assert client.get("/portal/").status_code == 200
    finally:
        if fault == "hung":
            private_redis.resume()


# --- Fault 4: broker down -----------------------------------------------------------


def test_no_result_backend_and_no_publish_retries(settings):
    from mahalo.celery import app

    # The app never reads a task's result: a Redis result backend retried 20 x 1 s per publish.
    assert not settings.CELERY_RESULT_BACKEND and app.conf.task_ignore_result
    assert app.conf.task_publish_retry is False


@pytest.mark.parametrize("fault", ["down", "hung"])
def test_a_dead_broker_never_turns_a_committed_write_into_an_error(
    fault, login, world, convo, private_redis, django_capture_on_commit_callbacks
):
    from mahalo.celery import app
    from messaging.models import Notification

    app.conf.task_always_eager = False  # a real publish to the private broker
    private_redis.kill() if fault == "down" else private_redis.hang()
    try:
        patient = login(world.patient_user)
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            sent = patient.post(reverse("message_send", args=[convo.pk]), {"body": "Broker is down"})
        took = time.monotonic() - started
        assert sent.status_code in (200, 302)
        assert took < 6.0, f"the send took {took:.2f} s"
        message = Message.objects.get(body="Broker is down")
        # The outbox rows are kept, pending, for the sweeper.
        rows = Notification.objects.filter(idempotency_key__startswith=f"message:{message.pk}")
        assert rows.exists()
        assert rows.exclude(channel="in_app").filter(status=Notification.Status.DELIVERED).count() == 0
    finally:
        if fault == "hung":
            private_redis.resume()
