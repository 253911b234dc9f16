"""Recommendations: staff add and retire on the chart; the patient sees only their own active ones."""

import pytest

from clinical.models import Recommendation
from clinical.recommendations import recommendation_add
from mahalo.models import AuditEvent
from patients import timeline

pytestmark = pytest.mark.django_db


def tab(patient):
    return f"/patients/{patient.pk}/recommendations/"


def test_login_required(client, world):
    for path in (tab(world.me), "/portal/recommendations/"):
        assert client.get(path).status_code == 302
    assert client.post(tab(world.me), {"domain": "sleep", "content": "x"}).status_code == 302
    assert Recommendation.objects.count() == 0


def test_staff_add_and_the_patient_sees_it_with_author_and_date(login, world):
    client = login(world.clinician)
    response = client.post(tab(world.me), {"domain": "physical_activity", "content": "Walk 20 minutes after lunch."})
    assert response.status_code == 302
    rec = Recommendation.objects.get()
    assert rec.created_by == world.clinician and rec.patient == world.me and rec.is_active
    assert AuditEvent.objects.filter(metadata__event="recommendation_add", object_id=str(rec.pk)).exists()
    portal = login(world.patient_user).get("/portal/recommendations/").content.decode()
    assert "Walk 20 minutes after lunch." in portal and "Physical activity" in portal
    assert world.clinician.get_full_name() in portal
    assert "Walk 20 minutes" in login(world.patient_user).get("/portal/vitals/").content.decode()


def test_portal_shows_only_my_own(login, world):
    recommendation_add(patient=world.cardiac_patients[1], domain="sleep", content="Someone else's advice",
                       actor=world.clinician)
    recommendation_add(patient=world.me, domain="nutrition", content="Less salt", actor=world.clinician)
    page = login(world.patient_user).get("/portal/recommendations/").content.decode()
    assert "Less salt" in page and "Someone else" not in page


def test_retired_are_hidden_from_the_patient_and_kept_on_the_chart(login, world):
    rec = recommendation_add(patient=world.me, domain="stress", content="Box breathing", actor=world.clinician)
    client = login(world.clinician)
    assert client.post(f"{tab(world.me)}{rec.pk}/retire/", {"confirm": "yes"}).status_code == 302
    rec.refresh_from_db()
    assert not rec.is_active
    assert "Box breathing" not in login(world.patient_user).get("/portal/recommendations/").content.decode()
    assert "Retired (1)" in login(world.clinician).get(tab(world.me)).content.decode()
    assert AuditEvent.objects.filter(metadata__event="recommendation_retire").exists()


def test_form_errors_keep_input(login, world):
    response = login(world.clinician).post(tab(world.me), {"domain": "", "content": "Keep this text"})
    assert response.status_code == 400
    assert "Keep this text" in response.content.decode()
    assert Recommendation.objects.count() == 0


def test_scope_and_roles(login, world):
    rec = recommendation_add(patient=world.me, domain="sleep", content="x", actor=world.clinician)
    other = login(world.other_clinician)
    assert other.get(tab(world.me)).status_code == 404
    assert other.post(tab(world.me), {"domain": "sleep", "content": "y"}).status_code == 404
    assert other.post(f"{tab(world.me)}{rec.pk}/retire/").status_code == 404
    assert login(world.outsider).get(tab(world.me)).status_code == 404
    dietitian = login(world.dietitian)
    patient = world.metabolic_patients[0]
    assert "Add a recommendation" not in dietitian.get(tab(patient)).content.decode()
    assert dietitian.post(tab(patient), {"domain": "sleep", "content": "z"}).status_code == 404
    assert login(world.patient_user).get(tab(world.me)).status_code == 404
    assert login(world.clinician).get("/portal/recommendations/").status_code == 404
    assert Recommendation.objects.count() == 1


def test_timeline_shows_recommendations(world):
    recommendation_add(patient=world.me, domain="medication", content="Take it with food", actor=world.clinician)
    entries, _ = timeline.feed(world.me)
    assert any(e.kind == "recommendation" and "Medication" in e.title for e in entries)
