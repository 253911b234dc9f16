"""Delivering outbox rows: one function per channel, retries with backoff, the sweeper.

`deliver(notification_id)` is idempotent and at most once per row (= per recipient,
event and channel): it locks the row, skips it unless it is pending and due, sends,
and records a DeliveryLog for every attempt (delivered, or failed with the reason).
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import logging

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


class DeliveryError(Exception):
    """A channel couldn't deliver; the message is the reason kept in the log."""


class PermanentDeliveryError(DeliveryError):
    """Retrying can't help (no address, no subscription left)."""


# --- SMS: an interface for later ------------------------------------------------------

class SmsProvider(abc.ABC):
    """Implement send() and name the class in settings.MAHALO_SMS_PROVIDER (dotted path)."""

    @abc.abstractmethod
    def send(self, to: str, body: str) -> None:
        """Send one text; raise DeliveryError on failure."""


class ConsoleSmsProvider(SmsProvider):
    """Development provider: logs the text instead of sending it."""

    sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str) -> None:
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


def send_email(n: Notification) -> None:
    if not n.recipient.email:
        raise PermanentDeliveryError("The recipient has no email address")
    context = {"n": n, "subject": n.subject, "body": n.body, "body_html": mark_safe(n.html_body),  # noqa: S308
               "link": absolute_link(n.link)}
    # html_body was rendered with autoescaping from the template (notify.render_text).
    text = render_to_string("emails/notification_message.txt", context)
    html = render_to_string("emails/notification_message.html", context)
    prefix = getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "")
    message = EmailMultiAlternatives(subject=f"{prefix}{n.subject}", body=text, to=[n.recipient.email],
                                     headers={"X-Mahalo-Notification": str(n.pk)})
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
    payload = json.dumps({"title": n.subject, "body": n.body[:500], "url": n.link or "/notifications/",
                          "id": str(n.pk)})
    sent, errors = 0, []
    for sub in subscriptions:
        try:
            webpush(subscription_info={"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                    data=payload, vapid_private_key=settings.VAPID_PRIVATE_KEY,
                    vapid_claims={"sub": getattr(settings, "VAPID_SUBJECT", "") or "mailto:no-reply@mahalo.health"},
                    ttl=24 * 3600, timeout=10)
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
    provider.send(phone, f"{n.subject}: {n.body}"[:600])


SENDERS = {"email": send_email, "push": send_push, "sms": send_sms}


# --- The service ---------------------------------------------------------------------

def deliver(notification_id, now: dt.datetime | None = None) -> Notification | None:
    """Attempt one pending, due row. Returns the row, or None when there was nothing to do."""
    with transaction.atomic():
        n = (Notification.objects.select_for_update(skip_locked=True).select_related("recipient")
             .filter(pk=notification_id).first())
        now = now or timezone.now()
        if n is None or n.status != Notification.Status.PENDING or n.next_attempt_at > now:
            return None
        if n.channel == "in_app":
            n.status, n.delivered_at = Notification.Status.DELIVERED, now
            n.save(update_fields=["status", "delivered_at"])
            return n
        n.attempts += 1
        try:
            SENDERS[n.channel](n)
        except DeliveryError as exc:
            reason = str(exc) or exc.__class__.__name__
            permanent = isinstance(exc, PermanentDeliveryError) or n.attempts >= MAX_ATTEMPTS
            n.last_error = reason
            if permanent:
                n.status = Notification.Status.FAILED
            else:
                wait = BACKOFF_MINUTES[min(n.attempts, len(BACKOFF_MINUTES)) - 1]
                n.next_attempt_at = now + dt.timedelta(minutes=wait)
            n.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            DeliveryLog.objects.create(notification=n, attempt=n.attempts, status="failed", reason=reason, at=now)
            logger.info("Notification %s attempt %s failed: %s", n.pk, n.attempts, reason)
            return n
        n.status, n.delivered_at, n.last_error = Notification.Status.DELIVERED, now, ""
        n.save(update_fields=["attempts", "status", "delivered_at", "last_error"])
        DeliveryLog.objects.create(notification=n, attempt=n.attempts, status="delivered", at=now)
        return n


def due_for_sweep(now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> list[str]:
    """Pending rows that are due and older than the grace period (messaging.tasks.sweep queues them)."""
    now = now or timezone.now()
    return [str(pk) for pk in Notification.objects.filter(
        status=Notification.Status.PENDING, next_attempt_at__lte=now, created_at__lte=now - SWEEP_GRACE,
    ).exclude(channel="in_app").order_by("next_attempt_at").values_list("pk", flat=True)[:batch]]
