"""Issue 20 faults 2 and 5: a killed worker never sends an email twice, and a send holds
no database lock (only the notification row is locked, and only to claim and record).

A local aiosmtpd sink receives the email; the worker is "killed" right after the SMTP
server accepted it (a BaseException, as SIGKILL would stop the process before anything
else ran); the sweeper re-queues the row after the lease and the retry must not send again."""

import datetime as dt
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import delivery, tasks
from messaging.models import DeliveryLog, Notification
from messaging.notify import notify

pytestmark = [pytest.mark.django_db, pytest.mark.fault]


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_sink(settings):
    from mahalo.tests.faults import free_port

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs in the worker (not an Exception: no handler catches it)."""


def email_row(world, django_capture_on_commit_callbacks, key="fault:1"):
    with django_capture_on_commit_callbacks(execute=False):
        rows = notify(
            event_type="alert_created",
            recipients=[world.clinician],
            patient=world.me,
            context={"alert": "BP"},
            key=key,
            channels=["email"],
        )
    return rows[0]


def test_a_worker_killed_after_the_smtp_server_accepted_never_sends_twice(
    world, smtp_sink, monkeypatch, django_capture_on_commit_callbacks
):
    row = email_row(world, django_capture_on_commit_callbacks)
    real_send = EmailMultiAlternatives.send

    def send_then_die(self, *args, **kwargs):
        real_send(self, *args, **kwargs)  # the sink has it
        raise WorkerKilled

    monkeypatch.setattr(EmailMultiAlternatives, "send", send_then_die)
    with pytest.raises(WorkerKilled):
        tasks.deliver_notification(str(row.pk))
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    assert len(smtp_sink.messages) == 1
    # The attempt was committed before the SMTP call, with its Message-ID.
    attempt = DeliveryLog.objects.get(notification=row, status="sending")
    assert attempt.provider_ref == delivery.message_id(row)
    assert attempt.provider_ref.encode() in smtp_sink.messages[0]

    # The sweeper, once the row's lease has passed (and as often as it likes).
    later = timezone.now() + delivery.SEND_LEASE + dt.timedelta(minutes=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert str(row.pk) in tasks.sweep(later)
    tasks.sweep(later)
    assert len(smtp_sink.messages) == 1, "the email was sent again"
    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED and "at most once" in row.last_error
    assert DeliveryLog.objects.get(notification=row, attempt=attempt.attempt).status == "unknown"


def test_a_definite_failure_is_retried_with_the_same_message_id(
    world, smtp_sink, monkeypatch, settings, django_capture_on_commit_callbacks
):
    row = email_row(world, django_capture_on_commit_callbacks, key="fault:2")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # refused: a definite failure, safe to retry
    tasks.deliver_notification(str(row.pk))
    row.refresh_from_db()
    assert row.status == Notification.Status.PENDING and row.attempts == 1
    settings.EMAIL_PORT = port
    later = timezone.now() + dt.timedelta(minutes=2)
    delivery.deliver(row.pk, now=later)
    row.refresh_from_db()
    assert row.status == Notification.Status.DELIVERED and len(smtp_sink.messages) == 1
    assert [log.status for log in row.logs.order_by("attempt")] == ["failed", "delivered"]
    assert delivery.message_id(row).encode() in smtp_sink.messages[0]


def test_push_is_sent_again_after_an_interrupted_attempt(world, monkeypatch, django_capture_on_commit_callbacks):
    # The service worker shows one notification per tag (the row's id): a repeat replaces the first.
    row = email_row(world, django_capture_on_commit_callbacks, key="fault:3")
    Notification.objects.filter(pk=row.pk).update(channel="push")
    sent = []
    monkeypatch.setitem(delivery.SENDERS, "push", lambda n: sent.append(n.pk) or (_ for _ in ()).throw(WorkerKilled))
    with pytest.raises(WorkerKilled):
        delivery.deliver(row.pk)
    monkeypatch.setitem(delivery.SENDERS, "push", lambda n: sent.append(n.pk))
    delivery.deliver(row.pk, now=timezone.now() + delivery.SEND_LEASE + dt.timedelta(seconds=1))
    row.refresh_from_db()
    assert row.status == Notification.Status.DELIVERED and len(sent) == 2


def test_the_send_runs_outside_any_transaction_and_locks_only_the_notification(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    row = email_row(world, django_capture_on_commit_callbacks, key="fault:4")
    depth = len(connection.atomic_blocks)
    seen = {}

    def sender(n):
        seen["depth"] = len(connection.atomic_blocks)

    monkeypatch.setitem(delivery.SENDERS, "email", sender)
    with CaptureQueriesContext(connection) as queries:
        delivery.deliver(row.pk)
    assert seen["depth"] == depth, "the send ran inside a transaction (holding its locks)"
    row.refresh_from_db()
    assert row.status == Notification.Status.DELIVERED
    if connection.vendor == "postgresql":
        locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
        assert locking and all('FOR UPDATE OF "messaging_notification"' in sql for sql in locking)
        assert not any('"mahalo_user"' in sql.split("FOR UPDATE")[1] for sql in locking)


def test_a_hung_smtp_server_times_out(world, settings, django_capture_on_commit_callbacks):
    # Accepts TCP (the kernel's backlog) and never says a word.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    try:
        assert settings.EMAIL_TIMEOUT and settings.EMAIL_TIMEOUT <= 30
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", listener.getsockname()[1]
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 1
        row = email_row(world, django_capture_on_commit_callbacks, key="fault:5")
        started = time.monotonic()
        delivery.deliver(row.pk)
        assert time.monotonic() - started < 5
        row.refresh_from_db()
        assert row.status == Notification.Status.PENDING and "timed out" in row.last_error.lower()
    finally:
        listener.close()
