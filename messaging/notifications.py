"""The notification centre's reads and writes: a user's own in-app notifications, their
notification settings and web-push subscriptions.

Every row here belongs to one login (`recipient`/`user`), so the rule is "your own rows
only": `notification_for` loads among the caller's own notifications and answers 404 for
anyone else's, missing or malformed alike. The patient gate (`access.load`) does not apply:
a notification is addressed to a person, and some are about no patient at all.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from mahalo import access, audit
from messaging.forms import pref_field
from messaging.models import (
    CHANNELS,
    EVENT_TYPES,
    Notification,
    NotificationPreference,
    NotificationSettings,
    PushSubscription,
)


def notifications_for(user) -> QuerySet[Notification]:
    """The user's notification centre: delivered in-app rows addressed to them."""
    return Notification.objects.filter(recipient=user, channel="in_app", status=Notification.Status.DELIVERED)


def unseen_count(user) -> int:
    return notifications_for(user).filter(seen_at__isnull=True).count()


def list_version(user) -> str:
    """Changes when the notification centre would: a new row, or one read."""
    rows = notifications_for(user)
    newest = rows.order_by("-created_at").values_list("pk", flat=True).first()
    return f"{newest or 0}-{rows.filter(seen_at__isnull=True).count()}"


def notification_for(user, pk) -> Notification:
    """One of the user's own notifications, or Http404 (someone else's, missing or malformed)."""
    try:
        uuid.UUID(str(pk))
    except ValueError:
        raise Http404 from None
    notification = notifications_for(user).filter(pk=pk).first()
    if notification is None:
        raise Http404("No such notification.")
    return notification


def notification_mark_seen(*, notification: Notification) -> None:
    if notification.seen_at is None:
        notification.seen_at = timezone.now()
        notification.save(update_fields=["seen_at"])


def mark_seen_for_path(*, user, path: str) -> int:
    """The user opened `path`: their unseen notifications linking there are read now."""
    if not path or len(path) > 300:
        return 0
    return (Notification.objects.filter(recipient=user, channel="in_app", seen_at__isnull=True, link=path)
            .update(seen_at=timezone.now()))


def notifications_mark_all_seen(*, user) -> int:
    return notifications_for(user).filter(seen_at__isnull=True).update(seen_at=timezone.now())


def settings_initial(user) -> dict:
    """The settings form's initial values: every box on unless opted out, and the quiet hours."""
    outs = set(NotificationPreference.objects.filter(user=user, opted_out=True).values_list("event_type", "channel"))
    initial = {pref_field(e, c): (e, c) not in outs for e, _ in EVENT_TYPES for c, _ in CHANNELS}
    quiet = NotificationSettings.objects.filter(user=user).first()
    if quiet:
        initial.update(quiet_start=quiet.quiet_start, quiet_end=quiet.quiet_end)
    return initial


@transaction.atomic
def settings_save(*, user, choices: dict[tuple[str, str], bool], quiet_start, quiet_end, request=None) -> dict:
    """Store opt-outs (`choices`: (event, channel) -> wanted) and quiet hours; audit what changed.
    Returns the changes (empty when nothing did)."""
    changes = {}
    existing = {(p.event_type, p.channel): p for p in NotificationPreference.objects.filter(user=user)}
    for (event, channel), wanted in choices.items():
        out = not wanted
        row = existing.get((event, channel))
        if (row.opted_out if row else False) != out:
            changes[f"{event}/{channel}"] = "off" if out else "on"
            NotificationPreference.objects.update_or_create(user=user, event_type=event, channel=channel,
                                                            defaults={"opted_out": out})
    quiet, _ = NotificationSettings.objects.get_or_create(user=user)
    if (quiet.quiet_start, quiet.quiet_end) != (quiet_start, quiet_end):
        changes["quiet_hours"] = f"{quiet_start:%H:%M}-{quiet_end:%H:%M}" if quiet_start and quiet_end else "off"
        quiet.quiet_start, quiet.quiet_end = quiet_start, quiet_end
        quiet.save()
    if changes:
        audit.record(request=request, action="update", resource="messaging", patient=access.patient_of(user),
                     metadata={"notification_settings": changes})
    return changes


def push_subscribe(*, user, endpoint: str, p256dh: str, auth: str, user_agent: str = "") -> PushSubscription:
    """Store (or move to this user) the browser's push subscription."""
    subscription, _ = PushSubscription.objects.update_or_create(endpoint=endpoint, defaults={
        "user": user, "p256dh": p256dh, "auth": auth, "user_agent": user_agent[:300]})
    return subscription


def has_push_subscription(user) -> bool:
    return PushSubscription.objects.filter(user=user).exists()
