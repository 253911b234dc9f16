"""Create, update, archive, filters and search through /api/v1/patients/."""

import pytest

from mahalo.models import AuditEvent
from patients.models import Patient, ProgramEnrollment

pytestmark = pytest.mark.django_db
LIST = "/api/v1/patients/"


def ids(response):
    return {row["id"] for row in response.json()["results"]}


def new_patient(world, **extra):
    return {"first_name": "Lani", "last_name": "Kealoha", "program": str(world.cardiac.pk),
            "date_of_birth": "1958-03-02", "phone": "(808) 555-0199", "email": "lani@example.test",
            "flags": ["HIGH_RISK"], **extra}


def test_clinician_creates_a_patient_in_their_program(api_login, world):
    response = api_login(world.clinician).post(LIST, new_patient(world), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+18085550199" and body["flags"] == ["HIGH_RISK"]
    patient = Patient.objects.get(pk=body["id"])
    assert patient.project == world.project
    assert ProgramEnrollment.objects.filter(patient=patient, program=world.cardiac, ended_at=None).exists()
    assert AuditEvent.objects.filter(action="write", patient=patient, metadata__via="api").exists()


def test_create_outside_scope_or_with_bad_input_is_400_with_field_errors(api_login, world):
    api = api_login(world.clinician)
    response = api.post(LIST, new_patient(world, program=str(world.metabolic.pk)), format="json")
    assert response.status_code == 400 and "program" in response.json()
    response = api.post(LIST, new_patient(world, phone="12", email="nope"), format="json")
    assert response.status_code == 400 and {"phone", "email"} <= set(response.json())
    # Model rules (checked once the fields themselves parse) answer 400 too, never 500.
    response = api.post(LIST, new_patient(world, date_of_birth="2999-01-01"), format="json")
    assert response.status_code == 400 and "date_of_birth" in response.json()
    assert not Patient.objects.filter(last_name="Kealoha").exists()


def test_roles_without_write_and_patients_cannot_create(api_login, world):
    assert api_login(world.dietitian).post(LIST, new_patient(world), format="json").status_code == 403
    assert api_login(world.patient_user).post(LIST, new_patient(world), format="json").status_code == 403


def test_partial_update_changes_fields_and_moves_program_with_history(api_login, world):
    target = world.cardiac_patients[1]
    api = api_login(world.lead)
    response = api.patch(f"{LIST}{target.pk}/", {"preferred_name": "Sunny", "program": str(world.metabolic.pk),
                                                "move_reason": "Diabetes focus"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["program"]["name"] == "Metabolic Health"
    target.refresh_from_db()
    assert target.preferred_name == "Sunny" and target.program == world.metabolic
    assert ProgramEnrollment.objects.get(patient=target, ended_at=None).reason == "Diabetes focus"
    # The cardiac clinician lost the patient with the move.
    assert api_login(world.clinician).get(f"{LIST}{target.pk}/").status_code == 404


def test_update_outside_scope_is_404_and_bad_values_400(api_login, world):
    api = api_login(world.clinician)
    assert api.patch(f"{LIST}{world.metabolic_patients[0].pk}/", {"notes": "x"}, format="json").status_code == 404
    assert api.patch(f"{LIST}{world.foreign_patients[0].pk}/", {"notes": "x"}, format="json").status_code == 404
    bad = api.patch(f"{LIST}{world.cardiac_patients[1].pk}/", {"bp_goal_systolic": 120}, format="json")
    assert bad.status_code == 400 and "bp_goal_diastolic" in bad.json()


def test_patient_cannot_patch_their_record_through_staff_api(api_login, world):
    assert api_login(world.patient_user).patch(f"{LIST}{world.me.pk}/", {"notes": "x"},
                                               format="json").status_code == 403


def test_archive(api_login, world):
    target = world.cardiac_patients[2]
    assert api_login(world.dietitian).post(f"{LIST}{world.metabolic_patients[0].pk}/archive/").status_code == 403
    response = api_login(world.clinician).post(f"{LIST}{target.pk}/archive/", {"reason": "moved away"},
                                               format="json")
    assert response.status_code == 200 and response.json()["status"] == "archived"
    assert AuditEvent.objects.filter(action="archive", patient=target).exists()
    # Archived records leave the default list but stay reachable by id and with status=all.
    api = api_login(world.clinician)
    assert str(target.pk) not in ids(api.get(LIST))
    assert str(target.pk) in ids(api.get(LIST, {"status": "all"}))
    assert api.get(f"{LIST}{target.pk}/").status_code == 200


def test_filters_and_search_match_the_registry_page(api_login, login, world):
    from guardian.shortcuts import assign_perm

    from patients.models import PatientFlag

    flagged = world.cardiac_patients[3]
    PatientFlag.objects.create(patient=flagged, flag="FALL_RISK")
    api = api_login(world.lead)
    for params in ({"flag": "FALL_RISK"}, {"q": flagged.last_name}, {"program": str(world.metabolic.pk)},
                   {"status": "paused"}, {"no_data_days": "3"}):
        page = login(world.lead).get("/patients/", params)
        assert ids(api.get(LIST, params)) == {str(p.pk) for p in page.context["page"].object_list}, params
    assert ids(api.get(LIST, {"flag": "FALL_RISK"})) == {str(flagged.pk)}
    assert api.get(LIST, {"no_data_days": "zero"}).status_code == 400
    # A clinician filtering on another program's id gets nothing, not an error that reveals it.
    assert ids(api_login(world.clinician).get(LIST, {"program": str(world.metabolic.pk)})) == set()
    assign_perm("view_patient", world.clinician, world.metabolic_patients[0])
    assert ids(api_login(world.clinician).get(LIST, {"program": str(world.metabolic.pk)})) == {
        str(world.metabolic_patients[0].pk)}
