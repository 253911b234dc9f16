"""Visit notes through HTTP: a note for a visit from its type's template, recent data pulled in on
request, signed (locked: edits refused, addenda allowed), shared summaries in the portal, the gate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from care.models import NoteAddendum, VisitNote
from clinical.tests.alert_helpers import bp
from mahalo.models import AuditEvent
from scheduling.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(world):
    from scheduling.tests.factories import book

    return book(world.cardiac_patients[1], world.clinician, visit_type=Visit.Type.REHAB_SESSION)


def _new(c, patient, **data):
    r = c.post(f"/patients/{patient.pk}/notes/new/", data)
    assert r.status_code == 302, r.content[:400]
    return VisitNote.objects.get(pk=r["Location"].rstrip("/").rsplit("/", 1)[1])


def test_a_note_for_a_visit_uses_its_template_then_signs_and_locks(world, login, visit):
    patient = visit.patient
    bp(patient, 150, 95, timezone.now() - timedelta(hours=3))
    c = login(world.clinician)
    note = _new(c, patient, visit=str(visit.pk))
    assert (note.visit, note.template, note.status) == (visit, "rehab", "draft")
    url = f"/patients/{patient.pk}/notes/{note.pk}/"
    page = c.get(url)
    assert page.status_code == 200 and b"Progress toward goals" in page.content
    r = c.post(url, {"action": "pull", "title": note.title, "section_session": "Treadmill 20 min"})
    assert r.status_code == 302
    note.refresh_from_db()
    assert note.sections["session"] == "Treadmill 20 min"
    assert "Blood pressure: 150/95" in note.sections["objective"]  # pulled in on request
    assert c.post(url, {"action": "sign", "title": note.title, "section_session": "Treadmill 20 min",
                        "section_objective": note.sections["objective"], "shareable": "on"}).status_code == 302
    note.refresh_from_db()
    assert note.is_signed and note.signed_by == world.clinician and note.signed_at and note.signed_name
    # Locked: an edit is refused (400, nothing changed), an addendum is added.
    r = c.post(url, {"action": "save", "title": "Changed", "section_session": "Rewritten"})
    assert r.status_code == 400 and b"locked" in r.content
    note.refresh_from_db()
    assert note.sections["session"] == "Treadmill 20 min" and note.title != "Changed"
    assert c.post(url, {"action": "addendum", "body": ""}).status_code == 400
    assert c.post(url, {"action": "addendum", "body": "BP rechecked: 132/84."}).status_code == 302
    assert NoteAddendum.objects.get(note=note).author_name == world.clinician.get_full_name()
    assert b"BP rechecked" in c.get(url).content
    events = set(AuditEvent.objects.filter(resource="care.note", object_id=str(note.pk))
                 .values_list("metadata__event", flat=True))
    assert {"note_created", "note_data_pulled", "note_signed", "note_addendum"} <= events
    assert AuditEvent.objects.filter(action="read", object_id=str(note.pk)).exists()


def test_free_standing_soap_note_and_bad_input(world, login):
    patient = world.cardiac_patients[0]
    c = login(world.clinician)
    note = _new(c, patient)
    assert note.visit is None and note.template == "soap"
    assert c.post(f"/patients/{patient.pk}/notes/new/", {"template": "nope"}).status_code == 400
    assert c.post(f"/patients/{patient.pk}/notes/new/", {"visit": "not-a-visit"}).status_code == 400
    url = f"/patients/{patient.pk}/notes/{note.pk}/"
    r = c.post(url, {"action": "sign", "title": note.title})
    assert r.status_code == 400 and b"empty note" in r.content
    r = c.post(url, {"action": "save", "title": "", "section_plan": "kept words"})
    assert r.status_code == 400 and b"kept words" in r.content  # nothing typed is lost


def test_notes_are_gated(world, login, client, visit):
    patient = visit.patient
    note = _new(login(world.clinician), patient)
    url = f"/patients/{patient.pk}/notes/{note.pk}/"
    other = login(world.other_clinician)
    assert other.get(url).status_code == 404
    assert other.post(url, {"action": "save", "title": "x"}).status_code == 404
    assert other.get(f"/patients/{patient.pk}/notes/").status_code == 404
    # Another patient's URL with this note's id: 404 too.
    assert login(world.clinician).get(f"/patients/{world.cardiac_patients[2].pk}/notes/{note.pk}/").status_code == 404
    assert login(world.outsider).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
    assert login(world.patient_user).get(url).status_code == 404
    note.refresh_from_db()
    assert note.title != "x"


def test_the_patient_sees_signed_shared_summaries_only(world, login):
    me = world.me
    c = login(world.clinician)
    shared, draft = _new(c, me, title="Shared one"), _new(c, me, title="Draft one")
    private = _new(c, me, title="Private")
    for n, share in ((shared, "on"), (private, "")):
        c.post(f"/patients/{me.pk}/notes/{n.pk}/", {"action": "sign", "title": n.title, "section_plan": "Walk daily",
                                                    **({"shareable": share} if share else {})})
    c.post(f"/patients/{me.pk}/notes/{draft.pk}/", {"action": "save", "title": draft.title, "shareable": "on",
                                                    "section_plan": "x"})
    other = _new(c, world.cardiac_patients[1], title="Someone else")
    c.post(f"/patients/{other.patient.pk}/notes/{other.pk}/", {"action": "sign", "title": "x", "section_plan": "y",
                                                              "shareable": "on"})
    p = login(world.patient_user)  # the same test client, now signed in as the patient
    page = p.get("/portal/documents/").content.decode()
    assert "Shared one" in page and "Draft one" not in page and "Private" not in page
    assert p.get(f"/portal/documents/summaries/{shared.pk}/").status_code == 200
    assert p.get(f"/portal/documents/summaries/{draft.pk}/").status_code == 404
    assert p.get(f"/portal/documents/summaries/{private.pk}/").status_code == 404
    assert p.get(f"/portal/documents/summaries/{other.pk}/").status_code == 404
    from messaging.models import Notification

    assert Notification.objects.filter(recipient=world.patient_user, event_type="visit_summary_shared").exists()
