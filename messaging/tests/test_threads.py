"""Threads through HTTP: isolation, sending, unread counts, read receipts, edit/delete,
safe rendering, polling and the inbox."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import enrol_totp
from mahalo.models import AuditEvent, Role, RolePermission, StaffMember
from mahalo.tests.factories import make_staff
from messaging import threads
from messaging.models import Message, MessageReceipt, MessageRevision, Thread, ThreadParticipant
from messaging.templatetags.messaging_tags import plaintext_links
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def staff(user):
    return StaffMember.objects.get(user=user)


@pytest.fixture
def convo(world):
    """The portal patient's default thread with the cardiac clinician."""
    return threads.thread_default_for(patient=world.me, staff=staff(world.clinician), actor=world.clinician)


def metabolic_thread(world):
    return threads.thread_default_for(patient=world.metabolic_patients[0], staff=staff(world.other_clinician),
                                      actor=world.other_clinician)


def test_every_url_requires_login(client, world, convo):
    msg = threads.message_send(thread=convo, sender=world.clinician, body="hi")
    urls = [reverse("message_inbox"), reverse("message_thread", args=[convo.pk]),
            reverse("message_poll", args=[convo.pk]), reverse("portal_messages"),
            reverse("portal_message_thread", args=[convo.pk]),
            reverse("message_thread_new") + f"?patient={world.me.pk}",
            reverse("patient_messages", args=[world.me.pk])]
    for url in urls:
        r = client.get(url)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"], url
    for url in (reverse("message_send", args=[convo.pk]), reverse("message_edit", args=[msg.pk]),
                reverse("message_delete", args=[msg.pk])):
        r = client.post(url, {"body": "x"})
        assert r.status_code == 302 and "/accounts/login/" in r["Location"], url


def test_default_thread_is_one_per_pair(world, convo):
    again = threads.thread_default_for(patient=world.me, staff=staff(world.clinician), actor=world.me.user)
    assert again.pk == convo.pk
    assert set(convo.participants.values_list("user_id", flat=True)) == {world.patient_user.pk, world.clinician.pk}


def test_patient_cannot_open_another_patients_thread(login, world):
    other = world.cardiac_patients[1]
    thread = threads.thread_default_for(patient=other, staff=staff(world.clinician), actor=world.clinician)
    client = login(world.patient_user)
    assert client.get(reverse("portal_message_thread", args=[thread.pk])).status_code == 404
    assert client.get(reverse("message_thread", args=[thread.pk])).status_code == 404
    assert client.get(reverse("message_poll", args=[thread.pk])).status_code == 404
    assert client.post(reverse("message_send", args=[thread.pk]), {"body": "hi"}).status_code == 404
    assert not Message.objects.filter(thread=thread).exists()


def test_clinician_outside_scope_gets_404(login, world):
    thread = metabolic_thread(world)
    threads.message_send(thread=thread, sender=world.other_clinician, body="secret")
    client = login(world.clinician)
    assert client.get(reverse("message_thread", args=[thread.pk])).status_code == 404
    assert client.post(reverse("message_send", args=[thread.pk]), {"body": "x"}).status_code == 404
    assert client.get(reverse("patient_messages", args=[thread.patient.pk])).status_code == 404
    assert b"secret" not in client.get(reverse("message_inbox")).content
    # Other tenant.
    assert login(world.outsider).get(reverse("message_thread", args=[thread.pk])).status_code == 404


def test_role_without_messaging_write_cannot_send(login, world, convo):
    role = Role.objects.create(project=world.project, name="Reader", scope=Role.SCOPE_PROGRAM)
    RolePermission.objects.create(role=role, resource="messaging", action="read")
    RolePermission.objects.create(role=role, resource="patients", action="read")
    reader = make_staff(world.project, "Reader", [world.cardiac])
    enrol_totp(reader)
    client = login(reader)
    page = client.get(reverse("message_thread", args=[convo.pk]))
    assert page.status_code == 200 and b'name="body"' not in page.content
    assert client.post(reverse("message_send", args=[convo.pk]), {"body": "x"}).status_code == 403
    assert not Message.objects.filter(thread=convo).exists()


def test_dietitian_can_message_metabolic_patient(login, world):
    thread = metabolic_thread(world)
    client = login(world.dietitian)
    r = client.post(reverse("message_send", args=[thread.pk]), {"body": "Try more fibre"})
    assert r.status_code == 302
    assert Message.objects.get(thread=thread).sender == world.dietitian
    assert ThreadParticipant.objects.filter(thread=thread, user=world.dietitian).exists()


def test_send_creates_receipts_audit_and_unread_counts(login, world, convo):
    client = login(world.patient_user)
    r = client.post(reverse("message_send", args=[convo.pk]), {"body": "My BP was high today"})
    assert r.status_code == 302 and r["Location"].startswith(reverse("portal_message_thread", args=[convo.pk]))
    message = Message.objects.get(thread=convo)
    assert message.kind == "text" and message.sender_role == "patient" and message.status == "sent"
    assert list(MessageReceipt.objects.filter(message=message).values_list("user_id", flat=True)) == [
        world.clinician.pk]
    assert AuditEvent.objects.filter(action="write", resource="messaging", patient=world.me,
                                     object_id=str(message.pk)).exists()
    assert threads.unread_count(world.clinician) == 1
    assert threads.unread_count(world.patient_user) == 0
    threads.message_send(thread=convo, sender=world.patient_user, body="And again")
    assert threads.unread_count(world.clinician) == 2
    # Opening the thread reads it: receipts and status.
    staff_client = login(world.clinician)
    page = staff_client.get(reverse("message_thread", args=[convo.pk]))
    assert page.status_code == 200 and b"My BP was high today" in page.content
    assert threads.unread_count(world.clinician) == 0
    receipt = MessageReceipt.objects.get(message=message)
    assert receipt.read_at and receipt.delivered_at
    message.refresh_from_db()
    assert message.status == "read"
    assert AuditEvent.objects.filter(action="read", resource="messaging", patient=world.me,
                                     actor=world.clinician).exists()
    # The sender sees the read receipt.
    portal = login(world.patient_user).get(reverse("portal_message_thread", args=[convo.pk]))
    assert b"Read " in portal.content


def test_empty_message_refused(login, world, convo):
    r = login(world.clinician).post(reverse("message_send", args=[convo.pk]), {"body": "   "})
    assert r.status_code == 400 and b"Write a message or attach a file" in r.content
    assert not Message.objects.exists()


def test_edit_and_delete_keep_revisions_and_audit(login, world, convo):
    client = login(world.clinician)
    message = threads.message_send(thread=convo, sender=world.clinician, body="Take 10 mg")
    assert client.post(reverse("message_edit", args=[message.pk]), {"body": "Take 5 mg"}).status_code == 302
    message.refresh_from_db()
    assert message.body == "Take 5 mg" and message.edited_at
    assert client.post(reverse("message_delete", args=[message.pk]), {"confirm": "yes"}).status_code == 302
    message.refresh_from_db()
    assert message.deleted_at and message.body == ""
    revs = list(MessageRevision.objects.filter(message=message).values_list("action", "previous_body"))
    assert revs == [("edit", "Take 10 mg"), ("delete", "Take 5 mg")]
    assert AuditEvent.objects.filter(action="update", resource="messaging", object_id=str(message.pk)).exists()
    assert AuditEvent.objects.filter(action="delete", resource="messaging", object_id=str(message.pk)).exists()
    page = login(world.patient_user).get(reverse("portal_message_thread", args=[convo.pk]))
    assert b"Message deleted" in page.content and b"5 mg" not in page.content


def test_only_the_sender_may_edit(login, world, convo):
    message = threads.message_send(thread=convo, sender=world.clinician, body="Original")
    r = login(world.patient_user).post(reverse("message_edit", args=[message.pk]), {"body": "Forged"})
    assert r.status_code == 404
    message.refresh_from_db()
    assert message.body == "Original" and not MessageRevision.objects.exists()


def test_message_text_is_plain_and_links_are_safe(login, world, convo):
    threads.message_send(thread=convo, sender=world.patient_user,
                         body="<script>alert(1)</script> javascript:alert(2) see https://example.org/a?b=1&c=2.\nbye")
    html = login(world.clinician).get(reverse("message_thread", args=[convo.pk])).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert ('<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" '
            'target="_blank">https://example.org/a?b=1&amp;c=2</a>.<br>bye') in html


def test_plaintext_links_filter():
    assert plaintext_links('<a href="javascript:x">') == "&lt;a href=&quot;javascript:x&quot;&gt;"
    assert plaintext_links("JavaScript://example.org/%0aalert(1)") == "JavaScript://example.org/%0aalert(1)"
    assert "<a " not in plaintext_links("data:text/html,hi ftp://x.org")
    out = plaintext_links('"http://x.org/"><img src=x>')
    assert "<img" not in out and out.startswith('&quot;<a href="http://x.org/"')


def test_polling_returns_only_newer_messages(login, world, convo):
    first = threads.message_send(thread=convo, sender=world.clinician, body="First one")
    second = threads.message_send(thread=convo, sender=world.clinician, body="Second one")
    client = login(world.patient_user)
    url = reverse("message_poll", args=[convo.pk])
    r = client.get(url, {"after": first.pk}, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200 and "Second one" in body and "First one" not in body
    assert f"after={second.pk}" in body and 'hx-trigger="every 3s"' in body
    receipt = MessageReceipt.objects.get(message=second)
    assert receipt.delivered_at and receipt.read_at
    nothing = client.get(url, {"after": second.pk}).content.decode()
    assert "Second one" not in nothing and f"after={second.pk}" in nothing
    assert client.get(url, {"after": "nonsense"}).status_code == 400


def test_staff_inbox_filters_and_badges(login, world, convo):
    metabolic = metabolic_thread(world)
    threads.message_send(thread=convo, sender=world.patient_user, body="Hello from Kai")
    threads.message_send(thread=metabolic, sender=world.other_clinician, body="Metabolic note")
    topic = threads.thread_create(patient=world.cardiac_patients[2], subject="Lab results", actor=world.lead)
    client = login(world.lead)
    page = client.get(reverse("message_inbox")).content.decode()
    assert "Hello from Kai" in page and "Metabolic note" in page and "Lab results" in page
    r = client.get(reverse("message_inbox"), {"program": str(world.metabolic.pk)}, HTTP_HX_REQUEST="true")
    assert r["Vary"] and "HX-Request" in r["Vary"]
    assert "Metabolic note" in r.content.decode() and "Hello from Kai" not in r.content.decode()
    assert "<html" not in r.content.decode()
    assigned = client.get(reverse("message_inbox"), {"assigned": "me"}).content.decode()
    assert "Lab results" in assigned and "Hello from Kai" not in assigned
    clin = login(world.clinician)
    unread = clin.get(reverse("message_inbox"), {"unread": "1"}).content.decode()
    assert "Hello from Kai" in unread and 'aria-label="1 unread"' in unread and "Metabolic note" not in unread
    clin.get(reverse("message_thread", args=[convo.pk]))
    assert "Hello from Kai" not in clin.get(reverse("message_inbox"), {"unread": "1"}).content.decode()
    assert topic.participants.filter(user=world.lead).exists()


def test_inbox_query_count_is_constant(login, world):
    clinician_staff = staff(world.clinician)

    def make(n):
        for _ in range(n):
            p = PatientFactory(program=world.cardiac)
            t = threads.thread_default_for(patient=p, staff=clinician_staff, actor=world.clinician)
            threads.message_send(thread=t, sender=world.clinician, body="hello")

    client = login(world.clinician)
    make(3)
    client.get(reverse("message_inbox"))
    from django.core.cache import cache

    cache.clear()  # the nav's unread badge is cached: measure both pages cold
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("message_inbox")).status_code == 200
    make(27)
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("message_inbox")).status_code == 200
    assert len(many) == len(few)


def test_patient_search_and_topic_thread(login, world, convo):
    threads.message_send(thread=convo, sender=world.patient_user, body="Question about metoprolol dose")
    threads.message_send(thread=convo, sender=world.patient_user, body="Unrelated")
    client = login(world.clinician)
    r = client.get(reverse("patient_messages", args=[world.me.pk]), {"q": "metoprolol"})
    found = r.content.decode().split('class="search-results"')[1].split("</ul>")[0]
    assert r.status_code == 200 and "Question about metoprolol dose" in found and "Unrelated" not in found
    r = client.post(reverse("message_thread_new") + f"?patient={world.me.pk}",
                    {"patient": str(world.me.pk), "subject": "Your new plan", "body": "See attached plan"})
    assert r.status_code == 302
    topic = Thread.objects.get(subject="Your new plan")
    assert topic.kind == "topic" and topic.messages.count() == 1
    assert set(topic.participants.values_list("user_id", flat=True)) >= {world.clinician.pk, world.patient_user.pk}
    assert login(world.clinician).get(reverse("message_thread_new") + f"?patient={world.metabolic_patients[0].pk}"
                                      ).status_code == 404


def test_portal_new_message_to_care_team(login, world):
    from patients import care_team

    care_team.care_team_add(patient=world.me, staff=staff(world.clinician), actor=world.lead)
    client = login(world.patient_user)
    page = client.get(reverse("portal_messages"))
    assert page.status_code == 200 and world.clinician.get_full_name().encode() in page.content
    r = client.post(reverse("portal_messages"), {"staff": str(staff(world.clinician).pk)})
    thread = Thread.objects.get(patient=world.me, kind="default")
    assert r.status_code == 302 and r["Location"] == reverse("portal_message_thread", args=[thread.pk])
    # Not on the care team: refused.
    assert client.post(reverse("portal_messages"), {"staff": str(staff(world.other_clinician).pk)}).status_code == 404
    # Staff have no portal.
    assert login(world.clinician).get(reverse("portal_messages")).status_code == 404
