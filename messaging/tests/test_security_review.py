"""Security review of messaging's routes: threads and messages (pages and API),
attachments, notifications, and the cross-app cases that need a thread
(deactivated staff, stray grants, former participants, staff pages seen by a
patient). Concrete attacks through HTTP; see `mahalo/tests/security.py`.
Tests marked security_fixed document findings the app now fixes.
"""

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mahalo.tests.factories import staff
from mahalo.tests.security import BAD_IDS, NUL_500, TYPE_500, tmp_media  # noqa: F401 (tmp_media: a fixture)
from messaging import threads
from messaging.models import Attachment, Message, Notification
from messaging.tests.factories import attach, default_thread, in_app_notification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tmp_media")]

@pytest.fixture
def my_thread(world):
    """world.me (cardiac) <-> world.clinician (cardiac), with one message."""
    return default_thread(world.me, world.clinician, body="SECRET-CARDIAC-NOTE")


@pytest.fixture
def metabolic_thread(world):
    """A metabolic patient <-> world.other_clinician, with one message."""
    return default_thread(world.metabolic_patients[0], world.other_clinician, body="SECRET-METABOLIC-NOTE")


@pytest.fixture
def foreign_thread(world):
    """A thread of the other tenant's patient, with the outsider."""
    return default_thread(world.foreign_patients[0], world.outsider, body="SECRET-FOREIGN-NOTE")


@pytest.fixture
def other_patient_thread(world):
    """Another cardiac patient (not world.me) <-> world.clinician."""
    return default_thread(world.cardiac_patients[1], world.clinician, body="SECRET-OTHER-PATIENT-NOTE")


# --- Messaging (HTML) ---------------------------------------------------------------------------

def test_thread_of_other_program_and_tenant_is_404_for_clinician(world, login, metabolic_thread, foreign_thread):
    client = login(world.clinician)
    for thread in (metabolic_thread, foreign_thread):
        for url in (f"/messages/{thread.pk}/", f"/messages/{thread.pk}/new/", f"/portal/messages/{thread.pk}/"):
            r = client.get(url)
            assert r.status_code == 404, url
            assert b"SECRET" not in r.content
        assert client.post(f"/messages/{thread.pk}/send/", {"body": "hi"}).status_code == 404
    assert not Message.objects.filter(sender=world.clinician, body="hi").exists()


def test_outsider_cannot_open_tenant_threads(world, login, my_thread):
    client = login(world.outsider)
    assert client.get(f"/messages/{my_thread.pk}/").status_code == 404
    assert client.post(f"/messages/{my_thread.pk}/send/", {"body": "x"}).status_code == 404


def test_patient_cannot_read_or_post_to_another_patients_thread(world, login, other_patient_thread):
    client = login(world.patient_user)
    for url in (f"/portal/messages/{other_patient_thread.pk}/", f"/messages/{other_patient_thread.pk}/",
                f"/messages/{other_patient_thread.pk}/new/"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert b"SECRET" not in r.content
    assert client.post(f"/messages/{other_patient_thread.pk}/send/", {"body": "spoof"}).status_code == 404
    assert not Message.objects.filter(body="spoof").exists()


def test_patient_cannot_edit_or_delete_others_messages(world, login, my_thread, other_patient_thread):
    client = login(world.patient_user)
    own_thread_msg = Message.objects.get(thread=my_thread)   # clinician's message in my own thread
    other_msg = Message.objects.get(thread=other_patient_thread)
    for m in (own_thread_msg, other_msg):
        assert client.post(f"/messages/m/{m.pk}/edit/", {"body": "tampered"}).status_code == 404
        assert client.post(f"/messages/m/{m.pk}/delete/").status_code == 404
        m.refresh_from_db()
        assert m.body.startswith("SECRET") and m.deleted_at is None


def test_other_clinician_cannot_edit_message_in_out_of_scope_thread(world, login, my_thread):
    m = Message.objects.get(thread=my_thread)
    r = login(world.other_clinician).post(f"/messages/m/{m.pk}/edit/", {"body": "x"})
    assert r.status_code == 404


def test_portal_start_thread_with_foreign_or_non_team_staff_is_404(world, login):
    client = login(world.patient_user)
    for value in (staff(world.outsider).pk, staff(world.other_clinician).pk, "garbage", ""):
        assert client.post("/portal/messages/", {"staff": value}).status_code == 404
    assert not threads.Thread.objects.filter(patient=world.me).exists()


def test_inbox_lists_only_scope_even_with_program_param(world, login, my_thread, metabolic_thread,
                                                       foreign_thread):
    client = login(world.clinician)
    for params in ({}, {"program": world.metabolic.pk}, {"program": "garbage"}, {"unread": "1"}):
        r = client.get("/messages/", params)
        assert r.status_code == 200
        assert b"SECRET-METABOLIC" not in r.content and b"SECRET-FOREIGN" not in r.content
        assert str(metabolic_thread.pk).encode() not in r.content
    # The inbox does list the clinician's own thread, with its text, so the checks above can fail.
    r = client.get("/messages/")
    assert str(my_thread.pk).encode() in r.content and b"SECRET-CARDIAC" in r.content
    r = client.get("/messages/", HTTP_HX_REQUEST="true")
    assert str(my_thread.pk).encode() in r.content
    assert str(metabolic_thread.pk).encode() not in r.content


def test_unread_badge_counts_only_own_scope(world, login, my_thread, metabolic_thread, foreign_thread):
    # Unread for the clinician: one patient message in their own thread; the metabolic and
    # foreign threads' messages are out of scope and must not count.
    threads.message_send(thread=my_thread, sender=world.patient_user, body="a question")
    for thread, sender in ((metabolic_thread, world.other_clinician), (foreign_thread, world.outsider)):
        threads.message_send(thread=thread, sender=sender, body="more")
    assert threads.unread_count(world.clinician) == 1
    r = login(world.clinician).get("/messages/")
    assert r.status_code == 200


def test_thread_new_for_out_of_scope_patient_is_404(world, login):
    client = login(world.clinician)
    for patient in (world.metabolic_patients[0], world.foreign_patients[0]):
        r = client.post(f"/messages/new/?patient={patient.pk}", {"subject": "x", "body": "y"})
        assert r.status_code == 404
    for bad in BAD_IDS:
        assert client.get("/messages/new/", {"patient": bad}).status_code == 404
    assert not threads.Thread.objects.filter(created_by=world.clinician).exists()


def test_message_search_on_out_of_scope_patient_is_404(world, login, metabolic_thread):
    r = login(world.clinician).get(f"/patients/{world.metabolic_patients[0].pk}/messages/", {"q": "SECRET"})
    assert r.status_code == 404


@NUL_500
def test_message_search_with_nul_byte_never_500(world, login, my_thread):
    r = login(world.clinician).get(f"/patients/{world.me.pk}/messages/", {"q": "SE\x00CRET"})
    assert r.status_code in (200, 400)


def test_poll_with_garbage_or_foreign_anchor(world, login, my_thread, metabolic_thread):
    client = login(world.clinician)
    foreign_msg = Message.objects.get(thread=metabolic_thread)
    for after in ("garbage", str(foreign_msg.pk)):
        r = client.get(f"/messages/{my_thread.pk}/new/", {"after": after})
        assert r.status_code == 400
        assert b"SECRET-METABOLIC" not in r.content


def test_malformed_ids_on_message_routes_never_500(world, login):
    client = login(world.clinician)
    for bad in BAD_IDS:
        assert client.get(f"/messages/attachments/{bad}/").status_code == 404
        assert client.post(f"/messages/m/{bad}/edit/", {"body": "x"}).status_code == 404


# --- Attachments --------------------------------------------------------------------------------

def test_attachment_download_only_in_scope_and_with_safe_headers(world, login, my_thread, metabolic_thread):
    att = attach(my_thread, world.clinician)
    r = login(world.patient_user).get(f"/messages/attachments/{att.pk}/")
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith("attachment")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r["Content-Security-Policy"]
    for user in (world.other_clinician, world.outsider, world.dietitian):
        assert login(user).get(f"/messages/attachments/{att.pk}/").status_code == 404, user
    other = attach(metabolic_thread, world.other_clinician)
    assert login(world.patient_user).get(f"/messages/attachments/{other.pk}/").status_code == 404
    assert login(world.clinician).get(f"/messages/attachments/{other.pk}/").status_code == 404


@pytest.mark.parametrize("name,data", [
    ("x.html", b"<!doctype html><html><script>alert(1)</script></html>"),
    ("x.png", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
    ("x.txt", b"<html><body><script>alert(document.cookie)</script></body></html>"),
    ("x.pdf", b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
    ("x.jpg", b"\xef\xbb\xbf<script>alert(1)</script>"),
])
def test_active_content_upload_is_refused(world, login, my_thread, name, data):
    client = login(world.patient_user)
    r = client.post(f"/messages/{my_thread.pk}/send/",
                    {"body": "", "files": [SimpleUploadedFile(name, data, content_type="image/png")]})
    assert r.status_code == 400
    assert not Attachment.objects.filter(message__thread=my_thread, original_name__startswith="x").exists()


def test_attachment_of_deleted_message_is_404(world, login, my_thread):
    att = attach(my_thread, world.clinician)
    threads.message_delete(message=att.message, user=world.clinician)
    assert login(world.patient_user).get(f"/messages/attachments/{att.pk}/").status_code == 404


# --- Notifications --------------------------------------------------------------------------------

def test_notifications_are_own_only(world, login):
    theirs = in_app_notification(world.clinician, "sec:1")
    in_app_notification(world.clinician, "sec:2")
    client = login(world.patient_user)
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.seen_at is None
    assert 'data-unseen="2"' in login(world.clinician).get("/notifications/bell/").content.decode()
    client = login(world.patient_user)
    bell = client.get("/notifications/bell/").content.decode()
    assert re.search(r'data-unseen="[1-9]', bell) is None  # the patient has none of their own
    client.post("/notifications/read-all/")
    assert Notification.objects.filter(recipient=world.clinician, seen_at__isnull=True).count() == 2
    assert client.get("/notifications/").context["unseen"] == 0


def test_notification_read_malformed_id_and_open_redirect(world, login):
    mine = in_app_notification(world.patient_user, "sec:3")
    client = login(world.patient_user)
    assert client.post("/notifications/not-a-uuid/read/").status_code == 404
    r = client.post(f"/notifications/{mine.pk}/read/", {"next": "https://evil.test/"})
    assert r.status_code == 302 and "evil.test" not in r["Location"]


def test_notification_settings_garbage_never_500(world, login):
    r = login(world.patient_user).post("/settings/notifications/", {"quiet_start": "25:99", "quiet_end": "x"})
    assert r.status_code == 400


# --- API ---------------------------------------------------------------------------------------

def test_api_threads_out_of_scope_are_404(world, api_login, metabolic_thread, foreign_thread):
    api = api_login(world.clinician)
    for thread in (metabolic_thread, foreign_thread):
        base = f"/api/v1/patients/{thread.patient_id}/threads/"
        assert api.get(base).status_code == 404
        assert api.get(f"{base}{thread.pk}/").status_code == 404
        assert api.get(f"{base}{thread.pk}/messages/").status_code == 404
        assert api.post(f"{base}{thread.pk}/messages/", {"body": "x"}, format="json").status_code == 404
        assert api.post(f"{base}{thread.pk}/read/").status_code == 404


def test_api_thread_under_wrong_patient_is_404(world, api_login, my_thread, other_patient_thread):
    # A thread id of one in-scope patient under another in-scope patient's URL.
    api = api_login(world.clinician)
    r = api.get(f"/api/v1/patients/{world.me.pk}/threads/{other_patient_thread.pk}/messages/")
    assert r.status_code == 404
    # The patient, with another patient's thread under their own id.
    r = api_login(world.patient_user).get(f"/api/v1/patients/{world.me.pk}/threads/{other_patient_thread.pk}/")
    assert r.status_code == 404


def test_api_patient_cannot_open_default_thread_with_foreign_staff(world, api_login):
    api = api_login(world.patient_user)
    r = api.post(f"/api/v1/patients/{world.me.pk}/threads/", {"staff": str(staff(world.outsider).pk)},
                 format="json")
    assert r.status_code == 400
    r = api.post(f"/api/v1/patients/{world.me.pk}/threads/", {"staff": "garbage"}, format="json")
    assert r.status_code == 400


def test_api_messages_after_garbage_is_400(world, api_login, my_thread):
    r = api_login(world.clinician).get(f"/api/v1/patients/{world.me.pk}/threads/{my_thread.pk}/messages/",
                                       {"after": "nope"})
    assert r.status_code == 400


# --- Admin ----------------------------------------------------------------------------------------

def test_admin_outsider_cannot_open_tenant_objects(world, login, my_thread, foreign_thread):
    client = login(world.outsider)
    # Another tenant's object is answered as a missing one: back to the admin index.
    for url in (f"/admin/patients/program/{world.cardiac.pk}/change/",
                f"/admin/mahalo/staffmember/{staff(world.clinician).pk}/change/",
                f"/admin/messaging/thread/{my_thread.pk}/change/", f"/admin/messaging/thread/{uuid.uuid4()}/change/"):
        r = client.get(url)
        assert (r.status_code, r["Location"]) == (302, "/admin/"), url
    # The message list shows the outsider's own messages (the admin never shows bodies: match ids).
    r = client.get("/admin/messaging/message/")
    assert r.status_code == 200
    assert str(foreign_thread.messages.get().pk) in r.content.decode()
    assert str(my_thread.messages.get().pk) not in r.content.decode()


# --- NUL bytes (PostgreSQL refuses them in text) ----------------------------------------------------

@NUL_500
def test_message_send_with_nul_byte_never_500(world, login, my_thread):
    r = login(world.patient_user).post(f"/messages/{my_thread.pk}/send/", {"body": "hello\x00world"})
    assert r.status_code in (302, 400)


@NUL_500
def test_message_edit_with_nul_byte_never_500(world, login, my_thread):
    m = Message.objects.get(thread=my_thread)
    r = login(world.clinician).post(f"/messages/m/{m.pk}/edit/", {"body": "x\x00y"})
    assert r.status_code in (302, 400)


@NUL_500
def test_thread_new_subject_with_nul_byte_never_500(world, login):
    r = login(world.clinician).post(f"/messages/new/?patient={world.me.pk}", {"subject": "s\x00", "body": "b"})
    assert r.status_code in (302, 400)


@NUL_500
def test_api_message_send_with_nul_byte_never_500(world, api_login, my_thread):
    r = api_login(world.clinician).post(f"/api/v1/patients/{world.me.pk}/threads/{my_thread.pk}/messages/",
                                        {"body": "x\x00y"}, format="json")
    assert r.status_code in (201, 400)


# --- More scope checks ------------------------------------------------------------------------------

def test_deactivated_staff_loses_everything(world, login, my_thread):
    assert login(world.clinician).get(f"/messages/{my_thread.pk}/").status_code == 200
    member = staff(world.clinician)
    member.is_active = False
    member.save(update_fields=["is_active"])
    client = login(world.clinician)
    assert client.get(f"/patients/{world.me.pk}/").status_code == 404
    assert client.get(f"/messages/{my_thread.pk}/").status_code == 404
    assert client.get("/patients/").status_code == 404  # a deactivated member is no staff: no staff pages


def test_dietitian_cannot_message_cardiac_patient(world, login, my_thread):
    client = login(world.dietitian)
    assert client.get(f"/messages/{my_thread.pk}/").status_code == 404
    r = client.post(f"/messages/new/?patient={world.me.pk}", {"subject": "hi", "body": "x"})
    assert r.status_code == 404


def test_api_patient_default_thread_only_with_staff_who_can_read_them(world, api_login):
    api = api_login(world.patient_user)
    r = api.post(f"/api/v1/patients/{world.me.pk}/threads/", {"staff": str(staff(world.other_clinician).pk)},
                 format="json")
    assert r.status_code == 400
    assert not threads.Thread.objects.filter(patient=world.me).exists()


# --- Type confusion in JSON bodies --------------------------------------------------------------------

@TYPE_500
@pytest.mark.parametrize("payload", [{"body": ["x"]}, {"body": 123}, {"body": {"a": 1}}, ["x"]])
def test_api_message_send_with_non_string_body_never_500(world, api_login, my_thread, payload):
    r = api_login(world.clinician).post(f"/api/v1/patients/{world.me.pk}/threads/{my_thread.pk}/messages/",
                                        payload, format="json")
    assert r.status_code in (201, 400)


@pytest.mark.parametrize("payload", [["x"], {"staff": ["x"]}, {"subject": {"a": 1}}])
def test_api_thread_create_with_bad_json_never_500(world, api_login, payload):
    r = api_login(world.clinician).post(f"/api/v1/patients/{world.me.pk}/threads/", payload, format="json")
    assert r.status_code in (201, 400)


# --- Garbage uploads and HTMX variants ------------------------------------------------------------------

def test_htmx_registry_and_inbox_for_outsider_show_nothing_of_tenant(world, login, my_thread, foreign_thread):
    client = login(world.outsider)
    r = client.get("/patients/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert all(str(p.pk) in r.content.decode() for p in world.foreign_patients)  # their own tenant's
    assert all(str(p.pk) not in r.content.decode() for p in world.cardiac_patients + world.metabolic_patients)
    r = client.get("/messages/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert str(foreign_thread.pk) in r.content.decode()
    assert str(my_thread.pk) not in r.content.decode() and b"SECRET-CARDIAC" not in r.content


def test_patient_user_gets_nothing_from_staff_pages(world, login, other_patient_thread):
    client = login(world.patient_user)
    for url in ("/patients/", "/patients/export.csv", f"/patients/{world.cardiac_patients[1].pk}/",
                "/messages/", "/audit/", f"/patients/{world.me.pk}/messages/", "/patients/import/"):
        r = client.get(url)
        assert r.status_code == 404, url  # staff pages don't exist for a patient
        assert b"SECRET" not in r.content
        assert world.cardiac_patients[1].last_name.encode() not in r.content


def test_stray_object_grant_on_foreign_patient_never_crosses_tenant(world, login, foreign_thread):
    from guardian.shortcuts import assign_perm

    target = world.foreign_patients[0]
    assign_perm("view_patient", world.clinician, target)
    client = login(world.clinician)
    assert client.get(f"/patients/{target.pk}/").status_code == 404
    assert client.get(f"/messages/{foreign_thread.pk}/").status_code == 404
    body = client.get("/patients/").content.decode()
    assert str(world.me.pk) in body and str(target.pk) not in body


def test_former_participant_out_of_scope_sees_nothing_of_thread(world, login, my_thread):
    from mahalo.models import ProgramAssignment

    login(world.clinician).get(f"/messages/{my_thread.pk}/")  # joins as participant
    ProgramAssignment.objects.filter(staff=staff(world.clinician)).delete()
    threads.message_send(thread=my_thread, sender=world.patient_user, body="SECRET-AFTER-REMOVAL")
    client = login(world.clinician)
    assert client.get(f"/messages/{my_thread.pk}/").status_code == 404
    r = client.get("/messages/")
    assert r.status_code == 200 and b"SECRET-AFTER-REMOVAL" not in r.content
    fresh = type(world.clinician).objects.get(pk=world.clinician.pk)  # the gate caches scope per user object
    assert threads.unread_count(fresh) == 0
    # Notifications never carry message text; what would leak is one about this patient.
    assert client.get("/notifications/").context["unseen"] == 0


def test_former_participant_out_of_scope_is_not_notified(world, login, my_thread):
    from mahalo.models import ProgramAssignment

    login(world.clinician).get(f"/messages/{my_thread.pk}/")
    ProgramAssignment.objects.filter(staff=staff(world.clinician)).delete()
    threads.message_send(thread=my_thread, sender=world.patient_user, body="after removal")
    assert not Notification.objects.filter(recipient=world.clinician, patient=world.me).exists()

