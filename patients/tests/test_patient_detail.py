import uuid

import pytest

from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def url(patient):
    return f"/patients/{patient.pk}/"


def test_it_requires_login(client, world):
    response = client.get(url(world.me))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_clinician_opens_a_patient_of_their_program(login, world):
    response = login(world.clinician).get(url(world.cardiac_patients[1]))
    assert response.status_code == 200
    assert world.cardiac_patients[1].last_name in response.content.decode()


@pytest.mark.parametrize("which", ["metabolic_patients", "foreign_patients"])
def test_another_programs_or_tenants_patient_is_404(login, world, which):
    target = getattr(world, which)[0]
    assert login(world.clinician).get(url(target)).status_code == 404


def test_missing_patient_is_the_same_404(login, world):
    assert login(world.clinician).get(f"/patients/{uuid.uuid4()}/").status_code == 404


def test_lead_opens_any_patient_of_the_project_but_not_the_other_tenant(login, world):
    client = login(world.lead)
    assert client.get(url(world.metabolic_patients[0])).status_code == 200
    assert client.get(url(world.foreign_patients[0])).status_code == 404


def test_patient_cannot_open_staff_chart_even_their_own(login, world):
    client = login(world.patient_user)
    assert client.get(url(world.me)).status_code == 404
    assert client.get(url(world.cardiac_patients[1])).status_code == 404


def test_each_view_writes_a_read_audit_event(login, world):
    client = login(world.clinician)
    target = world.cardiac_patients[1]
    client.get(url(target))
    client.get(url(target))
    events = AuditEvent.objects.filter(action="read", patient=target, actor=world.clinician)
    assert events.count() == 2
    assert events.first().actor_role == "staff:Clinician"
    assert events.first().project == world.project


def test_forbidden_view_is_audited_as_a_denial(login, world):
    target = world.foreign_patients[0]
    login(world.clinician).get(url(target))
    denial = AuditEvent.objects.get(action="denied", patient=target)
    assert denial.actor == world.clinician
    assert not AuditEvent.objects.filter(action="read", patient=target).exists()


def test_care_team_grant_widens_scope_to_that_patient_only(login, world):
    from guardian.shortcuts import assign_perm, remove_perm

    target = world.metabolic_patients[0]
    client = login(world.clinician)
    assert client.get(url(target)).status_code == 404
    assign_perm("view_patient", world.clinician, target)
    client = login(world.clinician)
    assert client.get(url(target)).status_code == 200
    assert client.get(url(world.metabolic_patients[1])).status_code == 404
    remove_perm("view_patient", world.clinician, target)
    assert login(world.clinician).get(url(target)).status_code == 404


def test_grant_never_crosses_tenants(login, world):
    from guardian.shortcuts import assign_perm

    target = world.foreign_patients[0]
    assign_perm("view_patient", world.clinician, target)
    assert login(world.clinician).get(url(target)).status_code == 404
