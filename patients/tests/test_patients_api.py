import uuid

import pytest

from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db
LIST = "/api/v1/patients/"


def ids(response):
    return {row["id"] for row in response.json()["results"]}


def test_it_requires_login(world):
    from rest_framework.test import APIClient

    api = APIClient()
    assert api.get(LIST).status_code == 401
    assert api.get(f"{LIST}{world.me.pk}/").status_code == 401


def test_clinician_lists_exactly_their_programs_patients(api_login, world):
    response = api_login(world.clinician).get(LIST)
    assert response.status_code == 200
    assert ids(response) == {str(p.pk) for p in world.cardiac_patients}


def test_lead_lists_whole_project(api_login, world):
    response = api_login(world.lead).get(LIST)
    assert ids(response) == {str(p.pk) for p in world.cardiac_patients + world.metabolic_patients}


def test_patient_lists_only_themselves(api_login, world):
    response = api_login(world.patient_user).get(LIST)
    assert ids(response) == {str(world.me.pk)}
    assert api_login(world.patient_user).get(f"{LIST}{world.me.pk}/").status_code == 200
    assert api_login(world.patient_user).get(f"{LIST}{world.cardiac_patients[1].pk}/").status_code == 404


@pytest.mark.parametrize("which", ["metabolic_patients", "foreign_patients"])
def test_detail_outside_scope_is_404(api_login, world, which):
    target = getattr(world, which)[0]
    response = api_login(world.clinician).get(f"{LIST}{target.pk}/")
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="denied", patient=target).exists()


@pytest.mark.parametrize("bad", [uuid.uuid4(), "not-a-uuid"])
def test_missing_or_malformed_id_is_404(api_login, world, bad):
    assert api_login(world.clinician).get(f"{LIST}{bad}/").status_code == 404


def test_detail_returns_the_record_and_is_audited(api_login, world):
    target = world.cardiac_patients[1]
    response = api_login(world.clinician).get(f"{LIST}{target.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["last_name"] == target.last_name
    assert body["program"]["name"] == "Cardiac Rehab"
    event = AuditEvent.objects.get(action="read", patient=target)
    assert event.metadata["via"] == "api" and event.actor == world.clinician


def test_list_is_audited_with_the_ids_it_returned(api_login, world):
    api_login(world.clinician).get(LIST)
    event = AuditEvent.objects.get(action="list", resource="patients")
    assert set(event.metadata["ids"]) == {str(p.pk) for p in world.cardiac_patients}


def test_records_are_never_deleted(api_login, world):
    # The role has no delete at all (403); and the endpoint offers none to anyone (405).
    assert api_login(world.lead).delete(f"{LIST}{world.me.pk}/").status_code == 403
    from django.contrib.auth import get_user_model

    from conftest import enrol_totp

    root = get_user_model().objects.create_superuser("root@t.test", "pw-long-enough-1")
    enrol_totp(root)
    assert api_login(root).delete(f"{LIST}{world.me.pk}/").status_code == 405


def test_list_query_count_constant(api_login, world, django_assert_max_num_queries):
    from patients.tests.factories import PatientFactory

    api = api_login(world.lead)
    api.get(LIST)
    with django_assert_max_num_queries(30) as first:
        api.get(LIST)
    PatientFactory.create_batch(20, program=world.cardiac)
    with django_assert_max_num_queries(len(first.captured_queries)):
        api.get(LIST)


def test_me_endpoint(api_login, world):
    body = api_login(world.patient_user).get("/api/v1/me/").json()
    assert body["kind"] == "patient" and body["patient_id"] == str(world.me.pk)
    body = api_login(world.clinician).get("/api/v1/me/").json()
    assert body["kind"] == "staff" and "patients:read" in body["permissions"]
