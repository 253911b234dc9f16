"""In a real browser: a patient self-books an open slot in the portal, and the
clinician sees the visit in their week view (HTMX navigation), both pages axe-clean."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from patients.tests.test_e2e_chart import sign_in
from scheduling.models import Visit
from scheduling.tests.factories import AvailabilityFactory, set_policy, staff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def portal_sign_in(page, live_server, user, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/**")


def test_patient_self_books_and_the_clinician_sees_it_in_the_week_view(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    set_policy(world.cardiac, "self_book")
    tz = world.cardiac.tz
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician), rrule="FREQ=DAILY",
                        start_time=time(9), end_time=time(11))
    page = browser_page

    portal_sign_in(page, live_server, world.patient_user, world.password)
    page.goto(f"{live_server.url}/portal/visits/")
    page.get_by_role("link", name="Book a visit").click()
    page.wait_for_url("**/portal/visits/book/")
    assert axe_violations(page) == []
    tomorrow = timezone.now().astimezone(tz).date() + timedelta(days=1)
    day_heading = page.get_by_role("heading", name=f"{tomorrow:%A}, {tomorrow:%b} {tomorrow.day}")
    expect(day_heading).to_be_visible()
    page.locator("label.slot", has_text="10:00").first.click()
    page.get_by_label("What is the visit about?").fill("Dizzy after exercise")
    page.get_by_role("button", name="Book this time").click()
    page.wait_for_url("**/portal/visits/*/")
    expect(page.get_by_text("Your visit is booked.")).to_be_visible()
    visit = Visit.objects.get()
    assert visit.patient == world.me and visit.patient_initiated and visit.reason == "Dizzy after exercise"
    assert visit.starts_at.astimezone(tz).hour == 10

    page.context.clear_cookies()
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    sign_in(page, live_server, world.clinician, world.password, secret)
    page.get_by_role("link", name="Schedule").click()
    page.wait_for_url("**/schedule/")
    visit_day = visit.starts_at.astimezone(tz).date()
    visit_monday = visit_day - timedelta(days=visit_day.weekday())
    today = timezone.now().astimezone(tz).date()
    # Step forward with the HTMX "next" button when the visit falls in next week.
    if visit_monday > today - timedelta(days=today.weekday()):
        page.get_by_role("link", name="Next week").click()
        expect(page.locator(".sched-title")).to_contain_text(f"{visit_monday:%b} {visit_monday.day} –")
        page.wait_for_url("**/schedule/?*date=*")
    block = page.locator(".sched-visit", has_text=world.me.full_name)
    expect(block).to_be_visible()
    expect(block).to_contain_text("10:00")
    assert axe_violations(page) == []
    block.get_by_role("link").click()
    page.wait_for_url(f"**/schedule/visits/{visit.pk}/")
    expect(page.get_by_text("Dizzy after exercise")).to_be_visible()
    expect(page.get_by_text("booked by the patient")).to_be_visible()
