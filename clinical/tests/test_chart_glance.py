"""Issue 21 item 9: the chart header shows the patient at a glance on every tab -
allergies banner, problem list, latest vitals with category and age, open alerts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinical import alerting
from clinical.tests.alert_helpers import bp, default_rule, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(world):
    p = world.cardiac_patients[1]
    p.medication_allergies = "Penicillin (hives)\nLisinopril"
    p.other_allergies = "Shellfish"
    p.chronic_conditions = "CABG 2025; Type 2 diabetes, Hypertension"
    p.save()
    return p


def test_every_tab_shows_allergies_problems_vitals_and_alerts(login, world, patient):
    bp(patient, 190, 100, timezone.now() - timedelta(hours=3))
    reading(patient, "spo2", 97, timezone.now() - timedelta(days=9))
    alerting.evaluate_patient(patient, [default_rule(world.cardiac, "hypertensive_crisis")])
    client = login(world.clinician)
    for tab in ("", "vitals/", "rpm/"):
        html = client.get(f"/patients/{patient.pk}/{tab}").content.decode()
        assert 'data-testid="allergies-banner"' in html, tab
        for allergy in ("Penicillin (hives)", "Lisinopril", "Shellfish"):
            assert allergy in html
        for problem in ("CABG 2025", "Type 2 diabetes", "Hypertension"):
            assert f"<li>{problem}</li>" in html
        vitals = html[html.index('data-testid="latest-vitals"'):]
        assert "190/100" in vitals and "Hypertensive crisis" in vitals and "3 h ago" in vitals
        assert "9 d ago" in vitals and "glance-stale" in vitals
        assert "Hypertensive crisis (BP &gt; 180/120)" in html  # the open alert, below


def test_no_allergies_is_said_and_vitals_need_clinical_read(login, world):
    patient = world.metabolic_patients[0]
    reading(patient, "weight", 80, timezone.now() - timedelta(days=1))
    html = login(world.dietitian).get(f"/patients/{patient.pk}/").content.decode()
    assert "No allergies recorded" in html and 'data-testid="allergies-banner"' not in html


def test_another_programs_chart_is_404(login, world, patient):
    assert login(world.other_clinician).get(f"/patients/{patient.pk}/").status_code == 404
