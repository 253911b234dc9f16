"""The messaging API: nested under a patient, gated, patients use it for their own record."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mahalo.models import AuditEvent, StaffMember
from messaging import threads
from messaging.models import Message, Thread

pytestmark = pytest.mark.django_db


def base(patient):
    return f"/api/v1/patients/{patient.pk}/threads/"


@pytest.fixture
def convo(world):
    return threads.thread_default_for(patient=world.me, staff=StaffMember.objects.get(user=world.clinician),
                                      actor=world.clinician)


def test_login_required(client, world, convo):
    assert client.get(base(world.me)).status_code == 401


def test_patient_lists_and_sends_in_own_threads(api_login, world, convo):
    api = api_login(world.patient_user)
    r = api.get(base(world.me))
    assert r.status_code == 200 and [t["id"] for t in r.json()["results"]] == [str(convo.pk)]
    r = api.post(f"{base(world.me)}{convo.pk}/messages/", {"body": "From the app"}, format="json")
    assert r.status_code == 201 and r.json()["sender_role"] == "patient"
    assert threads.unread_count(world.clinician) == 1
    staff_api = api_login(world.clinician)
    listed = staff_api.get(base(world.me)).json()["results"]
    assert listed[0]["unread"] == 1
    msgs = staff_api.get(f"{base(world.me)}{convo.pk}/messages/").json()
    assert [m["body"] for m in msgs] == ["From the app"]
    assert Message.objects.get().receipts.get().delivered_at is not None
    assert staff_api.post(f"{base(world.me)}{convo.pk}/read/").status_code == 204
    assert Message.objects.get().status == "read"
    assert threads.unread_count(world.clinician) == 0


def test_isolation(api_login, world, convo):
    other = world.cardiac_patients[1]
    api = api_login(world.patient_user)
    assert api.get(base(other)).status_code == 404
    assert api.get(f"{base(other)}{convo.pk}/").status_code == 404
    # The thread id under the wrong patient is not found either.
    theirs = threads.thread_default_for(patient=other, staff=StaffMember.objects.get(user=world.clinician),
                                        actor=world.clinician)
    assert api.get(f"{base(world.me)}{theirs.pk}/messages/").status_code == 404
    assert api.post(f"{base(world.me)}{theirs.pk}/messages/", {"body": "x"}, format="json").status_code == 404
    assert api_login(world.other_clinician).get(f"{base(world.me)}{convo.pk}/messages/").status_code == 404
    assert api_login(world.outsider).get(base(world.me)).status_code == 404
    assert not Message.objects.exists()


def test_staff_creates_topic_thread_with_file(api_login, world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    api = api_login(world.clinician)
    r = api.post(base(world.me), {"subject": "Discharge plan", "body": "Plan attached",
                                  "files": [SimpleUploadedFile("plan.txt", b"Walk 20 minutes a day")]},
                 format="multipart")
    assert r.status_code == 201, r.content
    thread = Thread.objects.get(pk=r.json()["id"])
    message = thread.messages.get()
    assert message.kind == "mixed" and message.attachments.get().content_type == "text/plain"
    bad = api.post(f"{base(world.me)}{thread.pk}/messages/",
                   {"files": [SimpleUploadedFile("x.png", b"<html><script>1</script>")]}, format="multipart")
    assert bad.status_code == 400 and thread.messages.count() == 1
    assert AuditEvent.objects.filter(action="write", resource="messaging", patient=world.me).exists()
