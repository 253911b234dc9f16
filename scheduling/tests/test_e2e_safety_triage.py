"""In a real browser (issue 21 item 3): a patient asks for a visit with words that often
signal urgency; the clinician's queue shows it Untriaged, flagged "Review now" (decision
support) and first; the triage form pre-selects nothing. Axe clean. Screenshot in var/e2e/."""

import os

import pytest
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from patients.tests.test_e2e_chart import sign_in
from scheduling.tests.test_e2e_booking import portal_sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "var", "e2e")


def test_urgent_words_flag_an_untriaged_request(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    from scheduling import services

    services.request_create(patient=world.me, actor=world.patient_user, reason="Refill question")
    page = browser_page
    portal_sign_in(page, live_server, world.patient_user, world.password)
    page.goto(f"{live_server.url}/portal/visits/request/")
    page.locator("[name=reason]").fill("Chest feels tight when walking uphill")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/portal/visits/")
    expect(page.get_by_text("call 911")).to_be_visible()

    page.context.clear_cookies()
    Authenticator.objects.filter(user=world.clinician).delete()
    sign_in(page, live_server, world.clinician, world.password, enrol_totp(world.clinician))
    page.goto(f"{live_server.url}/schedule/requests/")
    first = page.locator("table.data tbody tr").first
    expect(first).to_contain_text("Untriaged")
    expect(first).to_contain_text("Review now")
    expect(first).to_contain_text("Chest feels tight")
    expect(page.locator("table.data tbody tr").nth(1)).to_contain_text("Refill question")
    assert axe_violations(page) == []
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "triage-queue-1440.png"), full_page=True)
    first.get_by_role("link").first.click()
    expect(page.get_by_role("note", name="Decision support")).to_contain_text("chest tight")
    assert page.locator("input[name=severity]:checked").count() == 0
    assert axe_violations(page) == []
    page.screenshot(path=os.path.join(SHOTS, "triage-request-1440.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=os.path.join(SHOTS, "triage-request-375.png"), full_page=True)
