"""Bulk Data $export through HTTP (tasks eager): kick-off, status, manifest, NDJSON files that validate with
both validators, the gate (only the requester downloads; a Group outside your programs is 404), bad input
400, expiry by the sweeper."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from clinical.ingest import Reading, store
from mahalo.models import AuditEvent
from reports.fhir import export, validate
from reports.models import FhirExportJob

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


def kick(api, url):
    return api.get(BASE + url, HTTP_PREFER="respond-async")


def rel(url: str) -> str:
    return url.replace("http://testserver", "")


def test_group_export_end_to_end(world, api_login, django_capture_on_commit_callbacks):
    for p in world.cardiac_patients:
        store(p, "withings", [Reading("weight", timezone.now() - timedelta(days=1), 80.0)])
    store(world.metabolic_patients[0], "withings", [Reading("weight", timezone.now() - timedelta(days=1), 70.0)])
    api = api_login(world.clinician)
    with django_capture_on_commit_callbacks(execute=True):
        response = kick(api, f"Group/{world.cardiac.pk}/$export?_type=Patient,Observation")
    assert response.status_code == 202, response.content
    status_url = rel(response["Content-Location"])
    status = api.get(status_url)
    assert status.status_code == 200, status.content
    manifest = status.json()
    assert manifest["requiresAccessToken"] is True
    files = {o["type"]: o for o in manifest["output"]}
    assert set(files) == {"Patient", "Observation"}
    assert files["Patient"]["count"] == len(world.cardiac_patients)
    lines = []
    for kind, entry in files.items():
        got = api.get(rel(entry["url"]))
        assert got.status_code == 200
        assert got["Content-Type"] == "application/fhir+ndjson"
        rows = [json.loads(line) for line in b"".join(got.streaming_content).decode().splitlines()]
        assert len(rows) == entry["count"]
        assert all(r["resourceType"] == kind for r in rows)
        lines += rows
    # Only this program's patients, and every line valid for both validators.
    ids = {r["id"] for r in lines if r["resourceType"] == "Patient"}
    assert ids == {str(p.pk) for p in world.cardiac_patients}
    assert {r["subject"]["reference"] for r in lines if r["resourceType"] == "Observation"} == {
        f"Patient/{p.pk}" for p in world.cardiac_patients
    }
    assert {r["id"]: validate.errors(r) for r in lines if validate.errors(r)} == {}
    assert AuditEvent.objects.filter(metadata__event="fhir_export_download").count() == 2
    # Another user (even the lead, who sees these patients) gets 404 for the status and the files.
    other = api_login(world.lead)
    assert other.get(status_url).status_code == 404
    assert other.get(rel(files["Patient"]["url"])).status_code == 404
    assert AuditEvent.objects.filter(action="denied", metadata__model="reports.FhirExportJob").exists()


def test_status_is_202_with_progress_while_queued(world, api_login):
    api = api_login(world.lead)
    response = kick(api, "$export")  # no on-commit execution: the job stays queued
    assert response.status_code == 202
    status = api.get(rel(response["Content-Location"]))
    assert status.status_code == 202
    assert status["X-Progress"]
    job = FhirExportJob.objects.get()
    assert job.kind == "system" and job.status == "queued"
    # The sweeper re-queues a queued job that nobody ran (eager here: it runs).
    FhirExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert export.sweep()["requeued"] == 1
    job.refresh_from_db()
    assert job.status == "done" and job.rows >= len(world.cardiac_patients + world.metabolic_patients)


def test_other_program_group_is_404_and_bad_input_is_400(world, api_login):
    api = api_login(world.clinician)
    response = kick(api, f"Group/{world.metabolic.pk}/$export")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
    assert kick(api_login(world.outsider), f"Group/{world.cardiac.pk}/$export").status_code == 404
    no_prefer = api.get(BASE + f"Group/{world.cardiac.pk}/$export")
    assert no_prefer.status_code == 400 and no_prefer.json()["issue"][0]["expression"] == ["Prefer"]
    bad_type = kick(api, f"Group/{world.cardiac.pk}/$export?_type=Basic")
    assert bad_type.status_code == 400 and bad_type.json()["issue"][0]["expression"] == ["_type"]
    bad_since = kick(api, f"Group/{world.cardiac.pk}/$export?_since=yesterday")
    assert bad_since.status_code == 400 and bad_since.json()["issue"][0]["expression"] == ["_since"]
    assert not FhirExportJob.objects.exists()
    # A patient login may not bulk-export.
    assert kick(api_login(world.patient_user), "Patient/$export").status_code == 403


def test_expired_files_are_deleted_and_cancel_works(world, api_login, django_capture_on_commit_callbacks):
    api = api_login(world.clinician)
    with django_capture_on_commit_callbacks(execute=True):
        response = kick(api, "Patient/$export?_type=Patient")
    job = FhirExportJob.objects.get()
    name = f"{job.folder}/Patient.ndjson"
    assert job.status == "done" and default_storage.exists(name)
    FhirExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert export.sweep()["expired"] == 1
    assert not default_storage.exists(name)
    assert api.get(rel(response["Content-Location"])).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        second = kick(api, "Patient/$export?_type=Patient")
    url = rel(second["Content-Location"])
    assert api.delete(url).status_code == 202
    assert api.get(url).status_code == 404
