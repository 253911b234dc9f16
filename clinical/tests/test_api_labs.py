"""/api/v1/patients/<uuid>/labs/, recommendations (staff and /me/) and /api/v1/rules/, through HTTP."""

import pytest

from clinical.tests.factories import BloodTestFactory, ClinicalRuleFactory, LabOrderFactory, RecommendationFactory

pytestmark = pytest.mark.django_db


def _labs(world, value=6.1, low=4.0, high=5.6, patient=None):
    patient = patient or world.me
    order = LabOrderFactory(patient=patient, ordered_by=world.clinician)
    BloodTestFactory(patient=patient, lab_order=order, value=value, reference_low=low, reference_high=high)
    return order


def test_labs_need_a_login(client, world):
    assert client.get(f"/api/v1/patients/{world.me.pk}/labs/").status_code in (401, 403)


def test_labs_list_orders_with_results_and_range_status(api_login, world):
    order = _labs(world, value=6.1)
    _labs(world, value=5.0)
    body = api_login(world.clinician).get(f"/api/v1/patients/{world.me.pk}/labs/").json()
    assert body["count"] == 2
    statuses = {r["results"][0]["range_status"] for r in body["results"]}
    assert statuses == {"high", "in_range"}
    high = next(r for r in body["results"] if r["id"] == str(order.pk))["results"][0]
    assert high["in_range"] is False and high["a1c_category"] == "prediabetes"
    one = api_login(world.clinician).get(f"/api/v1/patients/{world.me.pk}/labs/{order.pk}/")
    assert one.status_code == 200 and one.json()["results"][0]["value"] == 6.1


def test_low_and_no_range(api_login, world):
    _labs(world, value=3.0)
    _labs(world, value=7.0, low=None, high=None)
    body = api_login(world.lead).get(f"/api/v1/patients/{world.me.pk}/labs/").json()
    assert {r["results"][0]["range_status"] for r in body["results"]} == {"low", "no_range"}


def test_labs_of_another_program_or_tenant_are_404(api_login, world):
    metabolic = world.metabolic_patients[0]
    order = _labs(world, patient=metabolic)
    foreign = world.foreign_patients[0]
    api = api_login(world.clinician)  # cardiac only
    assert api.get(f"/api/v1/patients/{metabolic.pk}/labs/").status_code == 404
    assert api.get(f"/api/v1/patients/{metabolic.pk}/labs/{order.pk}/").status_code == 404
    assert api.get(f"/api/v1/patients/{world.me.pk}/labs/{order.pk}/").status_code == 404  # another patient's order
    assert api_login(world.outsider).get(f"/api/v1/patients/{world.me.pk}/labs/").status_code == 404
    assert api.get(f"/api/v1/patients/{foreign.pk}/labs/").status_code == 404


def test_labs_are_read_only(api_login, world):
    response = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/labs/", {"tests": ["A1C"]}, format="json")
    assert response.status_code == 405


def test_recommendations_staff_and_me(api_login, world):
    active = RecommendationFactory(patient=world.me, content="Walk 20 minutes a day")
    RecommendationFactory(patient=world.me, content="Retired advice", is_active=False)
    RecommendationFactory(patient=world.cardiac_patients[1], content="Someone else's advice")
    staff = api_login(world.clinician).get(f"/api/v1/patients/{world.me.pk}/recommendations/").json()
    assert {r["content"] for r in staff["results"]} == {"Walk 20 minutes a day", "Retired advice"}
    mine = api_login(world.patient_user).get("/api/v1/me/recommendations/").json()
    assert [r["id"] for r in mine["results"]] == [str(active.pk)]
    assert api_login(world.clinician).get("/api/v1/me/recommendations/").status_code == 404
    assert api_login(world.dietitian).get(
        f"/api/v1/patients/{world.me.pk}/recommendations/").status_code == 404
    neighbour = world.cardiac_patients[1]
    other_patient = api_login(world.patient_user).get(f"/api/v1/patients/{neighbour.pk}/recommendations/")
    assert other_patient.status_code == 404
    refused = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/recommendations/",
                                         {"domain": "exercise", "content": "x"}, format="json")
    assert refused.status_code == 405


def test_rules_in_scope(api_login, world):
    tenant = ClinicalRuleFactory(project=world.project, program=None, code="tenant_rule")
    cardiac = ClinicalRuleFactory(project=world.project, program=world.cardiac, code="cardiac_rule")
    metabolic = ClinicalRuleFactory(project=world.project, program=world.metabolic, code="metabolic_rule")
    foreign = ClinicalRuleFactory(project=world.other_project, program=None, code="foreign_rule")
    codes = {r["code"] for r in api_login(world.clinician).get("/api/v1/rules/").json()["results"]}
    assert {"tenant_rule", "cardiac_rule"} <= codes and not codes & {"metabolic_rule", "foreign_rule"}
    lead_codes = {r["code"] for r in api_login(world.lead).get("/api/v1/rules/").json()["results"]}
    assert {"tenant_rule", "cardiac_rule", "metabolic_rule"} <= lead_codes and "foreign_rule" not in lead_codes
    api = api_login(world.clinician)
    assert api.get(f"/api/v1/rules/{cardiac.pk}/").json()["program"] == "Cardiac Rehab"
    assert api.get(f"/api/v1/rules/{tenant.pk}/").json()["program"] is None
    assert api.get(f"/api/v1/rules/{metabolic.pk}/").status_code == 404
    assert api.get(f"/api/v1/rules/{foreign.pk}/").status_code == 404
    assert api.get("/api/v1/rules/not-a-uuid/").status_code == 404
    assert api_login(world.patient_user).get("/api/v1/rules/").json()["count"] == 0
    assert api_login(world.lead).post("/api/v1/rules/", {"code": "x"}, format="json").status_code == 405
