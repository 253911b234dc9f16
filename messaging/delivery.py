"""Delivering outbox rows: one function per channel, retries with backoff, the sweeper.

`deliver(notification_id)` is idempotent. Per provider call it is at most once (issue 20,
faults 2 and 5), in three steps:

1. claim (a short transaction locking the notification row only, `of=("self",)`, never its
   recipient's user row): skip unless pending and due; write the attempt's DeliveryLog as
   `sending` with the provider reference (email Message-ID, SMS idempotency key) and push
   `next_attempt_at` a lease ahead, so no other worker or sweep picks the row meanwhile;
   commit.
2. send, outside any transaction, with timeouts on every outbound call (EMAIL_TIMEOUT,
   web push 10 s, SMS providers their own).
3. record the outcome (a short transaction): delivered, or failed with the reason and a backoff.

A worker killed between 1 and 3 leaves a `sending` attempt. When the lease ends the sweeper
re-queues the row and step 1 finds it: email and (non-idempotent) SMS never send again (the
provider may have accepted it): the attempt is marked `unknown` and the row failed, so a person
gets the message at most once. Push is sent again: the browser shows one notification per
`tag` (the notification id), so a repeat replaces the first. An SMS provider that declares
`idempotent = True` is called again with the same idempotency key. README "Production" states
the guarantee per channel.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import logging
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe

from mahalo import access
from messaging.models import DeliveryLog, Notification, PushSubscription

logger = logging.getLogger(__name__)


def vapid_configured() -> bool:
    return bool(getattr(settings, "VAPID_PRIVATE_KEY", "") and getattr(settings, "VAPID_PUBLIC_KEY", ""))


# Minutes to wait after the 1st, 2nd, ... failed attempt; failed for good after MAX_ATTEMPTS.
BACKOFF_MINUTES = [1, 5, 15, 60, 240]
MAX_ATTEMPTS = 6
# The sweeper leaves fresh rows alone: their on_commit queueing is still in flight.
SWEEP_GRACE = dt.timedelta(minutes=1)
SWEEP_BATCH = 500
# A claimed attempt holds its row this long: longer than any send (every call has a timeout),
# after it the sweeper re-queues the row and deliver() finds the interrupted attempt.
SEND_LEASE = dt.timedelta(minutes=10)


class DeliveryError(Exception):
    """A channel couldn't deliver; the message is the reason kept in the log."""


class PermanentDeliveryError(DeliveryError):
    """Retrying can't help (no address, no subscription left)."""


# --- SMS: an interface for later ------------------------------------------------------


class SmsProvider(abc.ABC):
    """Implement send() and name the class in settings.MAHALO_SMS_PROVIDER (dotted path).

    Set a timeout on the provider's HTTP calls. A provider whose API deduplicates on a
    client key sets `idempotent = True` and takes `idempotency_key`: an interrupted send
    is then retried with the same key; otherwise it is never retried (at most once)."""

    idempotent = False

    @abc.abstractmethod
    def send(self, to: str, body: str, **kwargs) -> None:
        """Send one text; raise DeliveryError on failure. kwargs: idempotency_key (idempotent providers)."""


class ConsoleSmsProvider(SmsProvider):
    """Development provider: logs the text instead of sending it."""

    sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str, **kwargs) -> None:
        logger.info("SMS to %s: %s", to, body)
        self.sent.append((to, body))


def sms_provider() -> SmsProvider | None:
    path = getattr(settings, "MAHALO_SMS_PROVIDER", "")
    return import_string(path)() if path else None


# --- Channels ------------------------------------------------------------------------


def absolute_link(link: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link
    base = getattr(settings, "MAHALO_BASE_URL", "").rstrip("/")
    return f"{base}{link}" if base else ""


def message_id(n: Notification) -> str:
    """One Message-ID per notification, the same on every attempt (receivers drop repeats)."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "mahalo.health"
    return f"<notification-{n.pk}@{domain}>"


def provider_ref(n: Notification) -> str:
    """What the provider call is known by, recorded before the call."""
    return message_id(n) if n.channel == "email" else f"notification-{n.pk}"


def send_email(n: Notification) -> None:
    if not n.recipient.email:
        raise PermanentDeliveryError("The recipient has no email address")
    context = {
        "n": n,
        "subject": n.subject,
        "body": n.body,
        "body_html": mark_safe(n.html_body),  # noqa: S308
        "link": absolute_link(n.link),
    }
    # html_body was rendered with autoescaping from the template (notify.render_text).
    text = render_to_string("emails/notification_message.txt", context)
    html = render_to_string("emails/notification_message.html", context)
    prefix = getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "")
    message = EmailMultiAlternatives(
        subject=f"{prefix}{n.subject}",
        body=text,
        to=[n.recipient.email],
        headers={"X-Mahalo-Notification": str(n.pk), "Message-ID": message_id(n)},
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - SMTP errors, refused connections, timeouts
        raise DeliveryError(f"Email not sent: {exc.__class__.__name__}: {exc}"[:1000]) from exc


def send_push(n: Notification) -> None:
    from pywebpush import WebPushException, webpush  # heavy (cryptography); only push workers need it

    if not vapid_configured():
        raise PermanentDeliveryError("Web push is not configured (no VAPID keys)")
    subscriptions = list(PushSubscription.objects.filter(user=n.recipient))
    if not subscriptions:
        raise PermanentDeliveryError("The recipient has no push subscription")
    payload = json.dumps(
        {"title": n.subject, "body": n.body[:500], "url": n.link or "/notifications/", "id": str(n.pk)}
    )
    sent, errors = 0, []
    for sub in subscriptions:
        try:
            webpush(
                subscription_info={"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                data=payload,
                vapid_private_key=settings.VAPID_PRIVATE_KEY,
                vapid_claims={"sub": getattr(settings, "VAPID_SUBJECT", "") or "mailto:no-reply@mahalo.health"},
                ttl=24 * 3600,
                timeout=10,
            )
            sent += 1
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                sub.delete()  # the browser unsubscribed; the push service says it's gone
                errors.append(f"subscription gone ({status})")
            else:
                errors.append(f"push service answered {status}: {exc}"[:300])
        except Exception as exc:  # noqa: BLE001 - network errors
            errors.append(f"{exc.__class__.__name__}: {exc}"[:300])
    if not sent:
        if not PushSubscription.objects.filter(user=n.recipient).exists():
            raise PermanentDeliveryError("; ".join(errors) or "no subscription")
        raise DeliveryError("; ".join(errors))


def send_sms(n: Notification) -> None:
    provider = sms_provider()
    if provider is None:
        raise PermanentDeliveryError("No SMS provider is configured")
    patient = access.patient_of(n.recipient)
    phone = str(patient.phone) if patient is not None and patient.phone else ""
    if not phone:
        raise PermanentDeliveryError("The recipient has no phone number")
    text = f"{n.subject}: {n.body}"[:600]
    if provider.idempotent:
        provider.send(phone, text, idempotency_key=provider_ref(n))
    else:
        provider.send(phone, text)


def retry_is_safe(channel: str) -> bool:
    """May an attempt interrupted mid-send (outcome unknown) be sent again?"""
    if channel == "push":
        return True  # the service worker shows one notification per tag (the notification id)
    if channel == "sms":
        provider = sms_provider()
        return bool(provider is not None and provider.idempotent)
    return False  # email: the SMTP server may have accepted it


SENDERS = {"email": send_email, "push": send_push, "sms": send_sms}


# --- The service ---------------------------------------------------------------------


def deliver(notification_id, now: dt.datetime | None = None) -> Notification | None:
    """Attempt one pending, due row. Returns the row, or None when there was nothing to do.
    Call it outside a transaction: the send must not hold database locks (fault 5)."""
    now = now or timezone.now()
    claimed = _claim(notification_id, now)
    if claimed is None or claimed[1] is None:
        return claimed[0] if claimed else None
    n, attempt = claimed
    try:
        SENDERS[n.channel](n)
    except DeliveryError as exc:
        return _record(n, attempt, now, error=exc)
    return _record(n, attempt, now)


def _claim(notification_id, now) -> tuple[Notification, DeliveryLog | None] | None:
    """Step 1: lock the row (only it), decide, write the attempt as `sending`, commit."""
    with transaction.atomic():
        n = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if n is None or n.status != Notification.Status.PENDING or n.next_attempt_at > now:
            return None
        if n.channel == "in_app":
            n.status, n.delivered_at = Notification.Status.DELIVERED, now
            n.save(update_fields=["status", "delivered_at"])
            return n, None
        interrupted = n.logs.filter(status="sending").order_by("-attempt").first()
        if interrupted is not None and not retry_is_safe(n.channel):
            reason = (
                "A worker stopped while sending; the provider may have accepted it, so it is not "
                "sent again (at most once)."
            )
            interrupted.status, interrupted.reason = "unknown", reason
            interrupted.save(update_fields=["status", "reason"])
            n.status, n.last_error = Notification.Status.FAILED, reason
            n.save(update_fields=["status", "last_error"])
            logger.warning("Notification %s: attempt %s was interrupted; not re-sent", n.pk, interrupted.attempt)
            return n, None
        if interrupted is not None:
            interrupted.status, interrupted.reason = "unknown", "A worker stopped while sending; sent again."
            interrupted.save(update_fields=["status", "reason"])
        n.attempts += 1
        n.due_at = n.next_attempt_at  # restored once delivered (the lease is not a schedule)
        n.next_attempt_at = now + SEND_LEASE
        n.save(update_fields=["attempts", "next_attempt_at"])
        attempt = DeliveryLog.objects.create(
            notification=n, attempt=n.attempts, status="sending", provider_ref=provider_ref(n), at=now
        )
    return n, attempt


def _record(n: Notification, attempt: DeliveryLog, now, error: DeliveryError | None = None) -> Notification:
    """Step 3: the outcome of the send, in a short transaction of its own."""
    with transaction.atomic():
        locked = Notification.objects.select_for_update(of=("self",)).get(pk=n.pk)
        if error is None:
            locked.status, locked.delivered_at, locked.last_error = Notification.Status.DELIVERED, now, ""
            locked.next_attempt_at = getattr(n, "due_at", locked.next_attempt_at)
            locked.save(update_fields=["status", "delivered_at", "last_error", "next_attempt_at"])
            attempt.status = "delivered"
            attempt.save(update_fields=["status"])
        else:
            reason = str(error) or error.__class__.__name__
            permanent = isinstance(error, PermanentDeliveryError) or locked.attempts >= MAX_ATTEMPTS
            locked.last_error = reason
            if permanent:
                locked.status = Notification.Status.FAILED
            else:
                wait = BACKOFF_MINUTES[min(locked.attempts, len(BACKOFF_MINUTES)) - 1]
                locked.next_attempt_at = now + dt.timedelta(minutes=wait)
            locked.save(update_fields=["last_error", "status", "next_attempt_at"])
            attempt.status, attempt.reason = "failed", reason
            attempt.save(update_fields=["status", "reason"])
            logger.info("Notification %s attempt %s failed: %s", locked.pk, locked.attempts, reason)
    locked.recipient = n.recipient
    return locked


def due_for_sweep(now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> list[str]:
    """Pending rows that are due and older than the grace period (messaging.tasks.sweep queues them)."""
    now = now or timezone.now()
    return [
        str(pk)
        for pk in Notification.objects.filter(
            status=Notification.Status.PENDING,
            next_attempt_at__lte=now,
            created_at__lte=now - SWEEP_GRACE,
        )
        .exclude(channel="in_app")
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    ]
