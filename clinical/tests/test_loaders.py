"""Clinical rows reached by an id from a URL or a form go through the gate's loader
(access.load): another program's, another patient's, a missing and a malformed id are all
the same 404, and nothing is changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinical import labs
from clinical.models import ClinicalRule, LabOrder, Observation, Recommendation
from clinical.recommendations import recommendation_add
from clinical.tests.alert_helpers import default_rule, reading
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_dry_run_of_another_programs_rule_in_the_same_tenant_is_404(world, login):
    """Issue 12 item 8: the cardiac clinician could read the metabolic program's rule."""
    theirs = default_rule(world.metabolic, "hypoglycemia_level_1")
    mine = default_rule(world.cardiac, "hypoglycemia_level_1")
    clinician = login(world.clinician)
    response = clinician.get(f"/alerts/rules/{theirs.pk}/dry-run/")
    assert response.status_code == 404 and theirs.name.encode() not in response.content
    assert clinician.get(f"/alerts/rules/{mine.pk}/dry-run/").status_code == 200
    assert clinician.get("/alerts/rules/00000000-0000-0000-0000-000000000000/dry-run/").status_code == 404
    # The global lead sees both; a project-level rule is every program's.
    assert login(world.lead).get(f"/alerts/rules/{theirs.pk}/dry-run/").status_code == 200
    project_rule = ClinicalRule.objects.get(pk=mine.pk)
    project_rule.pk, project_rule.program, project_rule.code = None, None, "project_wide"
    project_rule.save()
    assert login(world.clinician).get(f"/alerts/rules/{project_rule.pk}/dry-run/").status_code == 200
    assert login(world.outsider).get(f"/alerts/rules/{project_rule.pk}/dry-run/").status_code == 404


def test_dry_run_refuses_a_patient_of_another_program(world, login):
    theirs = default_rule(world.metabolic, "hypoglycemia_level_1")
    lead = login(world.lead)
    assert lead.get(f"/alerts/rules/{theirs.pk}/dry-run/?patient={world.cardiac_patients[1].pk}").status_code == 404
    assert lead.get(f"/alerts/rules/{theirs.pk}/dry-run/?patient={world.metabolic_patients[0].pk}").status_code == 200


def test_an_alert_of_another_program_is_404_and_the_denial_audited(world, login):
    from clinical.tests.test_triage import make_alert

    theirs = make_alert(world.metabolic_patients[0], "hypoglycemia_level_2")
    client = login(world.clinician)
    assert client.get(f"/alerts/{theirs.pk}/").status_code == 404
    assert client.post(f"/alerts/{theirs.pk}/acknowledge/", {"note": "x"}).status_code == 404
    assert client.get("/alerts/not-a-uuid/").status_code == 404
    assert AuditEvent.objects.filter(action="denied", object_id=str(theirs.pk), actor=world.clinician).exists()
    theirs.refresh_from_db()
    assert theirs.status == "active"


def test_a_lab_order_of_another_patient_is_404_under_my_patients_url(world, login):
    mine, other = world.cardiac_patients[1], world.cardiac_patients[2]
    theirs = labs.lab_order_create(patient=other, tests=["TSH"], actor=world.lead)
    client = login(world.clinician)
    url = f"/patients/{mine.pk}/labs/"
    assert client.post(url, {"action": "transition", "order": str(theirs.pk), "to": "cancelled",
                             "reason": "x"}).status_code == 404
    assert client.post(url, {"action": "transition", "order": "junk", "to": "cancelled"}).status_code == 404
    now = timezone.now().astimezone(mine.program.tz).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"action": "results", "order": str(theirs.pk), "recorded_at": now,
                                 "r-TOTAL_FORMS": "1", "r-INITIAL_FORMS": "0", "r-0-test_name": "TSH",
                                 "r-0-value": "2.1", "r-0-unit": "mIU/L"})
    assert response.status_code == 404
    assert LabOrder.objects.get(pk=theirs.pk).status == "ordered"


def test_retiring_another_patients_recommendation_is_404(world, login):
    mine, other = world.cardiac_patients[1], world.cardiac_patients[2]
    theirs = recommendation_add(patient=other, domain="sleep", content="Lights out by 10", actor=world.lead)
    client = login(world.clinician)
    assert client.post(f"/patients/{mine.pk}/recommendations/{theirs.pk}/retire/").status_code == 404
    assert Recommendation.objects.get(pk=theirs.pk).is_active


def test_entered_in_error_only_for_this_patients_manual_observations(world, login):
    mine, other = world.cardiac_patients[1], world.cardiac_patients[2]
    at = timezone.now() - timedelta(hours=1)
    reading(other, "heart_rate", 70, at, source="staff")
    reading(mine, "heart_rate", 71, at, source="withings")  # a device's reading can't be withdrawn by hand
    client = login(world.clinician)
    for obs in (Observation.objects.get(patient=other), Observation.objects.get(patient=mine)):
        response = client.post(f"/patients/{mine.pk}/vitals/{obs.pk}/entered-in-error/", {"reason": "typo"})
        assert response.status_code == 404
        obs.refresh_from_db()
        assert not (obs.details or {}).get("entered_in_error")
