"""Referrals and excuse notes through HTTP: a referral with an attachment, its status changes with dates
and a task for the next step, its letter as PDF; an excuse note drafted, previewed, issued (stored PDF),
downloaded from the portal (audited), revoked; the gate (another program's patient is a 404)."""


import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from care.models import ExcuseNote, Referral, Task
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def _pdf_text(pdf: bytes) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    text = subprocess.run([shutil.which("pdftotext"), "-", "-"], input=pdf, capture_output=True,  # noqa: S603
                          check=True).stdout.decode()
    return " ".join(text.split())  # lines wrap anywhere


def test_a_referral_moves_through_its_states_with_a_task_for_each_next_step(world, login):
    patient = world.cardiac_patients[1]
    c = login(world.clinician)
    url = f"/patients/{patient.pk}/referrals/"
    bad = c.post(url, {"specialty": "", "reason": "kept reason", "priority": "SOON"})
    assert bad.status_code == 400 and b"kept reason" in bad.content and b"Name the specialty" in bad.content
    evil = SimpleUploadedFile("x.html", b"<html><script>alert(1)</script></html>", content_type="text/html")
    assert c.post(url, {"specialty": "Cardiology", "reason": "r", "priority": "URGENT", "files": evil}).status_code \
        == 400
    r = c.post(url, {"specialty": "Electrophysiology", "referred_to": "Queen's Heart Clinic", "priority": "URGENT",
                     "reason": "Recurrent palpitations; AF on patch monitor.", "notes": "On apixaban.",
                     "files": SimpleUploadedFile("ecg.png", PNG, content_type="image/png")})
    assert r.status_code == 302
    ref = Referral.objects.get()
    assert (ref.status, ref.priority, ref.provider) == ("PENDING", "URGENT", world.clinician)
    task = Task.objects.get(source="referral", status="open")
    assert task.assignee == world.clinician and "Send the Electrophysiology referral" in task.title
    assert "Send the Electrophysiology" in c.get("/tasks/").content.decode()
    detail = f"/patients/{patient.pk}/referrals/{ref.pk}/"
    assert c.post(detail, {"status": "COMPLETED"}).status_code == 400  # PENDING can't jump to COMPLETED
    assert c.post(detail, {"status": "SENT"}).status_code == 302
    ref.refresh_from_db()
    assert ref.status == "SENT" and ref.sent_at is not None
    task.refresh_from_db()
    assert task.status == "done"
    assert "accepted" in Task.objects.get(source="referral", status="open").title
    assert c.post(detail, {"status": "CANCELLED", "reason": ""}).status_code == 400
    assert c.post(detail, {"status": "ACCEPTED"}).status_code == 302
    ref.refresh_from_db()
    assert ref.accepted_at and "consult report" in Task.objects.get(source="referral", status="open").title
    # The attachment downloads (gated), the letter is a PDF naming the patient.
    att = ref.attachments.get()
    down = c.get(f"/patients/{patient.pk}/referrals/files/{att.pk}/")
    assert down.status_code == 200 and b"".join(down.streaming_content) == PNG
    letter = c.get(f"/patients/{patient.pk}/referrals/{ref.pk}/letter.pdf")
    assert letter.status_code == 200 and letter["Content-Type"] == "application/pdf"
    text = _pdf_text(letter.content)
    assert patient.full_name in text and "Electrophysiology" in text and "ecg.png" in text
    assert AuditEvent.objects.filter(resource="care.referral", metadata__event="referral_letter").exists()
    assert c.post(detail, {"status": "COMPLETED"}).status_code == 302
    assert not Task.objects.filter(source="referral", status="open").exists()


def test_referrals_are_gated(world, login, client):
    patient = world.cardiac_patients[1]
    login(world.clinician).post(f"/patients/{patient.pk}/referrals/", {"specialty": "Cardiology", "reason": "r",
                                                                       "priority": "ROUTINE"})
    ref = Referral.objects.get()
    for c in (login(world.other_clinician), login(world.outsider)):
        assert c.get(f"/patients/{patient.pk}/referrals/{ref.pk}/").status_code == 404
        assert c.get(f"/patients/{patient.pk}/referrals/{ref.pk}/letter.pdf").status_code == 404
        assert c.post(f"/patients/{patient.pk}/referrals/{ref.pk}/", {"status": "SENT"}).status_code == 404
        assert c.post(f"/patients/{patient.pk}/referrals/", {"specialty": "x", "reason": "y"}).status_code in (403, 404)
    # The id under another (visible) patient's URL: 404.
    assert login(world.clinician).get(f"/patients/{world.cardiac_patients[2].pk}/referrals/{ref.pk}/letter.pdf"
                                      ).status_code == 404
    assert login(world.patient_user).get(f"/patients/{patient.pk}/referrals/").status_code == 404
    client.logout()
    assert client.get(f"/patients/{patient.pk}/referrals/").status_code == 302
    ref.refresh_from_db()
    assert ref.status == "PENDING"


def test_an_excuse_note_is_drafted_issued_downloaded_and_revoked(world, login, tmp_path):
    me = world.me
    c = login(world.clinician)
    new = f"/patients/{me.pk}/excuse-notes/new/"
    bad = c.post(new, {"type": "WORK", "start_date": "2026-12-10", "end_date": "2026-12-01", "reason": "kept"})
    assert bad.status_code == 400 and b"can&#x27;t be before" in bad.content and b"kept" in bad.content
    r = c.post(new, {"type": "WORK", "start_date": "2026-12-07", "end_date": "2026-12-11",
                     "reason": "Recovering from a cardiac procedure.", "restrictions": "No lifting over 10 lb."})
    assert r.status_code == 302
    note = ExcuseNote.objects.get()
    assert note.status == "DRAFT" and note.provider == world.clinician
    preview = c.get(f"/patients/{me.pk}/excuse-notes/{note.pk}/note.pdf")
    assert preview.status_code == 200 and "DRAFT" in _pdf_text(preview.content)
    p = login(world.patient_user)
    assert p.get(f"/portal/documents/excuse-notes/{note.pk}/note.pdf").status_code == 404  # a draft: not yet
    c = login(world.clinician)
    detail = f"/patients/{me.pk}/excuse-notes/{note.pk}/"
    assert c.post(detail, {"action": "issue"}).status_code == 302
    note.refresh_from_db()
    assert note.status == "SENT" and note.sent_at and bytes(note.issued_pdf).startswith(b"%PDF-")
    edit = c.post(detail, {"action": "save", "type": "WORK", "start_date": "2026-12-07", "end_date": "2026-12-31",
                           "reason": "changed"})
    assert edit.status_code == 400
    p = login(world.patient_user)
    assert "Work note" in p.get("/portal/documents/").content.decode()
    down = p.get(f"/portal/documents/excuse-notes/{note.pk}/note.pdf")
    assert down.status_code == 200 and down["Content-Type"] == "application/pdf"
    assert down.content == bytes(note.issued_pdf)  # as issued, not re-rendered
    text = _pdf_text(down.content)
    assert "Kai Portal" in text and "excused from work" in text and "No lifting over 10 lb." in text
    assert "DRAFT" not in text
    (tmp_path / "excuse.pdf").write_bytes(down.content)
    downloads = AuditEvent.objects.filter(resource="care.excuse_note", metadata__event="excuse_download",
                                          actor=world.patient_user)
    assert downloads.count() == 1
    assert AuditEvent.objects.filter(resource="care.excuse_note", metadata__event="excuse_issued").exists()
    # Another patient can't download it.
    from mahalo.tests.factories import UserFactory
    from patients.tests.factories import PatientFactory

    stranger = UserFactory(email="other@p.test")
    PatientFactory(program=world.cardiac, user=stranger)
    assert login(stranger).get(f"/portal/documents/excuse-notes/{note.pk}/note.pdf").status_code == 404
    c = login(world.clinician)
    assert c.post(detail, {"action": "revoke", "reason": ""}).status_code == 400
    assert c.post(detail, {"action": "revoke", "reason": "Issued with the wrong dates."}).status_code == 302
    note.refresh_from_db()
    assert note.status == "EXPIRED" and note.revoked_by == world.clinician
    p = login(world.patient_user)
    assert p.get(f"/portal/documents/excuse-notes/{note.pk}/note.pdf").status_code == 404
    assert "Revoked" in p.get("/portal/documents/").content.decode()


def test_excuse_notes_are_gated(world, login):
    patient = world.cardiac_patients[1]
    login(world.clinician).post(f"/patients/{patient.pk}/excuse-notes/new/", {
        "type": "SCHOOL", "start_date": "2026-12-07", "end_date": "2026-12-08", "reason": "Flu"})
    note = ExcuseNote.objects.get()
    other = login(world.other_clinician)
    assert other.get(f"/patients/{patient.pk}/excuse-notes/{note.pk}/").status_code == 404
    assert other.get(f"/patients/{patient.pk}/excuse-notes/{note.pk}/note.pdf").status_code == 404
    assert other.post(f"/patients/{patient.pk}/excuse-notes/{note.pk}/", {"action": "issue"}).status_code == 404
    note.refresh_from_db()
    assert note.status == "DRAFT"


def test_pdfs_render_to_png(world, login, tmp_path):
    """The two documents as images (pdftoppm -png -r 60), for a look: written to tmp_path or
    $PDF_PREVIEW_DIR when set."""
    import os

    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils not installed")
    out = Path(os.environ.get("PDF_PREVIEW_DIR") or tmp_path)
    me = world.me
    c = login(world.clinician)
    c.post(f"/patients/{me.pk}/referrals/", {"specialty": "Endocrinology", "referred_to": "Dr. Lani Akana",
                                             "priority": "ROUTINE", "reason": "HbA1c 8.9% despite metformin."})
    ref = Referral.objects.get()
    c.post(f"/patients/{me.pk}/excuse-notes/new/", {"type": "SCHOOL", "start_date": "2026-12-07",
                                                    "end_date": "2026-12-09", "reason": "Acute illness."})
    note = ExcuseNote.objects.get()
    c.post(f"/patients/{me.pk}/excuse-notes/{note.pk}/", {"action": "issue"})
    for name, url in (("referral", f"/patients/{me.pk}/referrals/{ref.pk}/letter.pdf"),
                      ("excuse", f"/patients/{me.pk}/excuse-notes/{note.pk}/note.pdf")):
        pdf = c.get(url).content
        subprocess.run([shutil.which("pdftoppm"), "-png", "-r", "60", "-", str(out / name)], input=pdf,  # noqa: S603
                       check=True)
        assert (out / f"{name}-1.png").stat().st_size > 2000

