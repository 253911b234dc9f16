"""FHIR import/export: real shapes accepted, unsupported constructs refused naming the item."""

import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assessments import fhir
from assessments.models import Questionnaire

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
URL = "/api/v1/questionnaires/import/"


def _form():
    return json.loads((FIXTURES / "valueset_form.json").read_text())


def test_import_requires_login_and_clinical_write(world, client, api_login):
    assert client.post(URL, _form(), content_type="application/json").status_code in (401, 403)
    assert api_login(world.patient_user).post(URL, _form(), format="json").status_code in (403, 404)
    assert not Questionnaire.objects.filter(code="sleep_quality").exists()


def test_a_contained_valueset_with_item_weights_is_read(world, api_login):
    r = api_login(world.clinician).post(URL, _form(), format="json")
    assert r.status_code == 201, r.content
    items = {i["link_id"]: i for i in r.json()["items"]}
    assert [o["score"] for o in items["s1"]["options"]] == [0, 2]
    assert items["s3"]["enable_when"] == [{"question": "s1", "operator": "=", "answer": "often"}]
    assert Questionnaire.objects.get(pk=r.json()["id"]).project == world.project


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["item"].append({"linkId": "a1", "text": "Photo", "type": "attachment"}), "item a1"),
    (lambda d: d["item"][0].update(answerValueSet="http://example.org/vs"), "item s1"),
    (lambda d: d["item"].append({"linkId": "c1", "text": "Pick", "type": "open-choice",
                                 "answerOption": [{"valueString": "x"}]}), "item c1"),
    (lambda d: d["item"][2].update(extension=[{
        "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression",
        "valueExpression": {"expression": "true"}}]), "item s3"),
    (lambda d: d["item"][2].update(enableWhen=[{"question": "zz", "operator": "=", "answerBoolean": True}]),
     "item s3"),
    (lambda d: d["item"].append({"linkId": "s1", "text": "Again", "type": "string"}), "item s1"),
    (lambda d: d.update(resourceType="Patient"), "resourceType"),
])
def test_unsupported_constructs_are_refused_naming_the_item(world, api_login, mutate, needle):
    data = _form()
    mutate(data)
    r = api_login(world.clinician).post(URL, data, format="json")
    assert r.status_code == 400, r.content
    assert any(needle in e for e in r.json()["errors"]), r.json()
    assert not Questionnaire.objects.filter(code="sleep_quality").exists()


def test_nesting_and_size_are_bounded(world, api_login):
    data = _form()
    inner = {"linkId": "deep", "text": "Deep", "type": "string"}
    for n in range(6):
        inner = {"linkId": f"g{n}", "text": f"Group {n}", "type": "group", "item": [inner]}
    data["item"].append(inner)
    r = api_login(world.clinician).post(URL, data, format="json")
    assert r.status_code == 400 and any("nested" in e for e in r.json()["errors"])
    big = _form()
    big["description"] = "x" * (fhir.MAX_BYTES + 10)
    r = api_login(world.clinician).post(URL, big, format="json")
    assert r.status_code == 400


def test_export_round_trips_to_the_same_scoring(world, api_login):
    api = api_login(world.lead)
    phq9 = Questionnaire.objects.get(project=world.project, code="44249-1")
    exported = api.get(f"/api/v1/questionnaires/{phq9.pk}/fhir/").json()
    assert exported["resourceType"] == "Questionnaire"
    assert exported["item"][0]["answerOption"][1]["extension"][0]["valueDecimal"] == 1
    reimported = api.post(URL, exported, format="json").json()
    again = Questionnaire.objects.get(pk=reimported["id"])
    assert again.scoring == phq9.scoring and again.version == 2
    assert api_login(world.outsider).get(f"/api/v1/questionnaires/{phq9.pk}/fhir/").status_code == 404


def test_management_command_imports_and_refuses(world, tmp_path):
    path = tmp_path / "form.json"
    path.write_text(json.dumps(_form()))
    call_command("import_questionnaire", str(path), project=world.project.name)
    assert Questionnaire.objects.filter(project=world.project, code="sleep_quality").count() == 1
    bad = copy.deepcopy(_form())
    bad["item"].append({"linkId": "q9", "text": "?", "type": "reference"})
    path.write_text(json.dumps(bad))
    with pytest.raises(CommandError, match="item q9"):
        call_command("import_questionnaire", str(path), project=world.project.name)


def test_load_questionnaires_is_idempotent(world):
    Questionnaire.objects.filter(project=world.other_project).delete()
    call_command("load_questionnaires")
    call_command("load_questionnaires")
    assert Questionnaire.objects.filter(project=world.other_project, builtin=True).count() == 3
    assert Questionnaire.objects.filter(project=world.project, builtin=True).count() == 3
