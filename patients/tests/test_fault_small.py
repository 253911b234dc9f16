"""Issue 20 fault 7: a stalled import says it is waiting to be resumed (not "the import
continues" for the 10-15 minutes before the sweeper re-queues it); a rate-limited sync's
error names its time in the program's clock, not UTC beside local times."""

from datetime import timedelta

import pytest
from django.utils import timezone

from patients.models import PatientImport
from patients.tests.test_import import csv_file, upload_job

pytestmark = pytest.mark.django_db


def importing_job(client, heartbeat_ago: timedelta) -> PatientImport:
    body = "first_name,last_name,program,date_of_birth\nIola,Kaleo,Cardiac Rehab,1950-02-03\n"
    job = upload_job(client, csv_file(body, "stalled.csv"))
    PatientImport.objects.filter(pk=job.pk).update(status=PatientImport.Status.IMPORTING,
                                                   heartbeat_at=timezone.now() - heartbeat_ago)
    return job


def test_a_stalled_import_says_it_waits_to_be_resumed(login, world):
    client = login(world.lead)
    job = importing_job(client, timedelta(minutes=4))
    page = client.get(f"/patients/import/{job.pk}/").content.decode()
    assert "Waiting to be resumed" in page and "the import continues" not in page


def test_an_import_making_progress_says_it_continues(login, world):
    client = login(world.lead)
    job = importing_job(client, timedelta(seconds=20))
    page = client.get(f"/patients/import/{job.pk}/").content.decode()
    assert "the import continues" in page and "Waiting to be resumed" not in page
