import pytest

from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_requires_login(client, world):
    assert client.get("/portal/").status_code == 302


def test_patient_sees_only_themselves(login, world):
    response = login(world.patient_user).get("/portal/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Kai" in body
    for other in world.cardiac_patients[1:]:
        assert other.email not in body
    assert AuditEvent.objects.filter(action="read", patient=world.me, metadata__via="portal").exists()


def test_patient_lands_on_portal_from_home(login, world):
    response = login(world.patient_user).get("/")
    assert response.status_code == 302 and response["Location"] == "/portal/"


def test_staff_have_no_portal(login, world):
    assert login(world.clinician).get("/portal/").status_code == 404
