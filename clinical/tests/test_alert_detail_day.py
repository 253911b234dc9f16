"""Issue 21 item 8: the alert page helps the clinician act - the readings that fired it
on the shared chart, one count that is right, next steps (with a hook for tasks),
snooze presets and "next alert"."""

import json
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinical import alert_actions, alerting
from clinical.models import Alert
from clinical.tests.alert_helpers import bp, default_rule
from clinical.views.alerts import snooze_preset_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def crisis_alert(world):
    patient = world.cardiac_patients[1]
    rule = default_rule(world.cardiac, "hypertensive_crisis")
    now = timezone.now()
    bp(patient, 128, 82, now - timedelta(days=5))
    bp(patient, 190, 100, now - timedelta(hours=3))
    alerting.evaluate_patient(patient, [rule])
    bp(patient, 186, 104, now - timedelta(hours=2))
    alerting.evaluate_patient(patient, [rule])
    alerting.evaluate_patient(patient, [rule])  # the same data again: no new evidence
    return Alert.objects.get(patient=patient, rule=rule)


def _page(client, login, world, alert):
    login(world.clinician)
    response = client.get(reverse("alert_detail", args=[alert.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_readings_that_fired_it_are_on_the_shared_chart(client, login, world, crisis_alert):
    html = _page(client, login, world, crisis_alert)
    start = html.index('id="chart-alert-readings-spec"')
    spec = json.loads(html[html.index(">", start) + 1:html.index("</script>", start)])
    fired = next(s for s in spec["series"] if s["key"] == "fired")
    assert sorted(v for _x, v in fired["points"]) == [186, 190]
    line = next(s for s in spec["series"] if s["key"] == "blood_pressure")
    assert len(line["points"]) == 3  # the normal reading five days before too: context
    assert [t["y"] for t in spec["thresholds"]] == [180, 120]
    assert "js/charts.js" in html


def test_one_count_that_is_right(client, login, world, crisis_alert):
    html = _page(client, login, world, crisis_alert)
    assert crisis_alert.trigger_count == 2  # opened, then one new reading; the re-run added nothing
    assert "2 times with new readings" in html
    assert "The rule fired" not in html  # the second, disagreeing count is gone


def test_next_steps_link_to_message_call_note_and_booking(client, login, world, crisis_alert):
    html = _page(client, login, world, crisis_alert)
    pid = crisis_alert.patient_id
    assert f'{reverse("message_thread_new")}?patient={pid}' in html
    assert f'{reverse("schedule_book")}?patient={pid}' in html
    assert reverse("patient_rpm", args=[pid]) in html


def test_a_higher_app_can_add_a_step(client, login, world, crisis_alert):
    alert_actions.register_alert_action(alert_actions.AlertAction(
        "task", "Create task", 40, lambda a: f"/tasks/new/?alert={a.pk}", permission=("clinical", "write")))
    try:
        html = _page(client, login, world, crisis_alert)
        assert f"/tasks/new/?alert={crisis_alert.pk}" in html
    finally:
        alert_actions.ACTIONS.pop("task")


def test_snooze_presets(client, login, world, crisis_alert):
    login(world.clinician)
    url = reverse("alert_action", args=[crisis_alert.pk, "snooze"])
    response = client.post(url, {"preset": "tomorrow", "reason": "Rechecking in the morning"})
    assert response.status_code == 302
    crisis_alert.refresh_from_db()
    tz = crisis_alert.patient.tz
    local = crisis_alert.snoozed_until.astimezone(tz)
    assert local.time() == time(8) and local.date() == timezone.now().astimezone(tz).date() + timedelta(days=1)


def test_bad_snooze_preset_is_a_clear_400_that_keeps_the_reason(client, login, world, crisis_alert):
    login(world.clinician)
    url = reverse("alert_action", args=[crisis_alert.pk, "snooze"])
    response = client.post(url, {"preset": "forever", "reason": "Keep me"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose one of the snooze options." in html and 'value="Keep me"' in html
    response = client.post(url, {"preset": "4h", "reason": ""})
    assert response.status_code == 400 and "Say why the alert is snoozed." in response.content.decode()


def test_preset_four_hours():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.get_fixed_timezone(0))
    assert snooze_preset_until("4h", timezone.get_fixed_timezone(0), now) == now + timedelta(hours=4)
    assert snooze_preset_until("7d", timezone.get_fixed_timezone(0), now) == now + timedelta(days=7)


def test_next_alert_link(client, login, world, crisis_alert):
    other = world.cardiac_patients[2]
    bp(other, 192, 90, timezone.now() - timedelta(hours=1))
    alerting.evaluate_patient(other, [default_rule(world.cardiac, "hypertensive_crisis")])
    second = Alert.objects.get(patient=other)
    html = _page(client, login, world, crisis_alert)
    assert reverse("alert_detail", args=[second.pk]) in html and "Next alert" in html


def test_other_program_and_tenant_get_404(client, login, world, crisis_alert):
    for user in (world.other_clinician, world.outsider):
        login(user)
        assert client.get(reverse("alert_detail", args=[crisis_alert.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("alert_detail", args=[crisis_alert.pk])).status_code == 302


def test_snooze_presets_on_the_queue_row(client, login, world, crisis_alert):
    """Snoozing from the queue takes one click on a preset (with the reason), like the alert page."""
    login(world.clinician)
    html = client.get(reverse("alert_queue")).content.decode()
    url = reverse("alert_action", args=[crisis_alert.pk, "snooze"])
    row = html[html.index(f'id="alert-{crisis_alert.pk}"'):]
    row = row[:row.index("</tr>")]
    assert f'hx-post="{url}"' in row and 'name="preset" value="tomorrow"' in row
    headers = {"HTTP_HX_REQUEST": "true"}
    refused = client.post(url, {"from": "row", "preset": "4h", "reason": ""}, **headers)
    assert refused.status_code == 400 and "Say why the alert is snoozed." in refused.content.decode()
    crisis_alert.refresh_from_db()
    assert crisis_alert.snoozed_until is None
    done = client.post(url, {"from": "row", "preset": "4h", "reason": "Patient re-measuring"}, **headers)
    assert done.status_code == 200
    body = done.content.decode()
    assert "Alert snoozed." in body and "Snoozed to" in body and 'name="preset"' not in body
    crisis_alert.refresh_from_db()
    assert crisis_alert.snoozed_until > timezone.now() + timedelta(hours=3, minutes=59)
