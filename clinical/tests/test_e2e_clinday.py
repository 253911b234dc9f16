"""In a real browser (1440 and 375 px, axe-core): the clinician's day pages of issue 21 -
the alert page (chart of the readings that fired it, next steps, snooze presets), the chart
header at a glance, RPM consent on the RPM tab, a confirmation that names the thing, and a
notification that names the patient and is read once the thread is opened."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinical import alerting
from clinical.models import Alert, Recommendation, RpmConsent
from clinical.recommendations import recommendation_add
from clinical.tests.alert_helpers import bp, default_rule
from conftest import axe_violations, enrol_totp
from mahalo.tests.test_e2e_charts import wait_for_charts
from messaging import threads
from messaging.models import Notification
from messaging.tests.factories import default_thread
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    folder = os.environ.get("E2E_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def _clinician(page, live_server, world):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, secret)


def _wait_for_chart(page, key):
    wait_for_charts(page, 1)
    assert page.locator(f'canvas[data-chart="chart-{key}-spec"]').count() == 1


def test_alert_page_chart_steps_and_snooze_preset(live_server, browser_page, world):
    patient = world.cardiac_patients[1]
    patient.medication_allergies = "Penicillin (hives)"
    patient.chronic_conditions = "CABG 2025; Hypertension"
    patient.save()
    now = timezone.now()
    bp(patient, 132, 84, now - timedelta(days=4))
    bp(patient, 191, 104, now - timedelta(hours=3))
    bp(patient, 186, 98, now - timedelta(hours=1))
    alert = alerting.evaluate_patient(patient, [default_rule(world.cardiac, "hypertensive_crisis")])[0].alert
    page = browser_page
    _clinician(page, live_server, world)
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    _wait_for_chart(page, "alert-readings")
    expect(page.get_by_role("link", name="Book a visit")).to_be_visible()
    expect(page.get_by_role("link", name="Message the patient")).to_be_visible()
    fired = Alert.objects.get(pk=alert.pk).trigger_count
    expect(page.get_by_test_id("fired-count")).to_contain_text(f"{fired} time")
    assert axe_violations(page) == []
    shot(page, "alert-detail-1440.png")
    page.get_by_label("Reason (required)").fill("Rechecking after medication change")
    page.get_by_role("button", name="Tomorrow 08:00").click()
    expect(page.get_by_text("Alert snoozed.")).to_be_visible()
    assert Alert.objects.get(pk=alert.pk).snoozed_until is not None

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    _wait_for_chart(page, "alert-readings")
    assert axe_violations(page) == []
    shot(page, "alert-detail-375.png")

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    banner = page.get_by_test_id("allergies-banner")
    expect(banner).to_contain_text("Penicillin (hives)")
    expect(page.get_by_test_id("latest-vitals")).to_contain_text("186/98")
    assert axe_violations(page) == []
    shot(page, "chart-glance-1440.png")
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    expect(banner).to_be_visible()
    assert page.evaluate("document.querySelector('.glance').scrollWidth <= document.querySelector('.glance')"
                         ".clientWidth + 1")  # the header itself never causes sideways scroll
    assert axe_violations(page) == []
    shot(page, "chart-glance-375.png")


def test_rpm_consent_and_a_named_confirmation(live_server, browser_page, world):
    patient = world.cardiac_patients[1]
    rec = recommendation_add(patient=patient, domain="stress", content="Box breathing twice a day",
                             actor=world.clinician)
    page = browser_page
    _clinician(page, live_server, world)
    page.goto(f"{live_server.url}/patients/{patient.pk}/rpm/")
    expect(page.get_by_test_id("rpm-no-consent")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("How").select_option("verbal")
    page.get_by_label("Given by").fill("Patient (by phone)")
    page.get_by_role("button", name="Record consent").click()
    expect(page.get_by_text("RPM consent recorded.")).to_be_visible()
    expect(page.get_by_test_id("rpm-consent")).to_contain_text("Verbal (documented by staff)")
    assert RpmConsent.objects.get(patient=patient).given_by == "Patient (by phone)"
    assert axe_violations(page) == []
    shot(page, "rpm-consent-1440.png")
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    assert axe_violations(page) == []
    shot(page, "rpm-consent-375.png")

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/patients/{patient.pk}/recommendations/")
    page.locator(".confirm-inline summary", has_text="Retire").click()
    yes = page.get_by_role("button", name="Yes, retire “Box breathing")
    expect(yes).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "confirm-inline-1440.png")
    yes.click()
    expect(page.get_by_text("Recommendation retired")).to_be_visible()
    assert not Recommendation.objects.get(pk=rec.pk).is_active


def test_a_named_notification_is_read_when_the_thread_is_opened(live_server, browser_page, world):
    thread = default_thread(world.me, world.clinician, body="How are your readings?")
    threads.message_send(thread=thread, sender=world.patient_user, body="BP was 150/95 this morning")
    page = browser_page
    _clinician(page, live_server, world)
    page.goto(f"{live_server.url}/notifications/")
    item = page.locator("li.notification").first
    expect(item).to_contain_text(f"Message from {world.me.full_name}")
    assert axe_violations(page) == []
    shot(page, "notifications-1440.png")
    item.get_by_role("button", name="Open").click()
    page.wait_for_url(f"{live_server.url}/messages/{thread.pk}/")
    expect(page.get_by_test_id("record-reading")).to_have_text("Record 150/95 mmHg as a reading")
    assert axe_violations(page) == []
    shot(page, "thread-record-reading-1440.png")
    assert Notification.objects.get(recipient=world.clinician, channel="in_app").seen_at is not None
    page.get_by_test_id("record-reading").click()
    expect(page.get_by_test_id("prefilled")).to_be_visible()
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/notifications/")
    assert axe_violations(page) == []
    shot(page, "notifications-375.png")
