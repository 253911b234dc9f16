"""In a real browser: the cardio clinician signs in (password, then TOTP code)
and opens a patient from the registry."""

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def totp_now(secret):
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def test_cardio_clinician_logs_in_and_opens_a_patient(live_server, browser_page, world, settings):
    from allauth.mfa.models import Authenticator

    settings.MAHALO_REQUIRE_STAFF_MFA = True
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    target = world.cardiac_patients[1]
    page = browser_page

    page.goto(f"{live_server.url}/patients/")
    assert "/accounts/login/" in page.url
    assert axe_violations(page) == []
    page.get_by_label("Email").fill(world.clinician.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    page.locator("input[name=code]").fill(totp_now(secret))
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/patients/")

    rows = page.locator("#results tbody tr")
    assert rows.count() == len(world.cardiac_patients)
    body = page.locator("#results").inner_text()
    for other in world.metabolic_patients + world.foreign_patients:
        assert other.email not in body
    assert axe_violations(page) == []

    # Search narrows the table through HTMX without a page load, and the URL follows.
    page.get_by_label("Search").fill(target.email)
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert f"q={target.email.split('@')[0]}" in page.url

    page.get_by_role("link", name=f"{target.last_name}, {target.first_name}").click()
    page.wait_for_url(f"{live_server.url}/patients/{target.pk}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith(target.first_name)
    assert axe_violations(page) == []
