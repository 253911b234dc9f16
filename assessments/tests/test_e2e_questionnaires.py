"""In a real browser: the patient answers a PHQ-9 one question per screen on a phone (375 px),
answers item 9 above "not at all" and sees crisis resources at once; the clinician's chart
tab (1440 px) shows the safety answer, the alert is in the queue, and an outcome resolves it.
axe-core: no serious or critical findings on any of these pages."""

import os

import pytest
from playwright.sync_api import expect

from assessments import instruments
from assessments.models import SafetyEvent
from assessments.tests.factories import assign
from clinical.models import Alert
from conftest import axe_violations, enrol_totp
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("E2E_SCREENSHOTS", "var/e2e")


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"assessments-{name}.png"), full_page=True)


def test_phq9_item_9_in_the_portal_reaches_the_care_team_and_shows_crisis_resources(live_server, browser_page,
                                                                                      world):
    from allauth.mfa.models import Authenticator

    assignment = assign(world.me, instruments.PHQ9, actor=world.clinician)
    browser = browser_page.context.browser
    phone = browser.new_context(viewport={"width": 375, "height": 812})
    page = phone.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(world.patient_user.email)
        page.get_by_label("Password").fill(world.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/portal/**")
        page.goto(f"{live_server.url}/portal/questionnaires/")
        assert axe_violations(page) == []
        page.get_by_role("link", name="PHQ-9").click()
        expect(page.get_by_text("Question 1 of 10")).to_be_visible()
        assert axe_violations(page) == []
        shot(page, "portal-question-375")
        answers = ["Several days"] + ["Not at all"] * 7 + ["More than half the days", "Somewhat difficult"]
        for number, label in enumerate(answers, start=1):
            expect(page.get_by_text(f"Question {number} of 10")).to_be_visible()
            page.get_by_label(label, exact=True).check()
            page.get_by_role("button", name="Review answers" if number == 10 else "Next").click()
        expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
        assert axe_violations(page) == []
        page.get_by_role("button", name="Send to my care team").click()
        crisis = page.get_by_role("alert").filter(has_text="988")  # not the frame's empty live region
        expect(crisis).to_contain_text("988")
        expect(crisis).to_contain_text("911")
        expect(page.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
        assert axe_violations(page) == []
        shot(page, "portal-crisis-375")
    finally:
        phone.close()

    alert = Alert.objects.get(patient=world.me, severity="critical")
    assert SafetyEvent.objects.get().alert_id == alert.pk

    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    staff = browser_page
    staff.set_viewport_size({"width": 1440, "height": 900})
    sign_in(staff, live_server, world.clinician, world.password, secret)
    staff.goto(f"{live_server.url}/patients/{world.me.pk}/assessments/")
    expect(staff.get_by_role("heading", name="Safety answer — needs a documented outcome")).to_be_visible()
    expect(staff.get_by_text("More than half the days").first).to_be_visible()
    assert axe_violations(staff) == []
    shot(staff, "chart-tab-1440")
    staff.get_by_label("What was done").select_option("contacted")
    staff.get_by_label("Note (who, when, what was agreed)").fill("Phoned Kai at once; safe, plan agreed.")
    staff.get_by_role("button", name="Record outcome and resolve the alert").click()
    expect(staff.get_by_text("Patient contacted (")).to_be_visible()
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert assignment.pk
