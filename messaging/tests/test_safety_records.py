"""Issue 21 item 4: messages are records. Once read by anyone, the author can't edit or
delete a message (pages and API, one rule); before that, edits and retractions keep
revisions that staff can open, audited."""

import pytest
from django.urls import reverse

from mahalo.models import AuditEvent, StaffMember
from messaging import threads
from messaging.models import Message, MessageRevision

pytestmark = pytest.mark.django_db


@pytest.fixture
def convo(world):
    return threads.thread_default_for(patient=world.me, staff=StaffMember.objects.get(user=world.clinician),
                                      actor=world.clinician)


def api_url(world, convo, message, what):
    return f"/api/v1/patients/{world.me.pk}/threads/{convo.pk}/messages/{message.pk}/{what}/"


def test_a_read_and_answered_message_cannot_be_deleted_by_its_author(world, convo, login):
    patient = login(world.patient_user)
    patient.post(reverse("message_send", args=[convo.pk]), {"body": "BP 188/126 this morning, headache"})
    message = Message.objects.get(sender=world.patient_user)
    clinician = login(world.clinician)
    clinician.get(reverse("message_thread", args=[convo.pk]))            # read
    clinician.post(reverse("message_send", args=[convo.pk]), {"body": "Call 911 if the headache is severe."})
    patient = login(world.patient_user)
    page = patient.get(reverse("portal_message_thread", args=[convo.pk])).content.decode()
    assert "Edit or delete" not in page.split(f'id="m-{message.pk}"')[1].split("</li>")[0]
    r = patient.post(reverse("message_delete", args=[message.pk]), {"confirm": "yes"}, follow=True)
    assert "part of the record" in r.content.decode()
    r = patient.post(reverse("message_edit", args=[message.pk]), {"body": "never mind"})
    message.refresh_from_db()
    assert message.deleted_at is None and message.body == "BP 188/126 this morning, headache"
    assert not MessageRevision.objects.filter(message=message).exists()
    thread_page = login(world.clinician).get(reverse("message_thread", args=[convo.pk])).content.decode()
    assert "Message deleted" not in thread_page and "BP 188/126" in thread_page


def test_a_staff_member_who_joins_later_counts_as_a_reader(world, convo, login):
    message = threads.message_send(thread=convo, sender=world.patient_user, body="Dizzy today")
    login(world.lead).get(reverse("message_thread", args=[convo.pk]))     # not a participant when it was sent
    assert threads.read_by_others(message)
    login(world.patient_user).post(reverse("message_delete", args=[message.pk]), {"confirm": "yes"})
    assert Message.objects.get(pk=message.pk).deleted_at is None


def test_before_reading_edits_keep_revisions_staff_can_open_audited(world, convo, login):
    patient = login(world.patient_user)
    message = threads.message_send(thread=convo, sender=world.patient_user, body="Took 10 mg")
    assert patient.post(reverse("message_edit", args=[message.pk]), {"body": "Took 5 mg"}).status_code == 302
    message.refresh_from_db()
    assert message.body == "Took 5 mg" and message.edited_at
    page = patient.get(reverse("portal_message_thread", args=[convo.pk])).content.decode()
    assert "(edited" in page and "Took 10 mg" not in page and "earlier versions" not in page
    staff = login(world.clinician)
    page = staff.get(reverse("message_thread", args=[convo.pk])).content.decode()
    assert "(edited" in page and "View earlier versions (1)" in page and "Took 10 mg" not in page
    record = staff.get(reverse("message_record", args=[message.pk])).content.decode()
    assert "Took 10 mg" in record and "Before the edit" in record
    assert AuditEvent.objects.filter(actor=world.clinician, action="read", object_id=str(message.pk),
                                     metadata__event="message_record_read").exists()
    assert login(world.patient_user).get(reverse("message_record", args=[message.pk])).status_code in (403, 404)
    assert login(world.other_clinician).get(reverse("message_record", args=[message.pk])).status_code in (403, 404)


def test_a_retraction_before_reading_stays_visible_to_staff_on_request(world, convo, login):
    message = threads.message_send(thread=convo, sender=world.patient_user, body="Feeling hopeless lately")
    client = login(world.patient_user)
    assert client.post(reverse("message_delete", args=[message.pk]), {"confirm": "yes"}).status_code == 302
    message.refresh_from_db()
    assert message.deleted_at and message.body == ""
    staff = login(world.clinician)
    page = staff.get(reverse("message_thread", args=[convo.pk])).content.decode()
    assert "deleted by its author before anyone read it" in page and "View the retracted text" in page
    assert "Feeling hopeless" not in page
    record = staff.get(reverse("message_record", args=[message.pk])).content.decode()
    assert "Feeling hopeless lately" in record and "Text when retracted" in record


def test_the_api_applies_the_same_rule(world, convo, api_login):
    patient = api_login(world.patient_user)
    message = threads.message_send(thread=convo, sender=world.patient_user, body="Weight 82.1 kg")
    r = patient.post(api_url(world, convo, message, "edit"), {"body": "Weight 81.2 kg"}, format="json")
    assert r.status_code == 200 and r.json()["body"] == "Weight 81.2 kg" and r.json()["edited_at"]
    clinician = api_login(world.clinician)
    assert clinician.post(f"/api/v1/patients/{world.me.pk}/threads/{convo.pk}/read/").status_code == 204
    r = patient.post(api_url(world, convo, message, "delete"))
    assert r.status_code == 400 and "part of the record" in str(r.json())
    r = patient.post(api_url(world, convo, message, "edit"), {"body": "x"}, format="json")
    assert r.status_code == 400
    # Not the author: 404, whoever asks.
    assert clinician.post(api_url(world, convo, message, "delete")).status_code == 404
    record = clinician.get(api_url(world, convo, message, "record"))
    assert record.status_code == 200 and record.json()[0]["previous_body"] == "Weight 82.1 kg"
    assert patient.get(api_url(world, convo, message, "record")).status_code == 404
    assert api_login(world.other_clinician).get(api_url(world, convo, message, "record")).status_code == 404
