"""Messaging test data. Threads and messages go through `messaging.threads` (the
only writers: participants, receipts, audit); notifications through
`messaging.notify`. Settings-like rows (templates, preferences, push
subscriptions) are plain factories."""

import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from mahalo.tests.factories import UserFactory, staff
from messaging import threads
from messaging.models import (
    Attachment,
    Message,
    NotificationPreference,
    NotificationSettings,
    NotificationTemplate,
    PushSubscription,
    Thread,
)
from messaging.notify import notify


def default_thread(patient, staff_user, *, body: str | None = None) -> Thread:
    """The patient's conversation with `staff_user`; with `body`, the clinician has written it."""
    thread = threads.thread_default_for(patient=patient, staff=staff(staff_user), actor=staff_user)
    if body is not None:
        threads.message_send(thread=thread, sender=staff_user, body=body)
    return thread


def png_bytes() -> bytes:
    """A real 4x4 PNG (the upload validator reads magic bytes, not names)."""
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def attach(thread: Thread, sender, name: str = "scan.png") -> Attachment:
    """A message from `sender` carrying one PNG; returns its attachment."""
    message: Message = threads.message_send(
        thread=thread, sender=sender, body="file",
        files=[SimpleUploadedFile(name, png_bytes(), content_type="image/png")])
    return Attachment.objects.get(message=message)


def in_app_notification(user, key: str, event_type: str = "new_message"):
    """One in-app notification for `user` (event `key`), through the outbox writer."""
    [row] = notify(event_type=event_type, recipients=[user], context={"sender": "X"}, key=key,
                   channels=["in_app"])
    return row


class NotificationTemplateFactory(factory.django.DjangoModelFactory):
    """A project-wide template unless `program` is given."""

    class Meta:
        model = NotificationTemplate

    project = factory.SubFactory("mahalo.tests.factories.ProjectFactory")
    event_type = "new_message"
    channel = "email"
    subject = "Message from {{ sender }}"
    body = "{{ sender }} wrote to you."


class NotificationPreferenceFactory(factory.django.DjangoModelFactory):
    """An opt-out (the absence of a row means opted in)."""

    class Meta:
        model = NotificationPreference

    user = factory.SubFactory(UserFactory)
    event_type = "new_message"
    channel = "email"
    opted_out = True


class NotificationSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationSettings

    user = factory.SubFactory(UserFactory)


class PushSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushSubscription

    user = factory.SubFactory(UserFactory)
    endpoint = factory.Sequence(lambda n: f"https://push.example.test/push/{n}")
    p256dh = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
    auth = "tBHItJI5svbpez7KI4CCXg"
