"""Each role lands on a home page made for it."""

import pytest

pytestmark = pytest.mark.django_db


def test_clinician_home_shows_their_program_counts(login, world):
    response = login(world.clinician).get("/")
    assert response.status_code == 200
    rows = list(response.context["by_program"])
    assert [r["program__name"] for r in rows] == ["Cardiac Rehab"]
    assert rows[0]["total"] == len(world.cardiac_patients)
    assert "team" not in response.context
    assert b"Audit log" not in response.content


def test_lead_home_has_every_program_the_team_and_audit(login, world):
    response = login(world.lead).get("/")
    assert [r["program__name"] for r in response.context["by_program"]] == ["Cardiac Rehab", "Metabolic Health"]
    assert world.clinician in [m.user for m in response.context["team"]]
    assert world.outsider not in [m.user for m in response.context["team"]]
    assert b"Audit log" in response.content


def test_recently_opened_lists_patients_still_in_scope(login, world):
    from guardian.shortcuts import assign_perm, remove_perm

    client = login(world.clinician)
    granted = world.metabolic_patients[0]
    assign_perm("view_patient", world.clinician, granted)
    client.get(f"/patients/{world.cardiac_patients[1].pk}/")
    client.get(f"/patients/{granted.pk}/")
    assert login(world.clinician).get("/").context["recent_patients"] == [granted, world.cardiac_patients[1]]
    remove_perm("view_patient", world.clinician, granted)
    assert login(world.clinician).get("/").context["recent_patients"] == [world.cardiac_patients[1]]


def test_superuser_gets_the_platform_overview(login, world):
    from django.contrib.auth import get_user_model

    from conftest import enrol_totp

    root = get_user_model().objects.create_superuser("root@t.test", "pw-long-enough-1")
    enrol_totp(root)
    response = login(root).get("/")
    assert {p.name for p in response.context["projects"]} >= {"Demo Tenant", "Other Tenant"}


def test_user_without_staff_or_patient_record_is_told_so(login, world):
    from mahalo.tests.factories import UserFactory

    response = login(UserFactory()).get("/")
    assert response.status_code == 403 and b"linked to a program" in response.content


def test_program_switcher_narrows_lists_for_multi_program_staff(login, world):
    client = login(world.lead)
    page = client.get("/patients/")
    assert len(page.context["switch_programs"]) == 2
    client.post("/program/switch/", {"program": str(world.metabolic.pk), "next": "/patients/"})
    ids = {p.pk for p in client.get("/patients/").context["page"].object_list}
    assert ids == {p.pk for p in world.metabolic_patients}
    client.post("/program/switch/", {"program": ""})
    assert len(client.get("/patients/").context["page"].object_list) == 7


def test_program_switcher_cannot_select_a_program_outside_scope(login, world):
    client = login(world.clinician)
    assert client.get("/").context["switch_programs"] == []  # one program: no switcher
    response = client.post("/program/switch/", {"program": str(world.other_program.pk), "next": "https://evil.test/"})
    assert response["Location"] == "/"
    ids = {p.pk for p in client.get("/patients/").context["page"].object_list}
    assert ids == {p.pk for p in world.cardiac_patients}


def test_staff_home_counts_open_alerts_and_todays_visits(world, login):
    from datetime import timedelta

    from django.utils import timezone

    from clinical.models import Alert
    from scheduling.models import Visit
    from scheduling.tests.factories import book

    Alert.objects.create(project=world.project, patient=world.cardiac_patients[1], program=world.cardiac,
                         code="x", severity="critical", title="BP crisis")
    Alert.objects.create(project=world.project, patient=world.metabolic_patients[0], program=world.metabolic,
                         code="y", severity="warning", title="Not mine")  # other program: not counted
    # 01:00 today in the clinician's (program) time zone: today whatever the hour the test runs.
    today = timezone.localtime(timezone.now(), world.cardiac.tz).replace(hour=1, minute=0, second=0, microsecond=0)
    book(world.cardiac_patients[1], world.clinician, today, minutes=10)
    book(world.cardiac_patients[2], world.clinician, today + timedelta(days=1), minutes=10)  # tomorrow
    page = login(world.clinician).get("/")
    today = {item["key"]: item["count"] for item in page.context["today"]}
    assert today["open_alerts"] == 1
    assert today["visits_today"] == 1 and Visit.objects.count() == 2
