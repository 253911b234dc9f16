"""FHIR R4 API through HTTP: metadata, read, search (date prefixes, paging), POST Observation through the
one writer (lands on the chart with its category), the gate (404 OperationOutcome), bad input (400 naming
the element), token auth, $everything validated by both validators."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clinical import observations
from clinical.ingest import Reading, store
from clinical.models import Observation
from clinical.tests.factories import BloodTestFactory, LabOrderFactory
from mahalo.models import AuditEvent
from reports.fhir import validate
from wearables.models import DailyMetric

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4/"
FHIR = "application/fhir+json"


def body(response) -> dict:
    assert response["Content-Type"].startswith(FHIR) or response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def seed(patient):
    now = timezone.now().replace(microsecond=0)
    store(
        patient,
        "withings",
        [
            Reading("blood_pressure", now - timedelta(days=1), 142, 91, context="home", device="BPM Connect"),
            Reading("weight", now - timedelta(days=3), 81.5),
            Reading("heart_rate", now - timedelta(days=40), 66),
        ],
    )
    store(patient, "oura", [Reading("hrv", now - timedelta(days=2), 48, method="rmssd")])
    store(patient, "apple_health", [Reading("hrv", now - timedelta(days=2), 55, method="sdnn")])
    DailyMetric.objects.create(
        project=patient.project,
        patient=patient,
        program=patient.program,
        date=date.today() - timedelta(days=1),
        source="oura",
        steps=8012,
        resting_hr=58,
        hrv_ms=47.5,
        hrv_method="rmssd",
        sleep_hours=7.2,
        sleep_deep_hours=1.1,
    )
    order = LabOrderFactory(patient=patient, tests=["A1C"])
    BloodTestFactory(
        patient=patient,
        lab_order=order,
        test_name="HbA1c",
        loinc="4548-4",
        value=6.1,
        unit="%",
        reference_low=4.0,
        reference_high=5.6,
    )


def test_metadata_is_a_valid_capability_statement(world, api_login):
    response = api_login(world.clinician).get(BASE + "metadata")
    assert response.status_code == 200
    assert response["Content-Type"] == FHIR
    cap = body(response)
    assert cap["resourceType"] == "CapabilityStatement" and cap["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in cap["rest"][0]["resource"]}
    assert {"Patient", "Observation", "QuestionnaireResponse", "Appointment", "Goal"} <= types
    assert validate.errors(cap) == []


def test_login_required_as_operation_outcome(world):
    response = APIClient().get(BASE + f"Patient/{world.me.pk}")
    assert response.status_code == 401
    assert body(response)["resourceType"] == "OperationOutcome"


def test_read_patient_and_audit(world, api_login):
    patient = world.cardiac_patients[1]
    response = api_login(world.clinician).get(BASE + f"Patient/{patient.pk}")
    assert response.status_code == 200
    res = body(response)
    assert res["id"] == str(patient.pk) and res["name"][0]["family"] == patient.last_name
    assert res["identifier"][0]["value"] == patient.mrn
    assert validate.errors(res) == []
    assert AuditEvent.objects.filter(patient=patient, action="read").exists()


@pytest.mark.parametrize("who", ["other_clinician", "outsider"])
def test_other_program_or_tenant_is_404_operation_outcome(world, api_login, who):
    target = world.cardiac_patients[1]
    seed(target)
    obs = Observation.objects.filter(patient=target).first()
    api = api_login(getattr(world, who))
    for url in (
        f"Patient/{target.pk}",
        f"Patient/{target.pk}/$everything",
        f"Observation/{obs.pk}",
        f"Condition/cond-{target.pk}-1",
    ):
        response = api.get(BASE + url)
        assert response.status_code == 404, url
        outcome = body(response)
        assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "not-found"
        assert target.last_name not in response.content.decode()
    # A search for them is simply empty.
    bundle = body(api.get(BASE + f"Observation?patient={target.pk}"))
    assert bundle["total"] == 0 and bundle.get("entry", []) == []


def test_search_observations_by_code_date_prefix_and_paging(world, api_login):
    patient = world.cardiac_patients[1]
    seed(patient)
    api = api_login(world.clinician)
    everything = body(api.get(BASE + f"Observation?patient=Patient/{patient.pk}&_count=2"))
    # 5 readings + 1 day of summaries + 1 lab result = 7 rows
    assert everything["total"] == 7
    assert len(everything["entry"]) == 2
    links = {link["relation"]: link["url"] for link in everything["link"]}
    assert "next" in links and "previous" not in links
    seen = [e["resource"]["id"] for e in everything["entry"]]
    url = links["next"]
    while url:
        page = body(api.get(url.replace("http://testserver", "")))
        seen += [e["resource"]["id"] for e in page["entry"]]
        url = {link["relation"]: link["url"] for link in page["link"]}.get("next")
    assert len(seen) == len(set(seen)) >= 7  # the day row expands into several Observations
    # code: BP panel by LOINC, with the system
    bp = body(api.get(BASE + f"Observation?patient={patient.pk}&code=http://loinc.org|85354-9"))
    assert bp["total"] == 1
    res = bp["entry"][0]["resource"]
    assert res["category"][0]["coding"][0]["code"] == "vital-signs"
    assert [c["code"]["coding"][0]["code"] for c in res["component"]] == ["8480-6", "8462-4"]
    assert res["component"][0]["valueQuantity"]["code"] == "mm[Hg]"
    assert res["meta"]["profile"] == ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure"]
    assert any(c["coding"][0]["code"] == "stage_2" for c in res["interpretation"] if "coding" in c)
    # HRV: RMSSD never under the SDNN code
    sdnn = body(api.get(BASE + f"Observation?patient={patient.pk}&code=80404-7"))
    methods = {e["resource"]["method"]["text"] for e in sdnn["entry"]}
    assert methods == {"SDNN"}
    rmssd = body(api.get(BASE + f"Observation?patient={patient.pk}&code=hrv-rmssd"))
    assert rmssd["total"] == 2  # the reading and the daily summary
    assert all(e["resource"]["code"]["coding"][0]["code"] != "80404-7" for e in rmssd["entry"])
    # date prefixes: the 40-day-old heart rate is before 30 days ago, the rest after
    cutoff = (timezone.now() - timedelta(days=30)).date().isoformat()
    old = body(api.get(BASE + f"Observation?patient={patient.pk}&date=lt{cutoff}"))
    assert [e["resource"]["code"]["coding"][0]["code"] for e in old["entry"]] == ["8867-4"]
    recent = body(api.get(BASE + f"Observation?patient={patient.pk}&date=ge{cutoff}"))
    assert recent["total"] == 6
    window = body(api.get(BASE + f"Observation?patient={patient.pk}&date=ge{cutoff}&date=le{cutoff}"))
    assert window["total"] == 0


@pytest.mark.parametrize(
    "query, element",
    [
        ("date=gt2026-13-45", "date"),
        ("date=2026-03-04T10:00:00", "date"),
        ("_count=-1", "_count"),
        ("patient=not-an-id", "patient"),
        ("colour=blue", "colour"),
        ("_page=0", "_page"),
    ],
)
def test_bad_search_is_400_naming_the_element(world, api_login, query, element):
    response = api_login(world.clinician).get(BASE + f"Observation?{query}")
    assert response.status_code == 400
    outcome = body(response)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [element]


def _bp(patient_id=None, sys=182, dia=121, **extra):
    res = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": (timezone.now() - timedelta(minutes=2)).replace(microsecond=0).isoformat(),
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {
                    "value": sys,
                    "unit": "mmHg",
                    "system": "http://unitsofmeasure.org",
                    "code": "mm[Hg]",
                },
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {
                    "value": dia,
                    "unit": "mmHg",
                    "system": "http://unitsofmeasure.org",
                    "code": "mm[Hg]",
                },
            },
        ],
        "device": {"display": "Omron BP7450"},
    }
    if patient_id:
        res["subject"] = {"reference": f"Patient/{patient_id}"}
    res.update(extra)
    return res


def test_device_posts_observation_with_token_and_it_lands_on_the_chart(world, api_login):
    token = (
        APIClient()
        .post("/api/v1/auth/token/", {"email": world.patient_user.email, "password": world.password}, format="json")
        .json()["access"]
    )
    device = APIClient()
    device.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = device.post(BASE + "Observation", json.dumps(_bp(sys=136, dia=84)), content_type=FHIR)
    assert response.status_code == 201, response.content
    created = body(response)
    assert response["Location"].endswith(f"/fhir/R4/Observation/{created['id']}")
    assert validate.errors(created) == []
    row = Observation.objects.get(pk=created["id"])
    assert (row.patient_id, row.source, row.value, row.value2, row.context) == (world.me.pk, "patient", 136, 84, "home")
    # Classified by the writer (ACC/AHA, home thresholds); the FHIR answer carries the same category.
    label = observations.category_label(row)
    assert row.category and label
    assert any(c.get("coding", [{}])[0].get("code") == row.category for c in created["interpretation"])
    assert "Omron BP7450" in row.details["note"]
    # On the chart: the Vitals tab and the observations API show it with its category.
    chart = api_login(world.clinician).get(f"/patients/{world.me.pk}/vitals/")
    assert chart.status_code == 200 and label in chart.content.decode()
    api_rows = api_login(world.clinician).get(f"/api/v1/patients/{world.me.pk}/observations/").json()["results"]
    assert any(r["id"] == created["id"] and r["category_label"] == label for r in api_rows)
    # The same reading again is not a second row (the writer is idempotent).
    again = device.post(
        BASE + "Observation",
        json.dumps(_bp(sys=136, dia=84, effectiveDateTime=created["effectiveDateTime"])),
        content_type=FHIR,
    )
    assert again.status_code == 201
    assert Observation.objects.filter(patient=world.me, metric="blood_pressure").count() == 1


def test_critical_post_takes_the_safety_path(world, api_login):
    api = api_login(world.clinician)
    response = api.post(BASE + "Observation", json.dumps(_bp(world.me.pk, 190, 125)), content_type=FHIR)
    assert response.status_code == 201
    row = Observation.objects.get(pk=body(response)["id"])
    assert row.interpretation == "critical" and row.category == "crisis" and row.source == "staff"
    assert "safety" in row.details


@pytest.mark.parametrize(
    "change, element",
    [
        ({"status": "bogus"}, "Observation.status"),
        ({"effectiveDateTime": "2026-03-04T10:00:00"}, "Observation.effectiveDateTime"),
        ({"code": {"coding": [{"system": "http://loinc.org", "code": "12345-6"}]}}, "Observation.code"),
        ({"component": []}, "Observation.component"),
        ({"valueQuantity": "high"}, "Observation.valueQuantity"),
        ({"subject": {"reference": "Patient/nope"}}, "Observation.subject"),
    ],
)
def test_bad_observation_is_400_naming_the_element(world, api_login, change, element):
    api = api_login(world.clinician)
    before = Observation.objects.count()
    response = api.post(BASE + "Observation", json.dumps(_bp(world.me.pk, **change)), content_type=FHIR)
    assert response.status_code == 400, response.content
    outcome = body(response)
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(e.startswith(element) for issue in outcome["issue"] for e in issue.get("expression", [])), outcome
    assert Observation.objects.count() == before


def test_bad_unit_names_the_unit(world, api_login):
    res = {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": f"Patient/{world.me.pk}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "effectiveDateTime": "2026-01-02T08:00:00+00:00",
        "valueQuantity": {"value": 80, "unit": "furlongs"},
    }
    response = api_login(world.clinician).post(BASE + "Observation", json.dumps(res), content_type=FHIR)
    assert response.status_code == 400
    assert body(response)["issue"][0]["expression"] == ["Observation.valueQuantity.unit"]


def test_post_for_another_programs_patient_is_404(world, api_login):
    target = world.metabolic_patients[0]
    response = api_login(world.clinician).post(BASE + "Observation", json.dumps(_bp(target.pk)), content_type=FHIR)
    assert response.status_code == 404
    assert body(response)["resourceType"] == "OperationOutcome"
    assert not Observation.objects.filter(patient=target).exists()


def test_patient_cannot_post_for_someone_else(world, api_login):
    other = world.cardiac_patients[1]
    response = api_login(world.patient_user).post(BASE + "Observation", json.dumps(_bp(other.pk)), content_type=FHIR)
    assert response.status_code == 400
    assert not Observation.objects.filter(patient=other).exists()


def test_read_types_by_id(world, api_login):
    patient = world.cardiac_patients[1]
    seed(patient)
    api = api_login(world.clinician)
    bundle = body(api.get(BASE + f"Observation?patient={patient.pk}&_count=50"))
    for entry in bundle["entry"]:
        res = entry["resource"]
        got = api.get(BASE + f"Observation/{res['id']}")
        assert got.status_code == 200, res["id"]
        assert body(got) == res
    assert api.get(BASE + "Observation/dm-00000000-0000-0000-0000-000000000000-steps").status_code == 404
    assert api.get(BASE + "Observation/not-a-thing").status_code == 404
    assert api.get(BASE + "Basic/123").status_code == 404


def test_everything_validates_with_both_validators(world, api_login):
    patient = world.me
    patient.chronic_conditions = "Hypertension, Type 2 diabetes"
    patient.medication_allergies = "Penicillin"
    patient.save()
    seed(patient)
    response = api_login(world.clinician).get(BASE + f"Patient/{patient.pk}/$everything")
    assert response.status_code == 200
    bundle = body(response)
    assert validate.errors(bundle) == []
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Observation", "Condition", "AllergyIntolerance", "ServiceRequest", "Organization"} <= kinds
    problems = {e["resource"]["id"]: validate.errors(e["resource"]) for e in bundle["entry"]}
    assert {k: v for k, v in problems.items() if v} == {}
    # Every reference inside the bundle resolves inside it.
    ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    text = json.dumps(bundle)
    for ref in {part.split('"')[0] for part in text.split('"reference": "')[1:]}:
        assert ref in ids, ref


def test_validators_catch_broken_resources():
    """Each validator fails on what it checks: a test that cannot fail is a defect."""
    bad_status = {"resourceType": "Observation", "status": "finished", "code": {"text": "x"}}
    assert validate.schema_errors(bad_status)  # required value sets: the schema's enums (fhir.resources has none)
    unknown = {"resourceType": "Patient", "colour": "blue"}
    assert validate.schema_errors(unknown) and validate.model_errors(unknown)
    missing = {"resourceType": "Observation", "code": {"text": "x"}}  # status is required
    assert validate.model_errors(missing)  # the schema leaves primitives optional (a `_status` may carry it)
    no_code = {"resourceType": "Observation", "status": "final"}  # code (a complex element) is required
    assert validate.schema_errors(no_code) and validate.model_errors(no_code)
    bad_date = {"resourceType": "Patient", "birthDate": "1990-13-45"}
    assert validate.schema_errors(bad_date) and validate.model_errors(bad_date)


def test_token_auth_reads(world):
    token = (
        APIClient()
        .post("/api/v1/auth/token/", {"email": world.patient_user.email, "password": world.password}, format="json")
        .json()["access"]
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(BASE + f"Patient/{world.me.pk}").status_code == 200
    assert api.get(BASE + f"Patient/{world.cardiac_patients[1].pk}").status_code == 404
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert bad.get(BASE + f"Patient/{world.me.pk}").status_code == 401


def test_since_filters_everything(world, api_login):
    seed(world.me)
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    bundle = body(
        api_login(world.clinician).get(BASE + f"Patient/{world.me.pk}/$everything?_since={future}&_type=Observation")
    )
    assert bundle["total"] == 0
