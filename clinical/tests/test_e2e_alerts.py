"""In a real browser: a clinician acknowledges an alert from the triage queue
(HTMX: the row updates in place), resolves another with a note; axe clean."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinical import alerting
from clinical.models import Alert
from clinical.tests.alert_helpers import bp, default_rule, reading
from conftest import axe_violations, enrol_totp
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_acknowledge_and_resolve_from_the_queue(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    crisis_patient, low_patient = world.cardiac_patients[1], world.cardiac_patients[2]
    bp(crisis_patient, 192, 104, timezone.now() - timedelta(hours=1))
    reading(low_patient, "glucose", 64, timezone.now() - timedelta(hours=2), context="fasting")
    crisis = alerting.evaluate_patient(crisis_patient, [default_rule(world.cardiac, "hypertensive_crisis")])[0].alert
    low = alerting.evaluate_patient(low_patient, [default_rule(world.cardiac, "hypoglycemia_level_1")])[0].alert
    # A real alert in another program: the queue below must hide it (two rows, not three).
    reading(world.metabolic_patients[0], "spo2", 85, timezone.now() - timedelta(hours=1))
    hidden = alerting.evaluate_patient(world.metabolic_patients[0], [default_rule(world.metabolic, "spo2_low")])
    assert hidden[0].result.fired and hidden[0].alert is not None

    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page = browser_page
    sign_in(page, live_server, world.clinician, world.password, secret)

    page.goto(f"{live_server.url}/alerts/")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#alert-{hidden[0].alert.pk}")).to_have_count(0)
    expect(rows.first).to_contain_text("Critical")              # critical first
    expect(page.get_by_role("link", name="Alerts")).to_contain_text("2")
    assert axe_violations(page) == []

    row = page.locator(f"#alert-{crisis.pk}")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#alert-{crisis.pk}")).to_contain_text("Alert acknowledged.")
    expect(page.locator(f"#alert-{crisis.pk}")).to_contain_text("Acknowledged")
    expect(page.locator(f"#alert-{crisis.pk}").get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert page.url == f"{live_server.url}/alerts/"              # in place: no navigation
    assert Alert.objects.get(pk=crisis.pk).acknowledged_by_id == world.clinician.pk

    low_row = page.locator(f"#alert-{low.pk}")
    low_row.get_by_text("Resolve…").click()
    low_row.get_by_label("Note (optional)").fill("Ate breakfast, 110 mg/dL on recheck")
    low_row.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator(f"#alert-{low.pk}")).to_contain_text("Alert resolved.")
    alert = Alert.objects.get(pk=low.pk)
    assert alert.status == "resolved" and alert.closed_note == "Ate breakfast, 110 mg/dL on recheck"
    assert axe_violations(page) == []

    page.get_by_role("link", name=crisis.title, exact=True).click()
    page.wait_for_url(f"{live_server.url}/alerts/{crisis.pk}/")
    expect(page.get_by_text("192/104", exact=True)).to_be_visible()
    assert axe_violations(page) == []
