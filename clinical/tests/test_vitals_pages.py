"""The chart's Vitals tab and the portal's readings page, through HTTP."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinical.models import Observation
from clinical.observations import observation_mark_error, observation_record

pytestmark = pytest.mark.django_db


def vitals(patient):
    return f"/patients/{patient.pk}/vitals/"


def record(patient, actor, metric="blood_pressure", value=134, value2=82, unit="mmHg", context="home", minutes=30,
           source="staff"):
    return observation_record(patient, metric, value, unit, timezone.now() - timedelta(minutes=minutes),
                              value2=value2 if metric == "blood_pressure" else None,
                              context=context if metric in ("blood_pressure", "glucose") else "", actor=actor,
                              source=source)


def form_data(patient, **overrides):
    local = (timezone.now() - timedelta(minutes=3)).astimezone(patient.program.tz)
    data = {"metric": "blood_pressure", "value": "128", "value2": "84", "unit": "mmHg", "setting": "office",
            "glucose_context": "fasting", "effective_at": local.strftime("%Y-%m-%dT%H:%M"), "note": ""}
    data.update(overrides)
    return data


def test_login_required(client, world):
    for path in (vitals(world.me), "/portal/vitals/", "/portal/recommendations/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(vitals(world.me), form_data(world.me)).status_code == 302
    assert Observation.objects.count() == 0


def test_other_program_and_tenant_get_404(login, world):
    client = login(world.clinician)
    for patient in (world.metabolic_patients[0], world.foreign_patients[0]):
        assert client.get(vitals(patient)).status_code == 404
        assert client.post(vitals(patient), form_data(world.me)).status_code == 404
    assert login(world.outsider).get(vitals(world.me)).status_code == 404
    assert Observation.objects.count() == 0


def test_patients_cannot_open_staff_pages(login, world):
    assert login(world.patient_user).get(vitals(world.me)).status_code == 404


def test_tab_shows_categories_and_the_table_they_come_from(login, world):
    patient = world.cardiac_patients[1]
    record(patient, world.clinician, value=134, value2=82, context="home")
    record(patient, world.clinician, value=1200, value2=80, context="office", minutes=60)
    page = login(world.clinician).get(vitals(patient)).content.decode()
    assert "Stage 1 hypertension" in page  # 134/82 at home
    assert "ACC/AHA 2017" in page
    assert "Invalid: not a possible value" in page and "<s>1200/80</s>" in page
    assert "Record a reading" in page
    assert 'id="chart-blood_pressure-spec"' in page and "js/charts.js" in page


def chart_spec(page: str, key: str) -> dict:
    """The spec of one chart as the page hands it to static/js/charts.js."""
    import json
    import re

    return json.loads(re.search(rf'<script id="chart-{key}-spec" type="application/json">(.*?)</script>', page,
                                re.S).group(1))


def test_invalid_readings_stay_out_of_the_trends(login, world):
    patient = world.cardiac_patients[1]
    record(patient, world.clinician, value=118, value2=76)
    record(patient, world.clinician, value=1200, value2=80, minutes=90)
    page = login(world.clinician).get(vitals(patient)).content.decode()
    bp = chart_spec(page, "blood_pressure")
    systolic = [value for _, value in bp["series"][0]["points"]]
    assert systolic == [118]


def test_read_only_role_sees_no_form_and_cannot_post(login, world):
    patient = world.metabolic_patients[0]
    client = login(world.dietitian)
    page = client.get(vitals(patient)).content.decode()
    assert "Record a reading" not in page
    assert client.post(vitals(patient), form_data(patient)).status_code == 404
    assert Observation.objects.count() == 0


def test_entry_form_saves_in_the_program_time_zone(login, world):
    patient = world.cardiac_patients[1]
    data = form_data(patient, metric="body_temperature", value="100.4", value2="", unit="°F")
    response = login(world.clinician).post(vitals(patient), data)
    assert response.status_code == 302
    obs = Observation.objects.get(patient=patient)
    assert obs.value == pytest.approx(38.0) and obs.unit == "Cel" and obs.source == "staff"
    assert obs.entered_by == world.clinician
    local = obs.effective_at.astimezone(patient.program.tz)
    assert local.strftime("%Y-%m-%dT%H:%M") == data["effective_at"]


def test_htmx_entry_returns_the_refreshed_tab(login, world):
    patient = world.cardiac_patients[1]
    response = login(world.clinician).post(vitals(patient), form_data(patient), HTTP_HX_REQUEST="true",
                                           HTTP_HX_TARGET="chart-main")
    assert response.status_code == 200
    body = response.content.decode()
    assert "recorded" in body and "Stage 1 hypertension" in body  # 128/84 in the office
    assert Observation.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"value": "12o"}, "value"),
    ({"value2": ""}, "value2"),
    ({"unit": "kg"}, "unit"),
    ({"setting": ""}, "setting"),
    ({"effective_at": "yesterday"}, "effective_at"),
    ({"effective_at": "2099-01-01T08:00"}, "effective_at"),
])
def test_form_errors_are_inline_keep_input_and_store_nothing(login, world, overrides, field):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    data = form_data(patient, **overrides)
    response = client.post(vitals(patient), data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="chart-main")
    assert response.status_code == 200 and response["HX-Retarget"] == "#vt-entry"
    body = response.content.decode()
    assert 'class="errorlist"' in body and f'id="id_{field}-err"' in body
    assert 'aria-invalid="true"' in body
    assert f'value="{data["value"]}"' in body  # what was typed stays
    assert Observation.objects.count() == 0
    full = client.post(vitals(patient), data)
    assert full.status_code == 400 and "errorlist" in full.content.decode()
    assert Observation.objects.count() == 0


def test_table_filter_partial(login, world):
    patient = world.cardiac_patients[1]
    record(patient, world.clinician)
    record(patient, world.clinician, metric="spo2", value=97, unit="%", minutes=5)
    response = login(world.clinician).get(vitals(patient), {"metric": "spo2"}, HTTP_HX_REQUEST="true",
                                          HTTP_HX_TARGET="vt-table")
    body = response.content.decode()
    assert "Oxygen saturation" in body and "Blood pressure</td>" not in body
    assert "<canvas" not in body


def test_query_count_is_constant(login, world):
    patient = world.cardiac_patients[1]
    patient.height_cm = 175
    patient.save()
    client = login(world.clinician)
    record(patient, world.clinician)
    client.get(vitals(patient))
    with CaptureQueriesContext(connection) as few:
        assert client.get(vitals(patient)).status_code == 200
    for i in range(12):
        record(patient, world.clinician, minutes=60 * (i + 2), value=120 + i, value2=70 + i)
        record(patient, world.clinician, metric="weight", value=80 + i, value2=None, unit="kg", minutes=60 * (i + 2))
        record(patient, world.clinician, metric="glucose", value=90 + i, value2=None, unit="mg/dL",
               context="fasting", minutes=60 * (i + 2))
    with CaptureQueriesContext(connection) as many:
        assert client.get(vitals(patient)).status_code == 200
    assert len(many) == len(few)


def test_dense_metrics_are_drawn_per_day(login, world, monkeypatch):
    from clinical.views import observations as observation_views

    monkeypatch.setattr(observation_views, "MAX_POINTS", 3)
    patient = world.cardiac_patients[1]
    for i in range(5):
        record(patient, world.clinician, metric="heart_rate", value=60 + i, value2=None, unit="bpm", minutes=i + 1)
    page = login(world.clinician).get(vitals(patient)).content.decode()
    hr = chart_spec(page, "heart_rate")
    points = [p for s in hr["series"] for p in s["points"]]
    assert 1 <= len(points) <= 2  # one per local day (two if the five minutes straddle midnight)
    notes = next(s["notes"] for s in hr["series"] if s["points"])
    assert "day mean of" in notes[0][-1]


def test_mark_entered_in_error(login, world):
    patient = world.cardiac_patients[1]
    obs = record(patient, world.clinician, value=190, value2=100)
    client = login(world.clinician)
    response = client.post(f"{vitals(patient)}{obs.pk}/entered-in-error/", {"reason": "Wrong patient"})
    assert response.status_code == 302
    obs.refresh_from_db()
    assert obs.interpretation == "invalid" and obs.details["entered_in_error"] is True
    assert obs.details["original"]["category"] == "crisis"
    page = client.get(vitals(patient)).content.decode()
    assert "Entered in error" in page and "Wrong patient" in page
    # Another program's clinician can't reach it.
    other = login(world.other_clinician)
    assert other.post(f"{vitals(patient)}{obs.pk}/entered-in-error/", {"reason": "x"}).status_code == 404


def test_mark_error_takes_the_derived_bmi_along(world):
    patient = world.cardiac_patients[1]
    patient.height_cm = 170
    patient.save()
    weight = record(patient, world.clinician, metric="weight", value=95, value2=None, unit="kg")
    observation_mark_error(weight, actor=world.clinician, reason="Scale not zeroed")
    bmi = Observation.objects.get(patient=patient, metric="bmi")
    assert bmi.interpretation == "invalid" and bmi.details["entered_in_error"]


# --- Portal ------------------------------------------------------------------------------


def test_portal_entry_is_recorded_as_the_patients_own(login, world):
    client = login(world.patient_user)
    page = client.get("/portal/vitals/").content.decode()
    assert "Add a reading" in page and ">Home</option>" in page
    data = form_data(world.me, setting="home", value="136", value2="82")
    response = client.post("/portal/vitals/", data)
    assert response.status_code == 302
    obs = Observation.objects.get()
    assert obs.patient == world.me and obs.source == "patient" and obs.context == "home"
    follow = client.get("/portal/vitals/").content.decode()
    assert "Stage 2 hypertension (ACC/AHA 2017, home)" in follow


def test_portal_units_and_errors(login, world):
    client = login(world.patient_user)
    bad = client.post("/portal/vitals/", form_data(world.me, metric="weight", value="heavy", value2="", unit="lb"))
    assert bad.status_code == 400 and "Enter a number" in bad.content.decode()
    assert Observation.objects.count() == 0
    ok = client.post("/portal/vitals/", form_data(world.me, metric="glucose", value="5.5", value2="", unit="mmol/L",
                                                  glucose_context="fasting"))
    assert ok.status_code == 302
    assert Observation.objects.get().value == pytest.approx(5.5 * 18.016)


def test_portal_shows_only_my_readings(login, world):
    record(world.cardiac_patients[1], world.clinician, value=177, value2=99)
    record(world.me, world.clinician, value=121, value2=79)
    page = login(world.patient_user).get("/portal/vitals/").content.decode()
    assert "121/79" in page and "177/99" not in page


def test_staff_get_404_in_the_portal(login, world):
    assert login(world.clinician).get("/portal/vitals/").status_code == 404
    assert login(world.clinician).post("/portal/vitals/", form_data(world.me)).status_code == 404
