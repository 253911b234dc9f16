"""Issue 21 item 2: a critical value a person enters shows an alarm box (re-measure after
5 minutes of rest, call the emergency number with symptoms, whether the care team was
told) in the portal, the API and on the chart, and the care team is always told."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinical.default_rules import ensure_default_rules
from clinical.models import ClinicalRule, Observation
from mahalo.models import ProgramSetting, StaffMember
from mahalo.tests.factories import ProjectFactory, UserFactory
from messaging.models import Notification
from patients.care_team import care_team_add
from patients.tests.factories import PatientFactory, ProgramFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/observations/"


@pytest.fixture
def team(world):
    care_team_add(patient=world.me, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    ensure_default_rules(world.cardiac)
    return world.me


def form(patient, **overrides):
    local = (timezone.now() - timedelta(minutes=3)).astimezone(patient.program.tz)
    data = {"metric": "blood_pressure", "value": "188", "value2": "126", "unit": "mmHg", "setting": "home",
            "glucose_context": "fasting", "effective_at": local.strftime("%Y-%m-%dT%H:%M"), "note": ""}
    data.update(overrides)
    return data


def at(minutes=5):
    return (timezone.now() - timedelta(minutes=minutes)).isoformat()


def told(user):
    return Notification.objects.filter(recipient=user, event_type="alert_created", channel="in_app")


def test_portal_crisis_value_shows_the_alarm_box_and_the_care_team_is_told(world, team, login):
    client = login(world.patient_user)
    r = client.post("/portal/vitals/", form(team))
    obs = Observation.objects.get(patient=team)
    assert r.status_code == 302 and r["Location"].endswith(f"?saved={obs.pk}")
    page = client.get(r["Location"]).content.decode()
    assert "data-crisis" in page and 'role="alert"' in page
    assert "rest quietly for 5 minutes, then measure again" in page
    assert "Call 911 now if you have chest pain, shortness of breath" in page and "vision or speech" in page
    assert "Your care team has been told about this reading." in page
    assert "Hypertensive crisis (ACC/AHA 2017, home)" in page
    assert "message-success" not in page                  # no green "Saved" box for a crisis
    note = told(world.clinician).get()
    assert note.urgent and note.patient_id == team.pk
    assert obs.details["safety"]["told"] is True


def test_non_critical_value_has_no_alarm(world, team, login):
    client = login(world.patient_user)
    r = client.post("/portal/vitals/", form(team, value="136", value2="82"))
    assert r.status_code == 302 and "saved=" not in r["Location"]
    page = client.get("/portal/vitals/").content.decode()
    assert "data-crisis" not in page and "Stage 2 hypertension" in page
    assert not told(world.clinician).exists()


def test_wording_comes_from_the_program_setting(world, team, login):
    ProgramSetting.objects.create(program=world.cardiac, key="safety.emergency_number", value="112")
    ProgramSetting.objects.create(program=world.cardiac, key="safety.crisis_remeasure",
                                  value="Rest 5 minutes seated, feet flat, then repeat the reading.")
    client = login(world.patient_user)
    r = client.post("/portal/vitals/", form(team))
    page = client.get(r["Location"]).content.decode()
    assert "Rest 5 minutes seated, feet flat" in page and "Call 112 now" in page and "Call 911" not in page


def test_api_returns_the_same_guidance(world, team, api_login):
    api = api_login(world.patient_user)
    r = api.post(ME, {"metric": "glucose", "value": 48, "unit": "mg/dL", "context": "fasting",
                      "effective_at": at()}, format="json")
    assert r.status_code == 201
    crisis = r.json()["crisis"]
    assert crisis["critical"] and crisis["category"].startswith("Hypoglycemia level 2")
    assert "5 minutes" in crisis["remeasure"] and crisis["emergency_number"] == "911"
    assert "chest pain" in crisis["emergency"] and crisis["care_team_told"] is True
    assert crisis["care_team_status"] == "alert_raised" and crisis["alert"]
    ok = api.post(ME, {"metric": "glucose", "value": 98, "unit": "mg/dL", "context": "fasting",
                       "effective_at": at(60)}, format="json")
    assert ok.status_code == 201 and ok.json()["crisis"] is None


def test_critical_value_without_a_critical_rule_is_sent_directly(world, team, api_login):
    # A temperature of 40.5 °C is in the critical band but no default rule reads temperature;
    # SpO2's rule switched off for the program: the care team is still told.
    ClinicalRule.objects.filter(program=world.cardiac, code="spo2_low").update(enabled=False)
    api = api_login(world.patient_user)
    for data in ({"metric": "body_temperature", "value": 40.5, "unit": "Cel", "effective_at": at(10)},
                 {"metric": "spo2", "value": 84, "unit": "%", "effective_at": at(5)}):
        crisis = api.post(ME, data, format="json").json()["crisis"]
        assert crisis["care_team_told"] and crisis["care_team_status"] == "direct"
    keys = set(told(world.clinician).values_list("idempotency_key", flat=True))
    assert len([k for k in keys if k.startswith("critical-reading:")]) == 2


def test_nobody_reachable_is_said_plainly(db):
    project = ProjectFactory(name="Lonely clinic")
    program = ProgramFactory(project=project, name="Solo")
    user = UserFactory(email="alone@p.test")
    PatientFactory(program=program, user=user)
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    r = api.post(ME, {"metric": "blood_pressure", "value": 190, "value2": 125, "unit": "mmHg", "context": "home",
                      "effective_at": at()}, format="json")
    crisis = r.json()["crisis"]
    assert crisis["care_team_told"] is False and "could not reach your care team" in crisis["care_team_message"]


def test_saved_param_never_shows_another_patients_reading(world, team, login, api_login):
    api_login(world.clinician).post(f"/api/v1/patients/{world.cardiac_patients[1].pk}/observations/",
                                    {"metric": "spo2", "value": 82, "unit": "%", "effective_at": at()},
                                    format="json")
    other = Observation.objects.get(patient=world.cardiac_patients[1])
    page = login(world.patient_user).get(f"/portal/vitals/?saved={other.pk}")
    assert page.status_code == 200 and "data-crisis" not in page.content.decode()
    assert login(world.patient_user).get("/portal/vitals/?saved=not-a-uuid").status_code == 200


def test_staff_see_the_same_alarm_styling(world, team, login, api_login):
    api_login(world.patient_user).post(ME, {"metric": "blood_pressure", "value": 188, "value2": 126, "unit": "mmHg",
                                            "context": "home", "effective_at": at(30)}, format="json")
    client = login(world.clinician)
    page = client.get(f"/patients/{team.pk}/vitals/").content.decode()
    assert "vt-row-critical" in page and "Patient shown crisis guidance" in page and "care team notified" in page
    normal = client.post(f"/patients/{team.pk}/vitals/", form(team, value="97", value2="", metric="spo2",
                                                               unit="%"), HTTP_HX_REQUEST="true")
    assert normal.status_code == 200 and "data-crisis" not in normal.content.decode()
    # A critical one through the chart form: the same alarm box, worded for staff.
    r = client.post(f"/patients/{team.pk}/vitals/", form(team, value="85", value2="", metric="spo2", unit="%",
                                                          effective_at=(timezone.now() - timedelta(minutes=1))
                                                          .astimezone(team.program.tz).strftime("%Y-%m-%dT%H:%M")),
                    HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert "data-crisis" in html and "Critical alert raised; the care team was notified." in html
