"""In a real browser: a clinician generates the cardiac rehab report on the chart's Reports tab (1440 px),
e-mails a link and revokes it; the patient reads their weekly summary in the portal at 375 px.
axe-core: no serious or critical finding on any page."""

import os

import pytest
from allauth.mfa.models import Authenticator
from django.test import override_settings
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from messaging.models import Notification
from patients.tests.test_e2e_chart import sign_in
from reports.models import Report, ReportExport
from reports.tests.factories import cardiac_data, summary_row
from reports.weekly import compose, last_week

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    folder = os.environ.get("E2E_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name), full_page=True)


@pytest.fixture
def media(tmp_path, settings):
    with override_settings(
        MEDIA_ROOT=str(tmp_path),
        STORAGES={**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    ):
        yield


def test_a_clinician_generates_shares_and_revokes_a_report(live_server, browser_page, world, media):
    patient = world.me
    cardiac_data(patient, days=14)
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, secret)
    page.goto(f"{live_server.url}/patients/{patient.pk}/reports/")
    expect(page.get_by_role("heading", name="Generate a report")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("Report", exact=True).select_option(label="Cardiac rehab progress (84 days, for the clinician)")
    page.get_by_role("button", name="Generate").click()
    # Without a broker the task runs in the request: the page lands on a finished report (with a broker
    # the progress panel polls until it is).
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible(timeout=60_000)
    report = Report.objects.get(patient=patient)
    assert report.status == "done" and report.pdf_pages >= 2
    expect(page.get_by_role("heading", name="What the report says")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "reports-detail-1440.png")

    page.get_by_label("Recipient's e-mail").fill(world.lead.email)
    page.get_by_role("button", name="E-mail link").click()
    expect(page.get_by_text(f"A link was e-mailed to {world.lead.email}")).to_be_visible()
    mail = Notification.objects.get(event_type="report_shared", recipient=world.lead)
    assert patient.last_name not in mail.body
    export = ReportExport.objects.get(kind="email")

    anonymous = page.context.browser.new_page()
    anonymous.goto(f"{live_server.url}{mail.link}")
    expect(anonymous.get_by_role("heading", name="Cardiac rehab progress")).to_be_visible()
    assert axe_violations(anonymous) == []

    page.get_by_role("button", name="Revoke the e-mailed link").click()
    expect(page.get_by_text("The link was revoked")).to_be_visible()
    export.refresh_from_db()
    assert export.revoked_at is not None
    response = anonymous.goto(f"{live_server.url}{mail.link}")
    assert response.status == 404
    anonymous.close()

    # Printing a chart tab: the frame, tabs and toolbars go; the graphs and the table stay.
    page.goto(f"{live_server.url}/patients/{patient.pk}/vitals/")
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("nav[aria-label='Chart sections']")).to_be_hidden()
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    shot(page, "reports-print-vitals.png")
    page.emulate_media(media="screen")


def test_a_patient_reads_the_weekly_summary_on_a_phone(live_server, browser_page, world):
    patient = world.me
    cardiac_data(patient, days=10)
    week = last_week(patient)
    summary = summary_row(patient, week)
    summary.snapshot = compose(patient, week)
    summary.save()
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/portal/summaries/")
    page.get_by_label("Email").fill(world.patient_user.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/summaries/")
    expect(page.get_by_role("heading", name="Last week")).to_be_visible()
    expect(page.get_by_text("Readings in range")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    shot(page, "reports-portal-summary-375.png")
