"""In a real browser (issue 21 items 1 and 2): the patient enters a crisis value in the
portal and sees the alarm box; the clinician acknowledges the alert; the patient enters
another crisis value and the alert is back in the clinician's queue as worsened. Axe clean,
at 1440 and 375 px. Screenshots in var/e2e/."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinical.default_rules import ensure_default_rules
from clinical.models import Alert
from conftest import axe_violations, enrol_totp
from mahalo.models import StaffMember
from patients.care_team import care_team_add
from patients.tests.test_e2e_chart import sign_in
from scheduling.tests.test_e2e_booking import portal_sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "var", "e2e")


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def enter_bp(page, live_server, sys, dia, minutes_ago):
    page.goto(f"{live_server.url}/portal/vitals/")
    form = page.locator("form[data-vt-form]")
    form.locator("[name=metric]").select_option("blood_pressure")
    form.locator("[name=value]").fill(str(sys))
    form.locator("[name=value2]").fill(str(dia))
    form.locator("[name=setting]").select_option("home")
    when = (timezone.now() - timedelta(minutes=minutes_ago)).astimezone(page.tz).strftime("%Y-%m-%dT%H:%M")
    form.locator("[name=effective_at]").fill(when)
    page.get_by_role("button", name="Save reading").click()
    page.wait_for_url("**/portal/vitals/?saved=*")


def test_crisis_value_alarm_and_worsened_alert(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    care_team_add(patient=world.me, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    ensure_default_rules(world.cardiac)
    page = browser_page
    page.tz = world.me.program.tz
    portal_sign_in(page, live_server, world.patient_user, world.password)
    enter_bp(page, live_server, 188, 126, 30)
    box = page.locator("[data-crisis]")
    expect(box).to_be_visible()
    expect(box).to_contain_text("5 minutes")
    expect(box).to_contain_text("Call 911 now")
    expect(box).to_contain_text("Your care team has been told about this reading.")
    assert axe_violations(page) == []
    shot(page, "crisis-portal-1440.png")
    page.set_viewport_size({"width": 375, "height": 800})
    expect(box).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert axe_violations(page) == []
    shot(page, "crisis-portal-375.png")
    page.set_viewport_size({"width": 1360, "height": 900})

    alert = Alert.objects.get(patient=world.me, code="hypertensive_crisis")
    page.context.clear_cookies()
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    sign_in(page, live_server, world.clinician, world.password, secret)
    page.goto(f"{live_server.url}/alerts/")
    page.locator(f"#alert-{alert.pk}").get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#alert-{alert.pk}")).to_contain_text("Alert acknowledged.")

    page.context.clear_cookies()
    portal_sign_in(page, live_server, world.patient_user, world.password)
    enter_bp(page, live_server, 188, 126, 5)
    expect(page.locator("[data-crisis]")).to_contain_text("Your care team has been told")

    page.context.clear_cookies()
    Authenticator.objects.filter(user=world.clinician).delete()   # a fresh secret: a used TOTP code is refused
    sign_in(page, live_server, world.clinician, world.password, enrol_totp(world.clinician))
    page.goto(f"{live_server.url}/alerts/")
    row = page.locator(f"#alert-{alert.pk}")
    expect(row).to_contain_text("Worsened after acknowledgement")
    expect(row.get_by_role("button", name="Acknowledge")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "worsened-queue-1440.png")
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    # The page also has the frame's (empty) assertive live region, which is role=alert too.
    expect(page.get_by_role("alert").filter(has_text="back in the queue")).to_be_visible()
    expect(page.locator(".al-history")).to_contain_text("Worsened: back in the queue")
    assert axe_violations(page) == []
    shot(page, "worsened-detail-1440.png")
    page.goto(f"{live_server.url}/patients/{world.me.pk}/vitals/")
    expect(page.locator(".vt-row-critical").first).to_contain_text("Patient shown crisis guidance")
    shot(page, "crisis-staff-vitals-1440.png")
