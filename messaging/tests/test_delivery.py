"""The outbox: broker outage, SMTP retries against a local SMTP server, web push, SMS interface."""


import base64
import datetime as dt
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from messaging import delivery, tasks
from messaging.models import DeliveryLog, Notification, PushSubscription
from messaging.notify import notify

pytestmark = pytest.mark.django_db


def _event(world, **kwargs):
    args = {"event_type": "new_message", "recipients": [world.patient_user], "context": {"sender": "Dr Lee"},
            "key": "message:1", "patient": world.me, "channels": ["email"]}
    args.update(kwargs)
    return notify(**args)


@pytest.fixture
def broker_down():
    """Celery as in production (not eager) with a broker nobody listens on."""
    from mahalo.celery import app

    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url", "broker_connection_timeout",
                                      "task_publish_retry")}
    app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:1/0", broker_connection_timeout=1,
                    task_publish_retry=False)
    _drop_connections(app)
    yield app
    app.conf.update(saved)
    _drop_connections(app)


def _drop_connections(app):
    # Pools made before (even eager .delay() makes them) still point at the old broker.
    app._pool = None
    app.amqp._producer_pool = None


def test_broker_outage_keeps_rows_and_sweeper_delivers_once_after_restart(
        world, broker_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rows = _event(world)  # no exception for the caller
    email = Notification.objects.get(pk=rows[0].pk)
    assert email.status == "pending" and email.attempts == 0
    assert mail.outbox == []
    # Still down: the sweeper keeps the row.
    later = timezone.now() + dt.timedelta(minutes=2)
    assert tasks.sweep(now=later) == []
    assert Notification.objects.get(pk=email.pk).status == "pending"

    # "Restart" the broker (eager here: the worker runs in-process).
    broker_down.conf.task_always_eager = True
    assert tasks.sweep(now=later) == [str(email.pk)]
    email.refresh_from_db()
    assert email.status == "delivered" and email.attempts == 1
    assert len(mail.outbox) == 1
    assert tasks.sweep(now=later + dt.timedelta(minutes=5)) == []
    delivery.deliver(email.pk)  # a duplicate task from the queue does nothing
    assert len(mail.outbox) == 1
    assert DeliveryLog.objects.filter(notification=email, status="delivered").count() == 1


def test_sweeper_leaves_fresh_rows_to_their_own_queueing(world, broker_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _event(world)
    broker_down.conf.task_always_eager = True
    assert tasks.sweep() == []  # created just now: its on_commit queueing is its job


# --- SMTP ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FlakySmtp:
    """aiosmtpd handler: refuses the first `failures` messages with a 451, then accepts."""

    def __init__(self, failures=1):
        self.failures, self.received = failures, []

    async def handle_DATA(self, server, session, envelope):
        if self.failures:
            self.failures -= 1
            return "451 4.3.0 Try again later"
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    handler = FlakySmtp()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield handler
    controller.stop()


def test_smtp_failure_is_logged_and_retried_with_backoff(world, smtp_server, django_capture_on_commit_callbacks,
                                                         monkeypatch):
    with django_capture_on_commit_callbacks(execute=True):
        rows = _event(world, context={"sender": "<b>Dr Lee</b>"})
    email = Notification.objects.get(pk=rows[0].pk)
    assert email.status == "pending" and email.attempts == 1
    assert "451" in email.last_error
    assert email.next_attempt_at > timezone.now() + dt.timedelta(seconds=50)  # 1 minute backoff
    [failed] = DeliveryLog.objects.filter(notification=email)
    assert failed.status == "failed" and "451" in failed.reason
    assert smtp_server.received == []

    assert tasks.sweep(now=timezone.now() + dt.timedelta(seconds=30)) == []  # backoff not over
    later = timezone.now() + dt.timedelta(minutes=2)
    monkeypatch.setattr(timezone, "now", lambda: later)  # the beat sweeper, two minutes on
    assert tasks.sweep() == [str(email.pk)]
    email.refresh_from_db()
    assert email.status == "delivered" and email.attempts == 2
    assert [(x.attempt, x.status) for x in DeliveryLog.objects.filter(notification=email)] == [
        (1, "failed"), (2, "delivered")]
    [envelope] = smtp_server.received
    assert envelope.rcpt_tos == ["kai@p.test"]
    content = envelope.content.decode()
    assert "multipart/alternative" in content and "text/html" in content and "text/plain" in content


def test_gives_up_after_max_attempts(world, settings, django_capture_on_commit_callbacks, monkeypatch):
    def refuse(n):
        raise delivery.DeliveryError("SMTP down")

    monkeypatch.setitem(delivery.SENDERS, "email", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        rows = _event(world)
    now = timezone.now()
    for _ in range(delivery.MAX_ATTEMPTS):
        now += dt.timedelta(hours=5)
        delivery.deliver(rows[0].pk, now=now)
    n = Notification.objects.get(pk=rows[0].pk)
    assert n.status == "failed" and n.attempts == delivery.MAX_ATTEMPTS
    assert DeliveryLog.objects.filter(notification=n, status="failed").count() == delivery.MAX_ATTEMPTS
    assert delivery.deliver(n.pk, now=now + dt.timedelta(days=1)) is None


# --- Web push ---------------------------------------------------------------------------------

class PushService(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.send_response(410 if self.path.endswith("/gone") else 201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def push_service(settings):
    from messaging.management.commands.vapid_keys import generate

    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = generate()
    settings.VAPID_SUBJECT = "mailto:ops@t.test"
    PushService.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), PushService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _browser_keys() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return b64(key), b64(os.urandom(16))


def test_web_push_reaches_the_push_service_and_gone_subscriptions_are_removed(
        world, push_service, django_capture_on_commit_callbacks):
    p256dh, auth = _browser_keys()
    PushSubscription.objects.create(user=world.patient_user, endpoint=f"{push_service}/push/ok", p256dh=p256dh,
                                    auth=auth)
    PushSubscription.objects.create(user=world.patient_user, endpoint=f"{push_service}/push/gone", p256dh=p256dh,
                                    auth=auth)
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(event_type="visit_reminder", recipients=[world.patient_user], context={"when": "Mon 9am"},
                      key="visit:1", patient=world.me)
    push = Notification.objects.get(pk=next(n.pk for n in rows if n.channel == "push"))
    assert push.status == "delivered"
    assert {r["path"] for r in PushService.requests} == {"/push/ok", "/push/gone"}
    req = next(r for r in PushService.requests if r["path"] == "/push/ok")
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert headers["ttl"] == str(24 * 3600)
    assert headers["authorization"].startswith("vapid t=") and headers["content-encoding"] == "aes128gcm"
    assert req["body"] and b"Mon 9am" not in req["body"]  # encrypted
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [f"{push_service}/push/ok"]


def test_push_not_created_without_vapid_or_subscription(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(event_type="visit_reminder", recipients=[world.patient_user], context={}, key="visit:1")
    assert {n.channel for n in rows} == {"in_app", "email"}


# --- SMS: an interface, off by default --------------------------------------------------------

def test_sms_only_with_a_provider_and_a_template(world, settings, django_capture_on_commit_callbacks):
    from messaging.models import NotificationTemplate

    NotificationTemplate.objects.create(project=world.project, event_type="visit_reminder", channel="sms",
                                        body="Visit {{ when }}")
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(event_type="visit_reminder", recipients=[world.patient_user], context={"when": "Mon"},
                      key="visit:1", patient=world.me)
    assert "sms" not in {n.channel for n in rows}

    settings.MAHALO_SMS_PROVIDER = "messaging.delivery.ConsoleSmsProvider"
    delivery.ConsoleSmsProvider.sent = []
    world.me.phone = "+18085550142"
    world.me.save()
    world.patient_user._gate_patient = world.me
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(event_type="visit_reminder", recipients=[world.patient_user], context={"when": "Mon"},
                      key="visit:2", patient=world.me)
    sms = Notification.objects.get(pk=next(n.pk for n in rows if n.channel == "sms"))
    assert sms.status == "delivered"
    assert delivery.ConsoleSmsProvider.sent == [("+18085550142", "Visit reminder: Visit Mon")]


def test_tasks_are_thin_and_idempotent(world, django_capture_on_commit_callbacks):
    from messaging.tasks import deliver_notification, sweep_outbox

    rows = _event(world)  # on_commit never ran: the row waits for the sweeper
    assert Notification.objects.get(pk=rows[0].pk).status == "pending"
    assert deliver_notification.delay(str(rows[0].pk)).get() == "delivered"
    assert deliver_notification.delay(str(rows[0].pk)).get() is None
    assert sweep_outbox.delay().get() == 0
    assert len(mail.outbox) == 1

