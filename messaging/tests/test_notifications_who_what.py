"""Issue 21 item 7: staff notifications name the patient and the thing, link to it, are
read when the thing is seen, and the lists update without a reload."""

import pytest
from django.urls import reverse

from messaging import threads
from messaging.models import Notification
from messaging.notify import notify
from messaging.tests.factories import default_thread

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def in_app(user):
    return Notification.objects.filter(recipient=user, channel="in_app")


def test_a_patients_message_names_the_patient_and_links_to_the_thread(world):
    kai = world.me
    thread = default_thread(kai, world.clinician, body="How are your readings?")
    threads.message_send(thread=thread, sender=world.patient_user, body="BP was 150/95 this morning")
    row = in_app(world.clinician).get(event_type="new_message")
    assert row.subject == f"Message from {kai.full_name}"
    assert kai.full_name in row.body and f"from {world.patient_user.get_full_name()}" in row.body
    assert row.link == reverse("message_thread", args=[thread.pk])
    # The patient's own notification keeps the patient wording, now with who wrote.
    mine = in_app(world.patient_user).get(event_type="new_message")
    assert "You have a new secure message from" in mine.body and "MRN" not in mine.body


def test_every_staff_event_names_the_patient_and_links_somewhere_staff_can_open(world):
    patient = world.cardiac_patients[1]
    for event, link in [("visit_booked", ""), ("device_reconsent", "/portal/devices/"),
                        ("care_team_request", "/care-team/requests/")]:
        notify(event_type=event, recipients=[world.clinician], patient=patient, context={"when": "Mon Mar 2"},
               key=f"t:{event}", link=link, channels=["in_app"])
        row = in_app(world.clinician).get(event_type=event)
        assert patient.full_name in row.subject and patient.full_name in row.body, event
        assert not row.link.startswith("/portal/"), event
    assert in_app(world.clinician).get(event_type="visit_booked").link == f"/patients/{patient.pk}/"
    assert in_app(world.clinician).get(event_type="care_team_request").link == "/care-team/requests/"


def test_opening_the_thread_marks_its_notification_read(world, login):
    thread = default_thread(world.me, world.clinician, body="Hello")
    threads.message_send(thread=thread, sender=world.patient_user, body="Feeling dizzy")
    row = in_app(world.clinician).get(event_type="new_message")
    assert row.seen_at is None
    client = login(world.clinician)
    assert client.get(reverse("message_thread", args=[thread.pk])).status_code == 200
    row.refresh_from_db()
    assert row.seen_at is not None


def test_seeing_something_else_reads_nothing_and_other_users_rows_stay(world, login):
    thread = default_thread(world.me, world.clinician, body="Hello")
    threads.message_send(thread=thread, sender=world.patient_user, body="Question")
    client = login(world.lead)  # may open the thread, but the notification is the clinician's
    assert client.get(reverse("message_thread", args=[thread.pk])).status_code == 200
    assert in_app(world.clinician).get(event_type="new_message").seen_at is None
    login(world.clinician).get(reverse("message_inbox"))
    assert in_app(world.clinician).get(event_type="new_message").seen_at is None


def test_notification_list_polls_and_updates_without_reload(world, login):
    client = login(world.clinician)
    page = client.get(reverse("notification_list"))
    version = page.context["version"]
    assert f"v={version}" in page.content.decode() and 'hx-trigger="every 20s"' in page.content.decode()
    assert client.get(reverse("notification_list") + f"?v={version}", **HTMX).status_code == 204
    notify(event_type="alert_created", recipients=[world.clinician], patient=world.cardiac_patients[2],
           context={"alert": "Hypertensive crisis"}, key="t:poll", link="/alerts/x/", channels=["in_app"])
    fresh = client.get(reverse("notification_list") + f"?v={version}", **HTMX)
    assert fresh.status_code == 200 and b"<html" not in fresh.content
    assert world.cardiac_patients[2].full_name.encode() in fresh.content


def test_inbox_polls_and_updates_without_reload(world, login):
    thread = default_thread(world.me, world.clinician, body="Hello")
    client = login(world.clinician)
    page = client.get(reverse("message_inbox"))
    version = page.context["version"]
    assert client.get(reverse("message_inbox") + f"?v={version}", **HTMX).status_code == 204
    threads.message_send(thread=thread, sender=world.patient_user, body="New reading")
    fresh = client.get(reverse("message_inbox") + f"?v={version}", **HTMX)
    assert fresh.status_code == 200 and b'id="results"' in fresh.content and b"<html" not in fresh.content
