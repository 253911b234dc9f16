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


def test_filter_by_flag(login, world):
    from patients.models import PatientFlag

    PatientFlag.objects.create(patient=world.cardiac_patients[1], flag="HIGH_RISK")
    PatientFlag.objects.create(patient=world.metabolic_patients[0], flag="HIGH_RISK")
    assert names(login(world.clinician).get("/patients/", {"flag": "HIGH_RISK"})) == {world.cardiac_patients[1].pk}
    bad = login(world.clinician).get("/patients/", {"flag": "NOPE"})
    assert bad.status_code == 200 and "flag" in bad.context["errors"]


def test_filter_by_care_team_member(login, world):
    from mahalo.models import StaffMember
    from patients.models import CareTeamLink

    dietitian = StaffMember.objects.get(user=world.dietitian)
    CareTeamLink.objects.create(project=world.project, patient=world.cardiac_patients[2], staff=dietitian,
                                status="active")
    CareTeamLink.objects.create(project=world.project, patient=world.cardiac_patients[3], staff=dietitian,
                                status="ended")
    response = login(world.clinician).get("/patients/", {"care_team": str(dietitian.pk)})
    assert names(response) == {world.cardiac_patients[2].pk}
    # The choices offered are the user's own tenant's staff only.
    offered = {m.user for m in response.context["care_team_choices"]}
    assert world.dietitian in offered and world.outsider not in offered


def test_filter_no_data_in_n_days(login, world):
    from datetime import timedelta

    from django.utils import timezone

    from patients.models import Patient

    fresh, stale = world.cardiac_patients[1], world.cardiac_patients[2]
    Patient.objects.filter(pk=fresh.pk).update(last_data_at=timezone.now() - timedelta(hours=5))
    Patient.objects.filter(pk=stale.pk).update(last_data_at=timezone.now() - timedelta(days=10))
    found = names(login(world.clinician).get("/patients/", {"no_data_days": "3"}))
    assert stale.pk in found and fresh.pk not in found
    assert world.cardiac_patients[3].pk in found  # never sent data
    bad = login(world.clinician).get("/patients/", {"no_data_days": "-2"})
    assert "no_data_days" in bad.context["errors"]


def test_export_equals_the_visible_list(login, world):
    import csv
    import io

    from mahalo.models import AuditEvent
    from patients.tests.factories import PatientFactory

    PatientFactory.create_batch(60, program=world.cardiac)  # more than one page
    client = login(world.lead)
    params = {"program": str(world.cardiac.pk), "sort": "-name"}
    rows, page = [], 1
    while True:
        response = client.get("/patients/", {**params, "page": page})
        rows += [f"{p.last_name}, {p.first_name}" for p in response.context["page"].object_list]
        if not response.context["page"].has_next():
            break
        page += 1
    export = client.get("/patients/export.csv", params)
    assert export.status_code == 200
    lines = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert lines[0][:5] == ["Name", "MRN", "Age", "Program", "Status"]
    assert [line[0] for line in lines[1:]] == rows
    assert AuditEvent.objects.filter(action="export", resource="patients", actor=world.lead).exists()
    # Only what the user may see: the clinician's export has no metabolic patients.
    mine = b"".join(login(world.clinician).get("/patients/export.csv").streaming_content).decode()
    assert "Metabolic Health" not in mine and "Cardiac Rehab" in mine


def test_export_requires_login(client, world):
    assert client.get("/patients/export.csv").status_code == 302


def test_registry_query_count_is_the_same_for_10_and_500_patients(login, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mahalo.models import StaffMember
    from patients.models import CareTeamLink, PatientFlag
    from patients.tests.factories import PatientFactory

    def count(client):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/patients/", {"status": "all"}).status_code == 200
        return len(ctx.captured_queries)

    def grow(n):
        made = PatientFactory.create_batch(n, program=world.cardiac)
        PatientFlag.objects.bulk_create([PatientFlag(patient=p, flag="RPM_ENROLLED") for p in made])

    grow(10 - len(world.cardiac_patients))
    staff = StaffMember.objects.get(user=world.dietitian)
    CareTeamLink.objects.create(project=world.project, patient=world.cardiac_patients[1], staff=staff,
                                status="active")
    client = login(world.clinician)
    client.get("/patients/")
    small = count(client)
    grow(490)
    client = login(world.clinician)
    client.get("/patients/")
    assert count(client) == small
