import pytest

pytestmark = pytest.mark.django_db


def names(response):
    return {p.pk for p in response.context["page"].object_list}


def test_it_requires_login(client, world):
    response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_program_clinician_sees_exactly_their_programs_patients(login, world):
    response = login(world.clinician).get("/patients/")
    assert response.status_code == 200
    assert names(response) == {p.pk for p in world.cardiac_patients}
    body = response.content.decode()
    for p in world.metabolic_patients + world.foreign_patients:
        assert f"/patients/{p.pk}/" not in body


def test_global_lead_sees_the_whole_project_and_nothing_of_the_other_tenant(login, world):
    response = login(world.lead).get("/patients/")
    assert names(response) == {p.pk for p in world.cardiac_patients + world.metabolic_patients}


def test_other_tenant_admin_sees_only_their_tenant(login, world):
    response = login(world.outsider).get("/patients/")
    assert names(response) == {p.pk for p in world.foreign_patients}


def test_patient_gets_404_on_the_staff_registry(login, world):
    assert login(world.patient_user).get("/patients/").status_code == 404


def test_filter_by_program_cannot_reach_a_program_outside_scope(login, world):
    response = login(world.clinician).get("/patients/", {"program": str(world.metabolic.pk)})
    assert names(response) == set()


def test_search_and_status_filter(login, world):
    target = world.cardiac_patients[1]
    target.status = "paused"
    target.save()
    client = login(world.clinician)
    assert names(client.get("/patients/", {"q": target.last_name[:4]})) >= {target.pk}
    assert names(client.get("/patients/", {"status": "paused"})) == {target.pk}


def test_archived_patients_hidden_unless_asked(login, world):
    archived = world.cardiac_patients[2]
    archived.status = "archived"
    archived.save()
    client = login(world.clinician)
    assert archived.pk not in names(client.get("/patients/"))
    assert names(client.get("/patients/", {"status": "archived"})) == {archived.pk}


def test_htmx_request_gets_the_table_fragment_only(login, world):
    response = login(world.clinician).get("/patients/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="results"' in body and "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_query_count_does_not_grow_with_patients(login, world, django_assert_max_num_queries):
    from patients.tests.factories import PatientFactory

    client = login(world.clinician)
    client.get("/patients/")  # warm session
    with django_assert_max_num_queries(20) as few:
        client.get("/patients/")
    PatientFactory.create_batch(30, program=world.cardiac)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/patients/")


def test_list_is_audited(login, world):
    from mahalo.models import AuditEvent

    login(world.clinician).get("/patients/", {"q": "x"})
    event = AuditEvent.objects.get(action="list", resource="patients")
    assert event.actor == world.clinician and event.metadata["filters"] == {"q": "x"}


@pytest.mark.parametrize("field", ["mrn", "email", "phone", "first_name"])
def test_search_matches_part_of_any_identifier_case_insensitively(login, world, field):
    target = world.cardiac_patients[2]
    target.mrn = "CR-00417"
    target.save()
    value = str(getattr(target, field))
    fragment = value[1:-1].lower() if field != "phone" else value[-6:]
    found = names(login(world.clinician).get("/patients/", {"q": fragment}))
    assert target.pk in found


def test_search_terms_all_have_to_match(login, world):
    target = world.cardiac_patients[1]
    found = names(login(world.clinician).get("/patients/", {"q": f"{target.first_name} {target.last_name}"}))
    assert target.pk in found
    assert names(login(world.clinician).get("/patients/", {"q": f"{target.first_name} zzzqqq"})) == set()
