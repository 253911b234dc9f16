"""In a real browser: filter the registry (HTMX, URL follows, back button works)
and open a chart tab."""

import pytest
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from patients import services
from patients.models import PatientFlag
from patients.tests.test_e2e_registry import totp_now

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user, password, secret):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    page.locator("input[name=code]").fill(totp_now(secret))
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")


def test_filter_the_registry_and_open_a_chart_tab(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.lead).delete()
    secret = enrol_totp(world.lead)
    flagged = world.metabolic_patients[1]
    PatientFlag.objects.create(patient=flagged, flag="FALL_RISK")
    services.patient_update(patient=flagged, actor=world.lead, changes={"notes": "Uses a walker"})
    page = browser_page
    sign_in(page, live_server, world.lead, world.password, secret)

    page.goto(f"{live_server.url}/patients/")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(len(world.cardiac_patients) + len(world.metabolic_patients))
    page.get_by_label("Flag").select_option("FALL_RISK")
    expect(rows).to_have_count(1)
    assert "flag=FALL_RISK" in page.url
    page.go_back()
    expect(rows).to_have_count(len(world.cardiac_patients) + len(world.metabolic_patients))
    page.go_forward()
    expect(rows).to_have_count(1)
    assert axe_violations(page) == []

    page.get_by_role("link", name=f"{flagged.last_name}, {flagged.first_name}").click()
    page.wait_for_url(f"{live_server.url}/patients/{flagged.pk}/")
    expect(page.get_by_text("Fall risk").first).to_be_visible()
    page.get_by_role("link", name="Timeline").click()
    expect(page.locator("#timeline-entries").get_by_text("Notes: — → Uses a walker")).to_be_visible()
    assert page.url == f"{live_server.url}/patients/{flagged.pk}/timeline/"
    expect(page.get_by_role("link", name="Timeline")).to_have_attribute("aria-current", "page")
    assert axe_violations(page) == []
