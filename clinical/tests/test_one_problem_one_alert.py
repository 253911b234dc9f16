"""Issue 21 item 8: one clinical problem raises one alert. Home and office stage-2
averages of the same high blood pressure used to open two alerts; level 1 and level 2
hypoglycaemia two as well."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinical import alerting
from clinical.models import Alert, RuleExecution
from clinical.tests.alert_helpers import bp, default_rule, reading

pytestmark = pytest.mark.django_db


def _stage2(world):
    patient = world.cardiac_patients[0]
    home = default_rule(world.cardiac, "bp_stage2_home")
    office = default_rule(world.cardiac, "bp_stage2_office")
    now = timezone.now()
    for i in range(3):
        bp(patient, 150, 95, now - timedelta(days=i + 1), context="home")
        bp(patient, 152, 96, now - timedelta(days=i + 1, hours=3), context="office")
    return patient, home, office


def test_home_and_office_averages_of_one_high_bp_raise_one_alert(world):
    patient, home, office = _stage2(world)
    outcomes = alerting.evaluate_patient(patient, [home, office])
    assert all(o.result.fired for o in outcomes)
    alerts = Alert.objects.filter(patient=patient, status__in=Alert.OPEN)
    assert alerts.count() == 1
    alert = alerts.get()
    assert "bp_stage2_office" in alert.evidence["also"]
    assert RuleExecution.objects.filter(alert=alert).count() == 2  # both firings are on the record
    # Re-running the same data changes nothing and opens nothing.
    alerting.evaluate_patient(patient, [home, office])
    assert Alert.objects.filter(patient=patient).count() == 1
    assert Alert.objects.get(pk=alert.pk).trigger_count == 2  # opened, then the office side added


def test_resolving_the_problem_does_not_let_the_other_side_reopen_it(world):
    patient, home, office = _stage2(world)
    alert = alerting.evaluate_patient(patient, [home, office])[0].alert
    alerting.alert_resolve(alert=alert, actor=world.clinician, note="Medication adjusted")
    alerting.evaluate_patient(patient, [office, home])
    assert Alert.objects.filter(patient=patient, status__in=Alert.OPEN).count() == 0


def test_a_more_severe_level_of_the_problem_takes_over_the_milder_alert(world):
    patient = world.cardiac_patients[0]
    l1 = default_rule(world.cardiac, "hypoglycemia_level_1")
    l2 = default_rule(world.cardiac, "hypoglycemia_level_2")
    reading(patient, "glucose", 62, timezone.now() - timedelta(hours=5))
    first = alerting.evaluate_patient(patient, [l2, l1])
    milder = first[1].alert
    assert milder is not None and milder.severity == "warning"
    reading(patient, "glucose", 48, timezone.now() - timedelta(hours=1))
    alerting.evaluate_patient(patient, [l2, l1])
    open_alerts = list(Alert.objects.filter(patient=patient, status__in=Alert.OPEN))
    assert [a.code for a in open_alerts] == ["hypoglycemia_level_2"]
    milder.refresh_from_db()
    assert milder.status == "resolved" and "Merged into" in milder.closed_note
    assert "hypoglycemia_level_1" in open_alerts[0].evidence["also"]


def test_a_crisis_is_never_folded_into_a_trend(world):
    patient, home, office = _stage2(world)
    crisis = default_rule(world.cardiac, "hypertensive_crisis")
    bp(patient, 190, 100, timezone.now() - timedelta(hours=1))
    alerting.evaluate_patient(patient, [crisis, home, office])
    codes = sorted(Alert.objects.filter(patient=patient, status__in=Alert.OPEN).values_list("code", flat=True))
    assert codes == ["bp_stage2_home", "hypertensive_crisis"]
