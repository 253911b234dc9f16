import pytest

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/patients/patient/"


def listed(response):
    return {p.pk for p in response.context["cl"].result_list}


def test_it_requires_login(client, world):
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_clinician_sees_exactly_their_programs_patients_in_admin(login, world):
    response = login(world.clinician).get(CHANGELIST)
    assert response.status_code == 200
    assert listed(response) == {p.pk for p in world.cardiac_patients}


def test_other_program_and_tenant_patients_404_in_admin(login, world):
    client = login(world.clinician)
    for target in (world.metabolic_patients[0], world.foreign_patients[0]):
        response = client.get(f"{CHANGELIST}{target.pk}/change/")
        # Django admin answers a missing object with a redirect to the index and a message: same here.
        assert (response.status_code, response["Location"]) == (302, "/admin/")
        index = client.get("/admin/").content.decode()
        # By full name: a last name alone can be a word of the page ("Chang" in "Change password"); the id is
        # in Django's "doesn't exist" message, which says nothing more than the 404 does.
        assert target.full_name not in index


def test_outsider_admin_sees_only_their_tenant(login, world):
    response = login(world.outsider).get(CHANGELIST)
    assert listed(response) == {p.pk for p in world.foreign_patients}
    programs = login(world.outsider).get("/admin/patients/program/")
    assert {p.pk for p in programs.context["cl"].result_list} == {world.other_program.pk}


def test_lead_sees_the_project(login, world):
    response = login(world.lead).get(CHANGELIST)
    assert listed(response) == {p.pk for p in world.cardiac_patients + world.metabolic_patients}


def test_patients_cannot_be_deleted_from_admin(login, world):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root@t.test", "pw-long-enough-1")
    from conftest import enrol_totp

    enrol_totp(root)
    response = login(root).get(f"{CHANGELIST}{world.me.pk}/delete/")
    assert response.status_code == 403


def test_admin_edit_is_audited(login, world):
    from mahalo.models import AuditEvent

    target = world.cardiac_patients[1]
    client = login(world.lead)
    page = client.get(f"{CHANGELIST}{target.pk}/change/")
    assert page.status_code == 200
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    data = {k: (str(v) if k.endswith("phone") else v) for k, v in data.items()}
    data.update({"first_name": "Renamed", "project": world.project.pk, "program": world.metabolic.pk,
                 "date_of_birth": target.date_of_birth.isoformat(), "user": ""})
    for prefix in ("flags", "enrollments"):  # the inline formsets' management forms
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(f"{CHANGELIST}{target.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    target.refresh_from_db()
    assert target.first_name == "Renamed"
    assert AuditEvent.objects.filter(action="update", patient=target, metadata__via="admin").exists()
    # A program change in admin still goes through the move service: history kept.
    from patients.models import ProgramEnrollment

    assert target.program == world.metabolic
    assert ProgramEnrollment.objects.get(patient=target, ended_at=None).program == world.metabolic


def test_program_dropdown_offers_only_the_users_programs(login, world):
    page = login(world.clinician).get(f"{CHANGELIST}{world.me.pk}/change/")
    choices = {str(pk) for pk, _ in page.context["adminform"].form.fields["program"].choices if pk}
    assert choices == {str(world.cardiac.pk)}
