"""/api/v1/patients/<uuid>/care-team/, /api/v1/me/care-team/ and /api/v1/programs/, through HTTP."""

import pytest

from mahalo.tests.factories import staff
from patients.models import CareTeamLink
from patients.tests.factories import CareTeamLinkFactory

pytestmark = pytest.mark.django_db


def test_login_required(client, world):
    for url in (f"/api/v1/patients/{world.me.pk}/care-team/", "/api/v1/me/care-team/", "/api/v1/programs/"):
        assert client.get(url).status_code in (401, 403), url


def test_staff_see_every_link_of_a_patient_in_scope(api_login, world):
    CareTeamLinkFactory(patient=world.me, staff=staff(world.clinician), status=CareTeamLink.Status.ACTIVE)
    CareTeamLinkFactory(patient=world.me, staff=staff(world.dietitian), status=CareTeamLink.Status.REQUESTED)
    CareTeamLinkFactory(patient=world.cardiac_patients[1], staff=staff(world.lead), status=CareTeamLink.Status.ACTIVE)
    body = api_login(world.clinician).get(f"/api/v1/patients/{world.me.pk}/care-team/").json()
    assert {r["status"] for r in body["results"]} == {"active", "requested"}
    assert {r["staff"]["name"] for r in body["results"]} == {world.clinician.get_full_name(),
                                                             world.dietitian.get_full_name()}
    assert "email" not in body["results"][0]["staff"]


def test_other_program_and_tenant_are_404(api_login, world):
    assert api_login(world.clinician).get(
        f"/api/v1/patients/{world.metabolic_patients[0].pk}/care-team/").status_code == 404
    assert api_login(world.outsider).get(f"/api/v1/patients/{world.me.pk}/care-team/").status_code == 404
    assert api_login(world.patient_user).get(
        f"/api/v1/patients/{world.cardiac_patients[1].pk}/care-team/").status_code == 404


def test_my_care_team_is_the_active_links_only(api_login, world):
    CareTeamLinkFactory(patient=world.me, staff=staff(world.clinician), status=CareTeamLink.Status.ACTIVE)
    CareTeamLinkFactory(patient=world.me, staff=staff(world.dietitian), status=CareTeamLink.Status.REQUESTED)
    CareTeamLinkFactory(patient=world.cardiac_patients[1], staff=staff(world.lead), status=CareTeamLink.Status.ACTIVE)
    body = api_login(world.patient_user).get("/api/v1/me/care-team/").json()
    assert [r["staff"]["name"] for r in body["results"]] == [world.clinician.get_full_name()]
    assert api_login(world.clinician).get("/api/v1/me/care-team/").status_code == 404


def test_care_team_is_read_only(api_login, world):
    url = f"/api/v1/patients/{world.me.pk}/care-team/"
    assert api_login(world.lead).post(url, {"staff": str(staff(world.clinician).pk)}, format="json").status_code == 405


def test_programs_in_scope(api_login, world):
    names = [p["name"] for p in api_login(world.clinician).get("/api/v1/programs/").json()["results"]]
    assert names == ["Cardiac Rehab"]
    lead = {p["name"] for p in api_login(world.lead).get("/api/v1/programs/").json()["results"]}
    assert lead == {"Cardiac Rehab", "Metabolic Health"}
    api = api_login(world.clinician)
    assert api.get(f"/api/v1/programs/{world.cardiac.pk}/").status_code == 200
    assert api.get(f"/api/v1/programs/{world.metabolic.pk}/").status_code == 404
    assert api.get(f"/api/v1/programs/{world.other_program.pk}/").status_code == 404
    mine = [p["name"] for p in api_login(world.patient_user).get("/api/v1/programs/").json()["results"]]
    assert mine == ["Cardiac Rehab"]
    assert api_login(world.lead).post("/api/v1/programs/", {"name": "X"}, format="json").status_code == 405
