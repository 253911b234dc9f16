"""One queue filter (clinical.triage.filter_alerts): the page /alerts/ and /api/v1/alerts/
list the same alerts, in the same order, for the same parameters; snoozed alerts are out
of the default view on both, and `snoozed=1` or `status=snoozed` brings them back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinical import alerting
from clinical.tests.test_triage import make_alert

pytestmark = pytest.mark.django_db


def page_ids(client, params) -> list[str]:
    response = client.get("/alerts/", params)
    assert response.status_code == 200
    return [str(a.pk) for a in response.context["alerts"]]


def api_ids(api, params) -> list[str]:
    response = api.get("/api/v1/alerts/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    return [item["id"] for item in (body["results"] if isinstance(body, dict) else body)]


@pytest.fixture
def queue(world):
    """Open alerts of both programs and another tenant, plus: a snoozed one, an acknowledged
    one assigned to the lead, a resolved one."""
    c1, c2, m1 = world.cardiac_patients[1], world.cardiac_patients[2], world.metabolic_patients[0]
    alerts = {
        "cardiac_warning_old": make_alert(c1, "hypoglycemia_level_1", minutes_old=600),
        "cardiac_critical_new": make_alert(c2, "spo2_low", minutes_old=10),
        "cardiac_critical_old": make_alert(c1, "hypertensive_crisis", minutes_old=120),
        "metabolic": make_alert(m1, "hypoglycemia_level_2", minutes_old=30),
        "foreign": make_alert(world.foreign_patients[0], "spo2_low", minutes_old=30),
    }
    snoozed = alerts["cardiac_warning_old"]
    alerting.alert_snooze(alert=snoozed, actor=world.lead, until=timezone.now() + timedelta(hours=3),
                          reason="Rechecking tonight")
    acked = make_alert(world.cardiac_patients[3], "weight_gain_3d", minutes_old=45)
    alerting.alert_assign(alert=acked, actor=world.lead, assignee=world.lead)
    alerting.alert_acknowledge(alert=acked, actor=world.lead, note="Calling")
    resolved = make_alert(world.metabolic_patients[1], "hypoglycemia_level_1", minutes_old=90)
    alerting.alert_resolve(alert=resolved, actor=world.lead, note="Fine")
    return {**alerts, "snoozed": snoozed, "acked": acked, "resolved": resolved}


def test_page_and_api_list_the_same_alerts_for_the_same_parameters(world, login, api_login, queue):
    client, api = login(world.lead), api_login(world.lead)
    patient = world.cardiac_patients[1]
    cases = [
        {}, {"status": "open"}, {"snoozed": "1"}, {"status": "snoozed"}, {"status": "active"},
        {"status": "acknowledged"}, {"status": "resolved"}, {"status": "all"}, {"severity": "critical"},
        {"severity": "warning", "snoozed": "1"}, {"program": str(world.metabolic.pk)},
        {"program": str(world.other_program.pk)}, {"patient": str(patient.pk), "status": "all"},
        {"mine": "1", "status": "all"}, {"q": patient.last_name, "snoozed": "1"},
    ]
    seen = set()
    for params in cases:
        listed = page_ids(client, params)
        assert listed == api_ids(api, params), params
        seen.update(listed)
    # The cases are not all empty: every alert of the tenant shows up somewhere, the foreign one never.
    assert seen == {str(a.pk) for k, a in queue.items() if k != "foreign"}


def test_snoozed_alerts_are_hidden_by_default_on_page_and_api(world, login, api_login, queue):
    snoozed = str(queue["snoozed"].pk)
    for ids in (lambda p: page_ids(login(world.clinician), p), lambda p: api_ids(api_login(world.clinician), p)):
        assert snoozed not in ids({})
        assert snoozed in ids({"snoozed": "1"})
        assert ids({"status": "snoozed"}) == [snoozed]


def test_bad_parameters_are_an_inline_error_on_the_page_and_400_in_the_api(world, login, api_login, queue):
    page = login(world.lead).get("/alerts/", {"status": "nonsense", "severity": "loud"})
    assert page.status_code == 200 and set(page.context["errors"]) == {"status", "severity"}
    api = api_login(world.lead)
    for params in ({"status": "nonsense"}, {"severity": "loud"}, {"patient": "not-an-id"},
                   {"program": "not-an-id"}):
        response = api.get("/api/v1/alerts/", params)
        assert response.status_code == 400 and set(response.json()) == set(params), params
