"""The triage queue and alert pages through HTTP: visibility across programs and
tenants, order, filters, transitions (HTMX and plain), bulk acknowledge, the nav
count, the chart banner, the registry column and filter, the dry run, the API."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinical import alerting
from clinical.models import Alert, ClinicalRule, RuleExecution
from clinical.tests.alert_helpers import default_rule, reading

pytestmark = pytest.mark.django_db


def make_alert(patient, code="spo2_low", severity=None, minutes_old=60, **fields):
    rule = default_rule(patient.program, code)
    alert = Alert.objects.create(project=patient.project, patient=patient, program=patient.program, rule=rule,
                                 code=code, severity=severity or rule.severity, title=rule.name,
                                 body=f"Test alert {code}", evidence={"readings": [], "numbers": {}}, **fields)
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_old))
    alert.refresh_from_db()
    return alert


@pytest.fixture
def alerts(world):
    c1, c2 = world.cardiac_patients[1], world.cardiac_patients[2]
    m1 = world.metabolic_patients[0]
    return {
        "cardiac_warning_old": make_alert(c1, "hypoglycemia_level_1", minutes_old=600),
        "cardiac_critical_new": make_alert(c2, "spo2_low", minutes_old=10),
        "cardiac_critical_old": make_alert(c1, "hypertensive_crisis", minutes_old=120),
        "metabolic": make_alert(m1, "hypoglycemia_level_2", minutes_old=30),
        "foreign": make_alert(world.foreign_patients[0], "spo2_low", minutes_old=30),
    }


def rows(response) -> list[str]:
    return [a.pk for a in response.context["alerts"]]


# --- Access -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/alerts/", "/alerts/badge/"])
def test_login_required(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_patients_get_404(world, login, alerts):
    client = login(world.patient_user)
    assert client.get("/alerts/").status_code == 404
    assert client.get(f"/alerts/{alerts['cardiac_critical_old'].pk}/").status_code == 404


def test_queue_shows_only_visible_patients_critical_first_then_oldest(world, login, alerts):
    response = login(world.clinician).get("/alerts/")
    assert response.status_code == 200
    assert rows(response) == [alerts["cardiac_critical_old"].pk, alerts["cardiac_critical_new"].pk,
                              alerts["cardiac_warning_old"].pk]
    lead_rows = rows(login(world.lead).get("/alerts/"))
    assert alerts["metabolic"].pk in lead_rows and alerts["foreign"].pk not in lead_rows
    assert rows(login(world.outsider).get("/alerts/")) == [alerts["foreign"].pk]


def test_cardiac_clinician_never_reaches_metabolic_or_foreign_alerts(world, login, alerts):
    client = login(world.clinician)
    for key in ("metabolic", "foreign"):
        pk = alerts[key].pk
        assert client.get(f"/alerts/{pk}/").status_code == 404
        assert client.post(f"/alerts/{pk}/acknowledge/").status_code == 404
        assert client.post(f"/alerts/{pk}/dismiss/", {"note": "x"}).status_code == 404
    assert Alert.objects.get(pk=alerts["metabolic"].pk).status == "active"
    assert client.get(f"/alerts/{alerts['cardiac_critical_old'].pk}/").status_code == 200


def test_dietitian_reads_but_cannot_act(world, login, alerts):
    client = login(world.dietitian)
    assert rows(client.get("/alerts/")) == [alerts["metabolic"].pk]
    assert client.post(f"/alerts/{alerts['metabolic'].pk}/acknowledge/").status_code == 403
    assert Alert.objects.get(pk=alerts["metabolic"].pk).status == "active"


def test_unknown_action_is_404(world, login, alerts):
    assert login(world.lead).post(f"/alerts/{alerts['metabolic'].pk}/explode/").status_code == 404


# --- Filters ----------------------------------------------------------------------------------------

def test_filters(world, login, alerts):
    client = login(world.lead)
    assert set(rows(client.get("/alerts/?severity=warning"))) == {alerts["cardiac_warning_old"].pk}
    assert set(rows(client.get(f"/alerts/?program={world.metabolic.pk}"))) == {alerts["metabolic"].pk}
    assert rows(client.get(f"/alerts/?program={world.other_program.pk}")) == []     # never widens
    assert rows(client.get("/alerts/?mine=1")) == []
    alerting.alert_assign(alert=alerts["metabolic"], actor=world.lead, assignee=world.lead)
    assert rows(client.get("/alerts/?mine=1")) == [alerts["metabolic"].pk]
    patient = world.cardiac_patients[2]
    assert rows(client.get(f"/alerts/?q={patient.last_name}")) == [alerts["cardiac_critical_new"].pk]
    assert rows(client.get(f"/alerts/?patient={patient.pk}")) == [alerts["cardiac_critical_new"].pk]
    response = client.get("/alerts/?severity=bogus&status=bogus")
    assert response.status_code == 200 and response.context["errors"].keys() == {"severity", "status"}


def test_status_filters_include_snoozed_and_closed(world, login, alerts):
    client = login(world.lead)
    snoozed = alerts["cardiac_warning_old"]
    alerting.alert_snooze(alert=snoozed, actor=world.lead, until=timezone.now() + timedelta(hours=3),
                          reason="Waiting for labs")
    alerting.alert_resolve(alert=alerts["metabolic"], actor=world.lead, note="ok")
    assert snoozed.pk not in rows(client.get("/alerts/"))
    assert rows(client.get("/alerts/?status=snoozed")) == [snoozed.pk]
    assert rows(client.get("/alerts/?status=resolved")) == [alerts["metabolic"].pk]
    assert len(rows(client.get("/alerts/?status=all"))) == 4


def test_htmx_filter_returns_the_results_fragment(world, login, alerts):
    response = login(world.lead).get("/alerts/?severity=critical", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="results"' in body and "<html" not in body
    assert "HX-Request" in response["Vary"]


# --- Transitions ------------------------------------------------------------------------------------------

def test_acknowledge_from_the_row_with_htmx_swaps_the_row(world, login, alerts):
    alert = alerts["cardiac_critical_old"]
    response = login(world.clinician).post(f"/alerts/{alert.pk}/acknowledge/", {"from": "row"},
                                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and body.strip().startswith("<tr") and f'id="alert-{alert.pk}"' in body
    assert "Acknowledged" in body
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == world.clinician


def test_resolve_with_a_note_from_the_row(world, login, alerts):
    alert = alerts["cardiac_critical_old"]
    response = login(world.clinician).post(f"/alerts/{alert.pk}/resolve/", {"from": "row", "note": "Rechecked"},
                                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Resolved" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.closed_note == "Rechecked"
    # Twice: refused, with the reason in the row.
    again = login(world.clinician).post(f"/alerts/{alert.pk}/resolve/", {"from": "row"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and "already resolved" in again.content.decode()


def test_dismiss_without_a_note_shows_the_error_and_keeps_input(world, login, alerts):
    alert = alerts["cardiac_critical_old"]
    client = login(world.clinician)
    response = client.post(f"/alerts/{alert.pk}/dismiss/", {"note": " "})
    assert response.status_code == 400 and "Say why the alert is dismissed." in response.content.decode()
    assert Alert.objects.get(pk=alert.pk).status == "active"
    response = client.post(f"/alerts/{alert.pk}/dismiss/", {"note": "Duplicate of a clinic reading"})
    assert response.status_code == 302 and response["Location"] == f"/alerts/{alert.pk}/"
    assert Alert.objects.get(pk=alert.pk).status == "dismissed"


def test_snooze_needs_a_reason_and_keeps_what_was_typed(world, login, alerts):
    alert = alerts["cardiac_critical_old"]
    client = login(world.clinician)
    until = (timezone.now().astimezone(world.cardiac.tz) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/alerts/{alert.pk}/snooze/", {"until": until, "reason": ""})
    body = response.content.decode()
    assert response.status_code == 400 and "Say why the alert is snoozed." in body and until in body
    response = client.post(f"/alerts/{alert.pk}/snooze/", {"until": "not a date", "reason": "x"})
    assert response.status_code == 400 and "valid date" in response.content.decode()
    response = client.post(f"/alerts/{alert.pk}/snooze/", {"until": until, "reason": "At the ER already"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.snooze_reason == "At the ER already"
    # The time typed is the program's local time (Honolulu).
    assert alert.snoozed_until.astimezone(world.cardiac.tz).strftime("%Y-%m-%dT%H:%M") == until


def test_assign_from_the_detail_page(world, login, alerts):
    alert = alerts["cardiac_critical_old"]
    client = login(world.lead)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert world.clinician.get_full_name() in page and world.other_clinician.get_full_name() not in page
    assert client.post(f"/alerts/{alert.pk}/assign/", {"assignee": str(world.clinician.pk)}).status_code == 302
    assert Alert.objects.get(pk=alert.pk).assignee == world.clinician
    response = client.post(f"/alerts/{alert.pk}/assign/", {"assignee": str(world.other_clinician.pk)})
    assert response.status_code == 400 and Alert.objects.get(pk=alert.pk).assignee == world.clinician


def test_bulk_acknowledge_only_touches_visible_active_alerts(world, login, alerts):
    client = login(world.clinician)
    ids = [alerts[k].pk for k in ("cardiac_critical_old", "cardiac_warning_old", "metabolic", "foreign")]
    response = client.post("/alerts/bulk/", {"alert": ids, "action": "acknowledge", "next": "/alerts/"})
    assert response.status_code == 302 and response["Location"] == "/alerts/"
    statuses = {k: Alert.objects.get(pk=a.pk).status for k, a in alerts.items()}
    assert statuses["cardiac_critical_old"] == statuses["cardiac_warning_old"] == "acknowledged"
    assert statuses["metabolic"] == statuses["foreign"] == statuses["cardiac_critical_new"] == "active"
    assert client.post("/alerts/bulk/", {"next": "https://evil.test/"})["Location"] == "/alerts/"


def test_detail_shows_evidence_in_program_time_and_history(world, login):
    patient = world.cardiac_patients[1]
    rule = default_rule(world.cardiac, "hypertensive_crisis")
    at = timezone.now() - timedelta(hours=2)
    reading(patient, "blood_pressure", 192, at, 104, context="home")
    alert = alerting.evaluate_patient(patient, [rule])[0].alert
    alerting.alert_acknowledge(alert=alert, actor=world.clinician, note="Calling now")
    response = login(world.clinician).get(f"/alerts/{alert.pk}/")
    body = response.content.decode()
    local = at.astimezone(world.cardiac.tz)
    assert "192/104" in body and "mmHg" in body and "crisis" in body and "home" in body
    assert f"{local:%H:%M}" in body and "Pacific/Honolulu" in body
    assert "Opened" in body and "Acknowledged" in body and "Calling now" in body


# --- Nav, chart, registry -----------------------------------------------------------------------------------

def test_nav_item_with_a_cheap_cached_count(world, login, alerts):
    client = login(world.clinician)
    response = client.get("/alerts/")
    item = next(i for i in response.context["nav_items"] if i["label"] == "Alerts")
    assert item["badge"] == 3 and item["active"]
    alerting.alert_snooze(alert=alerts["cardiac_warning_old"], actor=world.clinician,
                          until=timezone.now() + timedelta(hours=1), reason="later")   # clears the actor's cache
    badge = client.get("/alerts/badge/")
    assert badge.status_code == 200 and ">2<" in badge.content.decode()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=world.clinician.pk)
    alerting.forget_count(user)
    with CaptureQueriesContext(connection) as ctx:
        alerting.open_alert_count(user)
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    with CaptureQueriesContext(connection) as ctx:
        alerting.open_alert_count(user)
    assert len(ctx.captured_queries) == 0


def test_no_alerts_nav_without_clinical_read(world, login):
    from mahalo.models import RolePermission, StaffMember

    role = StaffMember.objects.get(user=world.dietitian).role
    RolePermission.objects.filter(role=role, resource="clinical").delete()
    response = login(world.dietitian).get("/patients/")
    assert "Alerts" not in [i["label"] for i in response.context["nav_items"]]


def test_chart_shows_open_alerts_on_every_tab(world, login, alerts):
    from django.utils.html import escape

    patient = world.cardiac_patients[1]
    crisis, low = escape(alerts["cardiac_critical_old"].title), escape(alerts["cardiac_warning_old"].title)
    client = login(world.clinician)
    for url in (f"/patients/{patient.pk}/", f"/patients/{patient.pk}/timeline/"):
        body = client.get(url).content.decode()
        assert crisis in body and low in body
    alerting.alert_resolve(alert=alerts["cardiac_critical_old"], actor=world.clinician)
    body = client.get(f"/patients/{patient.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="chart-main").content
    assert crisis not in body.decode() and low in body.decode()


def test_timeline_lists_alerts_opened_and_closed(world, login, alerts):
    alerting.alert_resolve(alert=alerts["cardiac_warning_old"], actor=world.clinician, note="Juice given")
    body = login(world.clinician).get(f"/patients/{world.cardiac_patients[1].pk}/timeline/").content.decode()
    assert "Alert (warning): Hypoglycemia level 1" in body and "Alert resolved: Hypoglycemia level 1" in body
    assert "Juice given" in body


def test_registry_column_and_filter(world, login, alerts):
    client = login(world.lead)
    response = client.get("/patients/")
    by_url = {r["url"]: r["values"]["alerts"] or 0 for r in response.context["rows"]}
    assert by_url[f"/patients/{world.cardiac_patients[1].pk}/"] == 2
    assert by_url[f"/patients/{world.cardiac_patients[3].pk}/"] == 0
    response = client.get("/patients/?alerts=open")
    assert {r["url"] for r in response.context["rows"]} == {
        f"/patients/{p.pk}/" for p in (world.cardiac_patients[1], world.cardiac_patients[2],
                                       world.metabolic_patients[0])}
    assert 'name="alerts"' in response.content.decode()
    assert client.get("/patients/?alerts=maybe").context["errors"]["alerts"]
    csv = b"".join(client.get("/patients/export.csv?alerts=open").streaming_content).decode()
    assert "Open alerts" in csv.splitlines()[0] and len(csv.strip().splitlines()) == 4


def test_registry_query_count_is_constant(world, login):
    client = login(world.lead)
    client.get("/patients/")
    with CaptureQueriesContext(connection) as few:
        client.get("/patients/")
    for patient in world.cardiac_patients + world.metabolic_patients:
        make_alert(patient, "spo2_low")
        make_alert(patient, "hypertensive_crisis")
    with CaptureQueriesContext(connection) as many:
        client.get("/patients/")
    assert len(many.captured_queries) == len(few.captured_queries)


# --- Dry run ------------------------------------------------------------------------------------------------

def test_dry_run_shows_what_would_fire_and_writes_nothing(world, login):
    patient = world.cardiac_patients[1]
    rule = default_rule(world.cardiac, "spo2_low")
    reading(patient, "spo2", 86, timezone.now() - timedelta(hours=1))
    client = login(world.clinician)
    page = client.get(f"/alerts/rules/{rule.pk}/dry-run/")
    assert page.status_code == 200 and patient.last_name in page.content.decode()
    response = client.get(f"/alerts/rules/{rule.pk}/dry-run/?patient={patient.pk}")
    body = response.content.decode()
    assert "Would fire" in body and "open a new alert" in body and "86" in body
    assert not Alert.objects.exists() and not RuleExecution.objects.exists()
    from messaging.models import Notification

    assert not Notification.objects.exists()


def test_dry_run_gates_patients_and_rules(world, login):
    rule = default_rule(world.cardiac, "spo2_low")
    client = login(world.clinician)
    assert client.get(f"/alerts/rules/{rule.pk}/dry-run/?patient={world.metabolic_patients[0].pk}"
                      ).status_code == 404
    assert client.get(f"/alerts/rules/{rule.pk}/dry-run/?patient={world.foreign_patients[0].pk}").status_code == 404
    foreign_rule = default_rule(world.other_program, "spo2_low")
    assert client.get(f"/alerts/rules/{foreign_rule.pk}/dry-run/").status_code == 404
    assert login(world.patient_user).get(f"/alerts/rules/{rule.pk}/dry-run/").status_code == 404


def test_rule_admin_is_gated(world, login):
    default_rule(world.cardiac, "spo2_low")
    default_rule(world.other_program, "spo2_low")
    client = login(world.lead)
    response = client.get("/admin/clinical/clinicalrule/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == ClinicalRule.objects.filter(project=world.project).count()
    foreign = ClinicalRule.objects.get(program=world.other_program, code="spo2_low")
    response = client.get(f"/admin/clinical/clinicalrule/{foreign.pk}/change/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")  # as for a missing rule
    own = ClinicalRule.objects.get(program=world.cardiac, code="spo2_low")
    assert "dry-run" in client.get(f"/admin/clinical/clinicalrule/{own.pk}/change/").content.decode()


# --- API ---------------------------------------------------------------------------------------------------------

def test_api_list_detail_and_actions(world, api_login, alerts):
    api = api_login(world.clinician)
    listed = api.get("/api/v1/alerts/").json()
    items = listed["results"] if isinstance(listed, dict) else listed
    assert [i["id"] for i in items] == [str(alerts[k].pk) for k in
                                        ("cardiac_critical_old", "cardiac_critical_new", "cardiac_warning_old")]
    assert api.get(f"/api/v1/alerts/{alerts['metabolic'].pk}/").status_code == 404
    assert api.post(f"/api/v1/alerts/{alerts['metabolic'].pk}/acknowledge/").status_code == 404
    pk = alerts["cardiac_critical_old"].pk
    response = api.post(f"/api/v1/alerts/{pk}/acknowledge/", {"note": "on it"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"
    again = api.post(f"/api/v1/alerts/{pk}/acknowledge/", {}, format="json")
    assert again.status_code == 400
    assert api.post(f"/api/v1/alerts/{pk}/resolve/", {"note": "done"}, format="json").json()["status"] == "resolved"
    assert api.get("/api/v1/alerts/?status=nonsense").status_code == 400
    assert api_login(world.outsider).get(f"/api/v1/alerts/{pk}/").status_code == 404
