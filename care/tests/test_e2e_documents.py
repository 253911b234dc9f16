"""In a real browser with axe-core (0 serious): the clinician writes and signs a visit note, creates a
referral and issues an excuse note (1440 px); the patient opens Documents and Lab results on a 375 px
phone (no horizontal scroll)."""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone
from playwright.sync_api import expect

from care.models import ExcuseNote, VisitNote
from care.tests.test_e2e_care import _fits, shot
from clinical import labs
from conftest import axe_violations, enrol_totp
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_notes_referrals_excuse_notes_and_the_patients_documents(live_server, browser_page, world):
    patient = world.me
    labs.lab_results_enter(patient=patient, actor=world.clinician, results=[labs.ResultIn(
        test_name="Potassium", value=3.2, unit="mmol/L", reference_low=3.5, reference_high=5.1,
        recorded_at=timezone.now() - timedelta(hours=3))])
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, secret)

    page.goto(f"{live_server.url}/patients/{patient.pk}/notes/")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Start note").click()
    page.get_by_label("Subjective").fill("Feels well; walking 30 minutes daily.")
    page.get_by_label("Plan").fill("Continue the program; recheck potassium.")
    page.get_by_label("Share the signed note with the patient as a visit summary").check()
    page.get_by_role("button", name="Pull in recent vitals, labs and medications").click()
    expect(page.get_by_label("Objective")).to_contain_text("Potassium")
    assert axe_violations(page) == []
    shot(page, "care-note-draft-1440.png")
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text("Note signed and locked.")).to_be_visible()
    assert VisitNote.objects.get().is_signed
    assert axe_violations(page) == []
    shot(page, "care-note-signed-1440.png")

    page.goto(f"{live_server.url}/patients/{patient.pk}/referrals/")
    page.get_by_label("Specialty or service").fill("Nephrology")
    page.get_by_label("Reason", exact=True).fill("Low potassium on a diuretic.")
    page.get_by_role("button", name="Create referral").click()
    expect(page.get_by_text("Referral created")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/patients/{patient.pk}/referrals/")
    page.get_by_label("Reason (printed on the note)").fill("Recovering from a procedure.")
    page.locator("#exn-start").fill(str(patient.today))
    page.locator("#exn-end").fill(str(patient.today + timedelta(days=2)))
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft note saved")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Issue to the patient").click()
    expect(page.get_by_text("Note issued")).to_be_visible()
    assert ExcuseNote.objects.get().status == "SENT"
    assert axe_violations(page) == []
    shot(page, "care-excuse-issued-1440.png")
    page.goto(f"{live_server.url}/patients/{patient.pk}/labs/")
    page.get_by_role("button", name="Release 1 new result to the patient").click()
    expect(page.get_by_text("1 result released to the patient.")).to_be_visible()

    page.context.clear_cookies()
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/portal/documents/")
    page.get_by_label("Email").fill(world.patient_user.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/documents/")
    expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    expect(page.get_by_text("Work note")).to_be_visible()
    _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, "care-portal-documents-375.png")
    page.get_by_role("link", name=VisitNote.objects.get().title).click()
    expect(page.get_by_text("Continue the program")).to_be_visible()
    _fits(page, 375)
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/portal/labs/")
    expect(page.get_by_text("Below the reference range")).to_be_visible()
    _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, "care-portal-labs-375.png")
