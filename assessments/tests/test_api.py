"""The questionnaires API through HTTP: gating, assignment, answering, bad input."""

import json
from pathlib import Path

import pytest

from assessments import instruments
from assessments.models import Answer, Assignment, Questionnaire, Response
from assessments.tests.factories import assign, phq9_answers
from clinical.models import Observation

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def test_questionnaires_list_requires_login(client):
    assert client.get("/api/v1/questionnaires/").status_code in (401, 403)


def test_questionnaires_list_shows_the_builtins_of_my_tenant_only(world, api_login):
    rows = api_login(world.clinician).get("/api/v1/questionnaires/").json()["results"]
    assert {r["code"] for r in rows} == {instruments.PHQ9, instruments.PHQ2, instruments.GAD7}
    assert all({"id", "code", "name"} <= set(r) for r in rows)
    own = set(Questionnaire.objects.filter(project=world.project).values_list("pk", flat=True))
    assert {r["id"] for r in rows} <= {str(pk) for pk in own}


def test_a_new_version_replaces_the_old_in_the_list_but_both_stay(world, api_login):
    api = api_login(world.lead)
    data = json.loads((FIXTURES / "loinc_phq9.json").read_text())
    assert api.post("/api/v1/questionnaires/import/", data, format="json").status_code == 201
    rows = api.get("/api/v1/questionnaires/").json()["results"]
    phq9 = [r for r in rows if r["code"] == instruments.PHQ9]
    assert len(phq9) == 1 and phq9[0]["version"] == 2
    everything = api.get("/api/v1/questionnaires/?all=1").json()["results"]
    assert sorted(r["version"] for r in everything if r["code"] == instruments.PHQ9) == [1, 2]


def test_staff_assign_by_code_and_the_patient_answers(world, api_login):
    patient = world.me
    created = api_login(world.clinician).post(f"/api/v1/patients/{patient.pk}/assignments/",
                                              {"questionnaire": instruments.PHQ9,
                                               "due": "2030-01-01T09:00:00-10:00"}, format="json")
    assert created.status_code == 201, created.content
    assignment_id = created.json()["id"]
    mine = api_login(world.patient_user).get("/api/v1/me/assignments/").json()["results"]
    assert [a["id"] for a in mine] == [assignment_id]
    assert len(mine[0]["questionnaire"]["items"]) == 10
    answered = api_login(world.patient_user).post(f"/api/v1/me/assignments/{assignment_id}/response/",
                                                  {"answers": phq9_answers([2, 2, 2, 2, 1, 1, 1, 0, 0])},
                                                  format="json")
    assert answered.status_code == 201, answered.content
    body = answered.json()
    assert (body["total"], body["severity"], body["safety"], body["crisis_resources"]) == (11, "moderate", False,
                                                                                           None)
    obs = Observation.objects.get(patient=patient, metric="phq9_total")
    assert obs.value == 11 and obs.source == "patient"
    assert Assignment.objects.get(pk=assignment_id).status == "completed"


def test_assign_by_id(world, api_login):
    gad7 = Questionnaire.objects.get(project=world.project, code=instruments.GAD7)
    r = api_login(world.lead).post(f"/api/v1/patients/{world.metabolic_patients[0].pk}/assignments/",
                                   {"questionnaire": str(gad7.pk)}, format="json")
    assert r.status_code == 201 and r.json()["questionnaire"]["code"] == instruments.GAD7


@pytest.mark.parametrize("who,whose", [("clinician", "metabolic"), ("clinician", "foreign"),
                                       ("outsider", "me"), ("patient_user", "cardiac_other")])
def test_assign_to_a_patient_out_of_reach_is_404(world, api_login, who, whose):
    target = {"metabolic": world.metabolic_patients[0], "foreign": world.foreign_patients[0], "me": world.me,
              "cardiac_other": world.cardiac_patients[1]}[whose]
    api = api_login(getattr(world, who))
    r = api.post(f"/api/v1/patients/{target.pk}/assignments/", {"questionnaire": instruments.PHQ9}, format="json")
    assert r.status_code in (403, 404)  # a patient's role lacks nothing here: the gate hides the record
    assert api.get(f"/api/v1/patients/{target.pk}/assignments/").status_code == 404
    assert not Assignment.objects.filter(patient=target).exists()


def test_a_patient_may_not_assign_even_to_themselves(world, api_login):
    r = api_login(world.patient_user).post(f"/api/v1/patients/{world.me.pk}/assignments/",
                                           {"questionnaire": instruments.PHQ9}, format="json")
    assert r.status_code == 404 and not Assignment.objects.exists()


@pytest.mark.parametrize("payload,field", [
    ({}, "questionnaire"),
    ({"questionnaire": "nope"}, "questionnaire"),
    ({"questionnaire": instruments.PHQ9, "due": "2030-01-01T09:00:00"}, "due"),
    ({"questionnaire": instruments.PHQ9, "due": "tomorrow"}, "due"),
])
def test_bad_assignment_is_400_with_the_field_and_nothing_stored(world, api_login, payload, field):
    r = api_login(world.clinician).post(f"/api/v1/patients/{world.me.pk}/assignments/", payload, format="json")
    assert r.status_code == 400 and field in r.json()
    assert not Assignment.objects.exists()


def test_another_tenants_questionnaire_cant_be_assigned(world, api_login):
    theirs = Questionnaire.objects.get(project=world.other_project, code=instruments.PHQ9)
    r = api_login(world.clinician).post(f"/api/v1/patients/{world.me.pk}/assignments/",
                                        {"questionnaire": str(theirs.pk)}, format="json")
    assert r.status_code == 400 and "questionnaire" in r.json()


def test_me_assignments_shows_only_mine_and_staff_get_404(world, api_login):
    assign(world.me, instruments.GAD7)
    assign(world.cardiac_patients[1], instruments.GAD7)
    mine = api_login(world.patient_user).get("/api/v1/me/assignments/").json()["results"]
    assert len(mine) == 1
    assert api_login(world.clinician).get("/api/v1/me/assignments/").status_code == 404


def test_a_patient_cant_answer_someone_elses_assignment(world, api_login):
    theirs = assign(world.cardiac_patients[1], instruments.GAD7)
    r = api_login(world.patient_user).post(f"/api/v1/me/assignments/{theirs.pk}/response/",
                                           {"answers": {}}, format="json")
    assert r.status_code == 404 and not Response.objects.exists()
    r = api_login(world.clinician).post(f"/api/v1/me/assignments/{theirs.pk}/response/",
                                        {"answers": {}}, format="json")
    assert r.status_code == 404


@pytest.mark.parametrize("answers,item", [
    ({"/nope": "LA6568-5"}, "/nope"),
    ({"/44250-9": "LA9999-9"}, "/44250-9"),
    ({"/44250-9": ["LA6568-5", "LA6569-3"]}, "/44250-9"),
    ({"/44250-9": True}, "/44250-9"),
])
def test_bad_answers_are_400_naming_the_item_and_nothing_is_saved(world, api_login, answers, item):
    assignment = assign(world.me, instruments.PHQ9)
    r = api_login(world.patient_user).post(f"/api/v1/me/assignments/{assignment.pk}/response/",
                                           {"answers": answers}, format="json")
    assert r.status_code == 400 and item in r.json(), r.content
    assert not Response.objects.exists() and not Answer.objects.exists()
    assert not Observation.objects.filter(patient=world.me).exists()
    assignment.refresh_from_db()
    assert assignment.status == "new"


def test_a_missing_required_item_is_400(world, api_login):
    data = json.loads((FIXTURES / "valueset_form.json").read_text())
    api_login(world.lead).post("/api/v1/questionnaires/import/", data, format="json")
    assignment = assign(world.me, "sleep_quality")
    r = api_login(world.patient_user).post(f"/api/v1/me/assignments/{assignment.pk}/response/",
                                           {"answers": {"s2": "often"}}, format="json")
    assert r.status_code == 400 and r.json()["s1"] == ["This question needs an answer."]


def test_the_answers_body_must_be_an_object(world, api_login):
    assignment = assign(world.me, instruments.PHQ9)
    r = api_login(world.patient_user).post(f"/api/v1/me/assignments/{assignment.pk}/response/",
                                           {"answers": ["x"]}, format="json")
    assert r.status_code == 400 and "answers" in r.json()


def test_answering_twice_is_refused(world, api_login):
    assignment = assign(world.me, instruments.GAD7)
    api = api_login(world.patient_user)
    url = f"/api/v1/me/assignments/{assignment.pk}/response/"
    answers = {"answers": {f"/{c}": "LA6568-5" for c, _t in instruments.GAD7_ITEMS}}
    assert api.post(url, answers, format="json").status_code == 201
    again = api.post(url, answers, format="json")
    assert again.status_code == 400 and "assignment" in again.json()
    assert Response.objects.count() == 1


def test_a_fhir_questionnaire_response_is_accepted(world, api_login):
    assignment = assign(world.me, instruments.GAD7)
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [
        {"linkId": "/69737-5", "item": [{"linkId": f"/{c}", "answer": [{"valueCoding": {
            "system": "http://loinc.org", "code": "LA6570-1"}}]} for c, _t in instruments.GAD7_ITEMS]}]}
    # Grouped items are flattened; the group linkId itself is not a question.
    qr["item"] = qr["item"][0]["item"]
    r = api_login(world.patient_user).post(f"/api/v1/me/assignments/{assignment.pk}/response/", qr, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["total"] == 14 and r.json()["severity"] == "moderate"
    assert Observation.objects.get(patient=world.me, metric="gad7_total").value == 14


def test_a_fhir_response_with_a_bad_status_is_400(world, api_login):
    assignment = assign(world.me, instruments.GAD7)
    qr = {"resourceType": "QuestionnaireResponse", "status": "stopped", "item": []}
    r = api_login(world.patient_user).post(f"/api/v1/me/assignments/{assignment.pk}/response/", qr, format="json")
    assert r.status_code == 400 and not Response.objects.exists()


def test_staff_enter_answers_on_the_patients_behalf(world, api_login):
    assignment = assign(world.me, instruments.PHQ9)
    r = api_login(world.clinician).post(f"/api/v1/patients/{world.me.pk}/assignments/{assignment.pk}/response/",
                                        {"answers": phq9_answers([1] * 8 + [0])}, format="json")
    assert r.status_code == 201, r.content
    response = Response.objects.get()
    assert response.on_behalf and response.via == "staff" and response.entered_by == world.clinician
    assert Observation.objects.get(patient=world.me, metric="phq9_total").source == "staff"


def test_staff_of_another_program_cant_enter_answers(world, api_login):
    assignment = assign(world.me, instruments.PHQ9)
    r = api_login(world.other_clinician).post(
        f"/api/v1/patients/{world.me.pk}/assignments/{assignment.pk}/response/",
        {"answers": phq9_answers([1] * 9)}, format="json")
    assert r.status_code == 404 and not Response.objects.exists()


def test_the_schema_documents_the_routes(world, api_login):
    schema = api_login(world.lead).get("/api/schema/?format=json").json()
    for route in ("/api/v1/questionnaires/", "/api/v1/questionnaires/import/",
                  "/api/v1/patients/{patient_pk}/assignments/", "/api/v1/me/assignments/",
                  "/api/v1/me/assignments/{id}/response/"):
        assert route in schema["paths"], route


def test_me_assignments_lists_open_ones_first(world, api_login):
    from django.utils import timezone

    done = assign(world.me, instruments.GAD7)
    api = api_login(world.patient_user)
    api.post(f"/api/v1/me/assignments/{done.pk}/response/",
             {"answers": {f"/{c}": "LA6568-5" for c, _t in instruments.GAD7_ITEMS}}, format="json")
    later = assign(world.me, instruments.PHQ2, available_at=timezone.now())
    rows = api.get("/api/v1/me/assignments/").json()["results"]
    assert [r["id"] for r in rows] == [str(later.pk), str(done.pk)]
    assert rows[1]["response"]["total"] == 0


def test_portal_list_reads_a_fixed_number_of_queries(world, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.patient_user)
    assign(world.me, instruments.PHQ2)
    client.get("/portal/questionnaires/")  # warm the per-user caches
    with CaptureQueriesContext(connection) as one:
        assert client.get("/portal/questionnaires/").status_code == 200
    for _ in range(4):
        assign(world.me, instruments.GAD7)
    with CaptureQueriesContext(connection) as five:
        assert client.get("/portal/questionnaires/").status_code == 200
    assert len(five) == len(one)
