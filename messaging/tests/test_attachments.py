"""Attachments: type from the bytes, storage API, permission-checked audited download."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from mahalo.models import AuditEvent, StaffMember
from messaging import attachments, threads
from messaging.models import Attachment, Message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def upload(name, data, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def convo(world):
    staff = StaffMember.objects.get(user=world.clinician)
    return threads.thread_default_for(patient=world.me, staff=staff, actor=world.clinician)


def test_png_is_accepted_and_downloaded_as_a_safe_attachment(login, world, convo):
    client = login(world.patient_user)
    data = png_bytes()
    r = client.post(reverse("message_send", args=[convo.pk]),
                    {"body": "Photo of my ankle", "files": [upload("ankle <1>.png", data, "image/png")]})
    assert r.status_code == 302
    message = Message.objects.get(thread=convo)
    assert message.kind == "mixed"
    att = Attachment.objects.get(message=message)
    assert att.content_type == "image/png" and att.size == len(data) and len(att.sha256) == 64
    assert att.file.name.startswith("attachments/") and default_storage.exists(att.file.name)
    assert att.original_name == "ankle _1.png"
    staff_client = login(world.clinician)
    page = staff_client.get(reverse("message_thread", args=[convo.pk])).content.decode()
    assert reverse("message_attachment", args=[att.pk]) in page
    r = staff_client.get(reverse("message_attachment", args=[att.pk]))
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == data
    assert r["Content-Type"] == "image/png"
    assert r["Content-Disposition"].startswith("attachment;")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert AuditEvent.objects.filter(action="read", resource="messaging", object_id=str(att.pk),
                                     actor=world.clinician, patient=world.me).exists()


@pytest.mark.parametrize("name,data", [
    ("photo.png", b"<html><body><script>alert(document.cookie)</script></body></html>"),
    ("notes.txt", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'),
    ("notes.txt", b'<?xml version="1.0"?><svg/>'),
    ("notes.txt", b"  <!DOCTYPE html><p>hi"),
    ("report.txt", b"Results below\n<script>alert(1)</script>"),
    ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
    ("page.html", b"hello"),
    ("archive.pdf", b"PK\x03\x04" + b"\x00" * 60),
    ("binary.txt", b"abc\x00def"),
    ("latin1.txt", "caf\u00e9".encode("latin-1")),
])
def test_spoofed_or_disallowed_types_are_refused_and_nothing_saved(login, world, convo, name, data, tmp_path):
    client = login(world.patient_user)
    r = client.post(reverse("message_send", args=[convo.pk]), {"body": "see file", "files": [upload(name, data)]})
    assert r.status_code == 400
    assert b"errorlist" in r.content
    assert not Message.objects.exists() and not Attachment.objects.exists()
    assert not (tmp_path / "attachments").exists()


def test_plain_text_and_csv_allowed():
    assert attachments.detect(upload("bp.csv", b"date,sys,dia\n2026-01-01,120,80\n"))[0] == "text/csv"
    assert attachments.detect(upload("notes.txt", "Aloha — ok".encode()))[0] == "text/plain"
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    assert attachments.detect(upload("scan.bin", pdf)) == ("application/pdf", ".pdf")
    assert attachments.safe_name("../../evil.html", ".pdf") == "evil.pdf"


def test_limits(settings):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="at most 5"):
        attachments.validate([upload(f"{i}.png", png_bytes()) for i in range(6)])
    big = upload("big.png", png_bytes())
    big.size = attachments.MAX_BYTES + 1
    with pytest.raises(ValidationError, match="10 MB"):
        attachments.validate([big])


def test_attachment_isolation(login, world, convo):
    message = threads.message_send(thread=convo, sender=world.patient_user, body="",
                                   files=[upload("x.png", png_bytes())])
    att = message.attachments.get()
    url = reverse("message_attachment", args=[att.pk])
    # Another patient with a portal login.
    from mahalo.tests.factories import UserFactory

    other = world.cardiac_patients[1]
    other.user = UserFactory()
    other.save()
    assert login(other.user).get(url).status_code == 404
    assert login(world.other_clinician).get(url).status_code == 404
    assert login(world.outsider).get(url).status_code == 404
    assert login(world.patient_user).get(url).status_code == 200
    assert not AuditEvent.objects.filter(action="read", object_id=str(att.pk), actor=world.other_clinician).exists()


def test_metabolic_attachment_hidden_from_cardiac_clinician(login, world):
    staff = StaffMember.objects.get(user=world.other_clinician)
    thread = threads.thread_default_for(patient=world.metabolic_patients[0], staff=staff,
                                        actor=world.other_clinician)
    message = threads.message_send(thread=thread, sender=world.other_clinician, body="",
                                   files=[upload("lab.png", png_bytes())])
    url = reverse("message_attachment", args=[message.attachments.get().pk])
    assert login(world.clinician).get(url).status_code == 404
    assert login(world.other_clinician).get(url).status_code == 200
