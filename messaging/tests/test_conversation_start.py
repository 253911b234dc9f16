"""Starting a conversation: one service (threads.conversation_start) behind the portal, the staff
compose page and the API, so the rules agree: a patient may only start one with their care team
(issue 12 item 9), and a refused first message leaves no empty thread behind (issue 11)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mahalo.models import AuditEvent, StaffMember
from messaging.models import Message, Thread
from patients import care_team

pytestmark = pytest.mark.django_db


def staff(user):
    return StaffMember.objects.get(user=user)


def threads_url(patient):
    return f"/api/v1/patients/{patient.pk}/threads/"


def bad_file():
    return SimpleUploadedFile("note.png", b"<html><script>alert(1)</script></html>")


def test_api_refuses_a_patient_a_clinician_outside_their_care_team(api_login, world):
    api = api_login(world.patient_user)
    # The cardiac clinician can read Kai's record (program scope) but is not on the care team.
    r = api.post(threads_url(world.me), {"staff": str(staff(world.clinician).pk), "body": "Hello"}, format="json")
    assert r.status_code == 400 and "staff" in r.json()
    assert not Thread.objects.exists() and not Message.objects.exists()
    # The portal refuses the same clinician.
    client_resp = api.post(reverse("portal_messages"), {"staff": str(staff(world.clinician).pk)})
    assert client_resp.status_code == 404 and not Thread.objects.exists()


def test_api_lets_a_patient_message_their_care_team(api_login, world):
    care_team.care_team_add(patient=world.me, staff=staff(world.clinician), actor=world.lead)
    api = api_login(world.patient_user)
    r = api.post(threads_url(world.me), {"staff": str(staff(world.clinician).pk), "body": "Hello"}, format="json")
    assert r.status_code == 201, r.content
    thread = Thread.objects.get(pk=r.json()["id"])
    assert thread.pair_staff == staff(world.clinician) and thread.messages.get().body == "Hello"


def test_staff_may_name_any_colleague_who_can_read_the_patient(api_login, world):
    api = api_login(world.lead)
    r = api.post(threads_url(world.me), {"staff": str(staff(world.clinician).pk)}, format="json")
    assert r.status_code == 201
    # A clinician of another program can't read Kai's messages: not a counterpart.
    r = api.post(threads_url(world.me), {"staff": str(staff(world.other_clinician).pk)}, format="json")
    assert r.status_code == 400 and Thread.objects.count() == 1
    r = api.post(threads_url(world.me), {"staff": str(staff(world.outsider).pk)}, format="json")
    assert r.status_code == 400 and Thread.objects.count() == 1


def test_a_refused_attachment_leaves_no_thread_through_the_api(api_login, world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    api = api_login(world.clinician)
    r = api.post(threads_url(world.me), {"subject": "Plan", "body": "Attached", "files": [bad_file()]},
                 format="multipart")
    assert r.status_code == 400
    assert not Thread.objects.exists() and not Message.objects.exists()
    assert not AuditEvent.objects.filter(metadata__event="thread_created").exists()
    care_team.care_team_add(patient=world.me, staff=staff(world.clinician), actor=world.lead)
    r = api_login(world.patient_user).post(threads_url(world.me), {"staff": str(staff(world.clinician).pk),
                                                                   "files": [bad_file()]}, format="multipart")
    assert r.status_code == 400 and not Thread.objects.exists()


def test_a_refused_attachment_leaves_no_thread_through_the_page(login, world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    client = login(world.clinician)
    url = reverse("message_thread_new") + f"?patient={world.me.pk}"
    r = client.post(url, {"subject": "Plan", "body": "Attached", "files": [bad_file()]})
    assert r.status_code == 400
    assert b"Plan" in r.content and b"Attached" in r.content  # nothing typed is lost
    assert not Thread.objects.exists() and not Message.objects.exists()
    ok = client.post(url, {"subject": "Plan", "body": "Walk daily"})
    assert ok.status_code == 302 and Thread.objects.get().messages.get().body == "Walk daily"


def test_a_writer_outside_the_patients_scope_gets_404_not_403(login, world):
    thread = Thread.objects.create(project=world.project, patient=world.me, program=world.cardiac,
                                   kind=Thread.Kind.TOPIC, subject="Kai")
    client = login(world.other_clinician)  # messaging:write, but not in Cardiac Rehab
    assert client.post(reverse("message_send", args=[thread.pk]), {"body": "x"}).status_code == 404
    assert client.get(reverse("message_thread", args=[thread.pk])).status_code == 404
    assert AuditEvent.objects.filter(actor=world.other_clinician, action="denied", patient=world.me).exists()
    assert not Message.objects.exists()


def test_someone_elses_message_is_not_found(login, world):
    care_team.care_team_add(patient=world.me, staff=staff(world.clinician), actor=world.lead)
    from messaging import threads

    thread = threads.conversation_start(patient=world.me, actor=world.clinician, staff=staff(world.clinician),
                                        body="From the clinician")
    message = thread.messages.get()
    client = login(world.patient_user)  # may write in the thread, but did not send this message
    assert client.post(reverse("message_edit", args=[message.pk]), {"body": "changed"}).status_code == 404
    assert client.post(reverse("message_delete", args=[message.pk])).status_code == 404
    message.refresh_from_db()
    assert message.body == "From the clinician" and message.deleted_at is None
