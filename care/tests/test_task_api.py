"""The task REST API (/api/v1/care/tasks/): the page's filter, create, status, comment; the gate."""

import pytest

from care.models import Task
from care.tests.factories import task

pytestmark = pytest.mark.django_db

URL = "/api/v1/care/tasks/"


def test_list_with_the_pages_filter_create_complete_and_comment(world, api_login):
    mine = task(world.cardiac_patients[1], assignee=world.clinician, title="Mine", due_in_hours=-1)
    task(world.cardiac_patients[2], assignee=None, title="Team's")
    foreign = task(world.foreign_patients[0], assignee=world.outsider, title="Foreign")
    api = api_login(world.clinician)
    r = api.get(URL, {"view": "mine", "due": "overdue"})
    assert r.status_code == 200 and [t["title"] for t in r.json()["results"]] == ["Mine"]
    assert r.json()["results"][0]["overdue"] is True
    assert {t["title"] for t in api.get(URL, {"view": "team"}).json()["results"]} == {"Mine", "Team's"}
    bad = api.get(URL, {"status": "whatever"})
    assert bad.status_code == 400 and "status" in bad.json()
    assert api.get(f"{URL}{foreign.pk}/").status_code == 404
    patient = world.cardiac_patients[0]
    assert api.post(URL, {"patient": str(patient.pk), "title": ""}, format="json").status_code == 400
    assert api.post(URL, {"patient": str(world.metabolic_patients[0].pk), "title": "x"},
                    format="json").status_code == 404
    r = api.post(URL, {"patient": str(patient.pk), "title": "Book echo", "priority": "high",
                       "assignee": str(world.clinician.pk), "due_at": "2030-01-02T10:00:00Z"}, format="json")
    assert r.status_code == 201 and r.json()["assignee"] == str(world.clinician.pk)
    new = Task.objects.get(title="Book echo")
    assert api.post(f"{URL}{new.pk}/status/", {"action": "complete", "outcome": ""}, format="json").status_code == 400
    r = api.post(f"{URL}{new.pk}/status/", {"action": "complete", "outcome": "Booked for Friday"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "done"
    r = api.post(f"{URL}{mine.pk}/comments/", {"body": "Left a voicemail"}, format="json")
    assert r.status_code == 201 and mine.comments.get().body == "Left a voicemail"
    assert api.post(f"{URL}{foreign.pk}/comments/", {"body": "x"}, format="json").status_code == 404


def test_task_api_needs_staff_and_scope(world, api_login, client):
    t = task(world.cardiac_patients[0], assignee=world.clinician)
    assert client.get(URL).status_code in (401, 403)
    assert api_login(world.patient_user).get(URL).status_code == 404
    assert api_login(world.patient_user).get(f"{URL}{t.pk}/").status_code == 404
    other = api_login(world.other_clinician)
    assert other.get(f"{URL}{t.pk}/").status_code == 404
    assert other.post(f"{URL}{t.pk}/status/", {"action": "start"}, format="json").status_code == 404
    t.refresh_from_db()
    assert t.status == "open"
