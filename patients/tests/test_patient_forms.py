"""Create and edit forms, status actions: inline errors, nothing typed lost, history kept."""

import pytest

from mahalo.models import AuditEvent
from patients.models import Patient, PatientFlag, ProgramEnrollment

pytestmark = pytest.mark.django_db


def form_data(world, **extra):
    return {"first_name": "Noe", "last_name": "Akana", "program": str(world.cardiac.pk), "sex": "female",
            "date_of_birth": "1960-05-04", "phone": "808-555-0123", "email": "noe@example.test", "country": "US",
            "flags": ["RPM_ENROLLED", "HIGH_RISK"], **extra}


def test_login_required(client, world):
    for path in ("/patients/new/", f"/patients/{world.me.pk}/edit/"):
        assert client.get(path).status_code == 302
    assert client.post(f"/patients/{world.me.pk}/status/", {"action": "archive"}).status_code == 302


def test_create_puts_the_patient_in_program_with_enrollment_flags_and_audit(login, world):
    client = login(world.clinician)
    assert client.get("/patients/new/").status_code == 200
    response = client.post("/patients/new/", form_data(world))
    patient = Patient.objects.get(last_name="Akana")
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"
    assert str(patient.phone) == "+18085550123"
    assert set(patient.flags.values_list("flag", flat=True)) == {"RPM_ENROLLED", "HIGH_RISK"}
    assert ProgramEnrollment.objects.get(patient=patient).program == world.cardiac
    assert AuditEvent.objects.filter(action="write", patient=patient).exists()
    assert patient.history.count() == 1


def test_errors_are_inline_and_nothing_typed_is_lost(login, world):
    data = form_data(world, email="not-an-email", phone="12", date_of_birth="2999-01-01",
                     bp_goal_systolic="130", notes="Prefers mornings")
    response = login(world.clinician).post("/patients/new/", data)
    assert response.status_code == 200
    form = response.context["form"]
    assert {"email", "phone"} <= set(form.errors)
    body = response.content.decode()
    assert 'value="Noe"' in body and "Prefers mornings" in body and 'value="not-an-email"' in body
    assert not Patient.objects.filter(last_name="Akana").exists()
    # Once the fields parse, the model's own rules show inline too.
    response = login(world.clinician).post("/patients/new/", form_data(world, date_of_birth="2999-01-01",
                                                                      bp_goal_systolic="130"))
    assert {"date_of_birth", "bp_goal_diastolic"} <= set(response.context["form"].errors)


def test_cannot_create_in_a_program_outside_scope(login, world):
    response = login(world.clinician).post("/patients/new/", form_data(world, program=str(world.metabolic.pk)))
    assert response.status_code == 200 and "program" in response.context["form"].errors
    assert login(world.dietitian).get("/patients/new/").status_code == 403


def test_edit_records_changes_moves_program_and_keeps_history(login, world):
    target = world.cardiac_patients[1]
    ProgramEnrollment.objects.create(patient=target, program=world.cardiac)
    client = login(world.lead)
    page = client.get(f"/patients/{target.pk}/edit/")
    assert page.status_code == 200
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    data.update({"first_name": target.first_name, "last_name": target.last_name, "program": str(world.metabolic.pk),
                 "move_reason": "Needs diabetes coaching", "notes": "Moved", "flags": ["DIABETES"],
                 "phone": str(target.phone), "sex": target.sex, "country": "US",
                 "date_of_birth": target.date_of_birth.isoformat()})
    response = client.post(f"/patients/{target.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    target.refresh_from_db()
    assert target.program == world.metabolic and target.notes == "Moved"
    history = list(ProgramEnrollment.objects.filter(patient=target).order_by("started_at"))
    assert [e.program for e in history] == [world.cardiac, world.metabolic]
    assert history[0].ended_at is not None and history[0].ended_by == world.lead
    assert history[1].reason == "Needs diabetes coaching"
    assert list(target.flags.values_list("flag", flat=True)) == ["DIABETES"]
    updates = AuditEvent.objects.filter(action="update", patient=target)
    assert any("notes" in e.metadata.get("fields", []) for e in updates)
    assert any(e.metadata.get("moved_to") == "Metabolic Health" for e in updates)


def test_edit_outside_scope_is_404(login, world):
    client = login(world.clinician)
    for target in (world.metabolic_patients[0], world.foreign_patients[0]):
        assert client.get(f"/patients/{target.pk}/edit/").status_code == 404
        assert client.post(f"/patients/{target.pk}/status/", {"action": "archive"}).status_code == 404
        target.refresh_from_db()
        assert target.status == "active"


def test_status_actions_archive_and_restore_never_delete(login, world):
    target = world.cardiac_patients[1]
    client = login(world.clinician)
    client.post(f"/patients/{target.pk}/status/", {"action": "archive", "confirm": "yes"})
    target.refresh_from_db()
    assert target.status == "archived"
    assert AuditEvent.objects.filter(action="archive", patient=target).exists()
    assert client.get(f"/patients/{target.pk}/").status_code == 200
    client.post(f"/patients/{target.pk}/status/", {"action": "restore"})
    target.refresh_from_db()
    assert target.status == "active"
    assert client.post(f"/patients/{target.pk}/status/", {"action": "delete"}).status_code == 302
    assert Patient.objects.filter(pk=target.pk).exists()


def test_flag_model_rejects_unknown_flags(world):
    from patients import services

    with pytest.raises(ValueError):
        services.patient_set_flags(patient=world.me, flags=["NOT_A_FLAG"])
    assert not PatientFlag.objects.filter(patient=world.me).exists()
