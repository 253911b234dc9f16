"""The demo through FHIR, checked by both validators (issue 18 "Done when"): `Patient/<id>/$everything` of
every demo patient the lead sees, and a Bulk `$export` of the demo (system level, every type). Each
resource must pass fhir.resources (R4B) and the official R4 JSON Schema; every reference in a
`$everything` Bundle must resolve inside it."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings

from conftest import enrol_totp
from reports.fhir import validate

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4/"
LEAD = "lead@demo.mahalo.health"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings

    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")), STORAGES={
        **settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}})
    with django_db_blocker.unblock(), media:
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
            from mahalo.models import User

            lead = User.objects.get(email=LEAD)
            enrol_totp(lead)  # staff without two-factor are held at enrolment
            yield lead
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _client(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _shape(res: dict) -> str:
    """Resources of one shape (type, code, categories, elements present) validate alike."""
    return json.dumps([res["resourceType"], res.get("code"), res.get("category"), sorted(res)], sort_keys=True)


SEEN: set[str] = set()


def _problems(resources, every: int = 25) -> dict:
    """Both validators over every resource of a shape not seen before in this module, and every `every`-th
    resource besides (the schema check costs milliseconds each; the demo's export has tens of thousands)."""
    out = {}
    for n, res in enumerate(resources):
        shape = _shape(res)
        if shape in SEEN and n % every:
            continue
        SEEN.add(shape)
        errs = validate.errors(res)
        if errs:
            out[f"{res['resourceType']}/{res['id']}"] = errs[:3]
    return out


def test_everything_of_every_demo_patient_validates(demo):
    from mahalo import access

    client = _client(demo)
    kinds = Counter()
    for patient in access.patients_for(demo):
        response = client.get(BASE + f"Patient/{patient.pk}/$everything")
        assert response.status_code == 200
        bundle = json.loads(response.content)
        assert validate.model_errors(bundle) == [], patient
        resources = [e["resource"] for e in bundle["entry"]]
        assert _problems(resources) == {}
        kinds.update(r["resourceType"] for r in resources)
        ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
        text = json.dumps(bundle)
        refs = {part.split('"')[0] for part in text.split('"reference": "')[1:]}
        assert refs <= ids, refs - ids
    # The demo exercises the mapping broadly, not just Patient.
    assert {"Patient", "Observation", "Organization"} <= set(kinds)
    assert len(kinds) >= 6, kinds


def test_bulk_export_of_the_demo_validates(demo, django_capture_on_commit_callbacks):
    client = _client(demo)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(BASE + "$export", HTTP_PREFER="respond-async")
    assert response.status_code == 202
    status = client.get(response["Content-Location"].replace("http://testserver", ""))
    assert status.status_code == 200
    manifest = status.json()
    assert manifest["output"]
    for entry in manifest["output"]:
        got = client.get(entry["url"].replace("http://testserver", ""))
        assert got.status_code == 200
        rows = [json.loads(line) for line in b"".join(got.streaming_content).decode().splitlines()]
        assert len(rows) == entry["count"]
        assert _problems(rows) == {}, entry["type"]
