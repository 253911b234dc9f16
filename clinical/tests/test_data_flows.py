"""Issue 21 item 9, data flowing between tabs: wearable resting heart rate on Vitals where
Vitals has none; a reading reported in a message becomes an observation in two clicks
(the link under the message, then Save on the filled-in Vitals form, through clinical.ingest)."""

import json
import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from clinical.models import Observation
from clinical.tests.alert_helpers import dailies, reading
from messaging import threads
from messaging.readings import reported_readings
from messaging.tests.factories import default_thread

pytestmark = pytest.mark.django_db


def _spec(html, key):
    start = html.index(f'id="chart-{key}-spec"')
    return json.loads(html[html.index(">", start) + 1:html.index("</script>", start)])


def test_wearable_resting_hr_shows_on_vitals_when_vitals_has_none(login, world):
    patient = world.cardiac_patients[1]
    dailies(patient, {1: 58, 2: 60, 3: 61}, "resting_hr", now=timezone.now())
    html = login(world.clinician).get(f"/patients/{patient.pk}/vitals/").content.decode()
    series = next(s for s in _spec(html, "heart_rate")["series"] if s["key"] == "resting_heart_rate")
    assert sorted(v for _x, v in series["points"]) == [58, 60, 61]
    assert 'data-testid="rhr-from-wearables"' in html and "Oura" in html


def test_recorded_resting_hr_wins_and_no_note(login, world):
    patient = world.cardiac_patients[1]
    dailies(patient, {1: 58}, "resting_hr", now=timezone.now())
    reading(patient, "resting_heart_rate", 64, timezone.now() - timedelta(hours=2), source="staff")
    html = login(world.clinician).get(f"/patients/{patient.pk}/vitals/").content.decode()
    series = next(s for s in _spec(html, "heart_rate")["series"] if s["key"] == "resting_heart_rate")
    assert [v for _x, v in series["points"]] == [64]
    assert 'data-testid="rhr-from-wearables"' not in html


@pytest.mark.parametrize("text, expected", [
    ("BP was 150/95 this morning", [("blood_pressure", 150, 95, "mmHg")]),
    ("Appointment 12/03? sugar 6.1 after breakfast", [("glucose", 6.1, None, "mmol/L")]),
    ("Weighed 182 lbs, pulse 88", [("weight", 182, None, "lb"), ("heart_rate", 88, None, "bpm")]),
    ("oxygen 93% and 135/85", [("spo2", 93, None, "%"), ("blood_pressure", 135, 85, "mmHg")]),
    ("see you on 3/4, thanks", []),
])
def test_reported_readings_parser(text, expected):
    got = [(r.metric, r.value, r.value2, r.unit) for r in reported_readings(text)]
    assert sorted(got) == sorted(expected)


def test_a_reading_in_a_message_becomes_an_observation_in_two_clicks(login, world):
    patient = world.me
    thread = default_thread(patient, world.clinician, body="How are you?")
    threads.message_send(thread=thread, sender=world.patient_user, body="BP was 150/95 this morning, a bit dizzy")
    client = login(world.clinician)
    html = client.get(f"/messages/{thread.pk}/").content.decode()
    link = unescape(re.search(r'<a href="([^"]+)" data-testid="record-reading">Record 150/95 mmHg', html).group(1))
    # Click 1: the Vitals form, filled in.
    page = client.get(link)
    form = page.context["form"]
    assert page.status_code == 200 and 'data-testid="prefilled"' in page.content.decode()
    data = {name: form[name].value() for name in form.fields}
    assert (data["metric"], data["value"], data["value2"], data["setting"]) == ("blood_pressure", "150", "95", "home")
    # Click 2: Save.
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post(f"/patients/{patient.pk}/vitals/", {**data, "days": 30})
    assert response.status_code == 302
    obs = Observation.objects.get(patient=patient, metric="blood_pressure")
    assert (obs.value, obs.value2, obs.source, obs.context) == (150, 95, "staff", "home")
    assert "Reported by the patient in a message" in obs.details.get("note", "")


def test_no_link_for_staff_messages_or_roles_that_cannot_record(login, world):
    thread = default_thread(world.me, world.clinician, body="Target is below 130/80")
    html = login(world.clinician).get(f"/messages/{thread.pk}/").content.decode()
    assert 'data-testid="record-reading"' not in html
    threads.message_send(thread=thread, sender=world.patient_user, body="ok 128/79")
    html = login(world.patient_user).get(f"/portal/messages/{thread.pk}/").content.decode()
    assert 'data-testid="record-reading"' not in html


def test_bad_prefill_is_ignored_not_an_error(login, world):
    patient = world.cardiac_patients[1]
    page = login(world.clinician).get(f"/patients/{patient.pk}/vitals/?from_message=x&metric=blood_pressure"
                                      "&value=nan&unit=furlongs&at=yesterday")
    assert page.status_code == 200
    form = page.context["form"]
    assert form["value"].value() is None and form["unit"].value() == "mmHg"
    page = login(world.clinician).get(f"/patients/{patient.pk}/vitals/?from_message=x&metric=../../etc")
    assert page.status_code == 200 and 'data-testid="prefilled"' not in page.content.decode()
