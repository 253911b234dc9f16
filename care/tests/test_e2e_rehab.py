"""In a real browser (issue 17 "done when"): a cardiac patient on a 375 px phone opens Today, marks a
dose and a walk done, logs a session with RPE and heart rate, and sees the daily score explain itself;
the clinician sees progression on the Rehab tab at 1440 px. axe-core on every page, no horizontal
scroll on the phone. Screenshots go to $E2E_ARTIFACTS (e.g. /tmp)."""

import os
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone
from playwright.sync_api import expect

from care.demo import ensure_library
from care.models import ExerciseLog, MedicationDose
from care.services import rehab
from care.tests.factories import dose, medication
from conftest import axe_violations, enrol_totp
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    folder = os.environ.get("E2E_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_today_on_a_phone_and_the_rehab_tab(live_server, browser_page, world):
    patient = world.me
    patient.resting_heart_rate, patient.max_heart_rate = 70, 150
    patient.surgery_date = patient.today - timedelta(weeks=5)
    patient.save()
    ensure_library(world.project)
    walking = rehab.exercises_for(patient).get(name="Walking")
    rx = rehab.prescription_create(patient=patient, actor=world.clinician, via="test", data=rehab.PrescriptionIn(
        exercise=walking, minutes=20, sessions_per_week=4, hrr_low=Decimal("0.34"), hrr_high=Decimal("0.50"),
        rpe_low=12, rpe_high=14, start_date=patient.today - timedelta(days=10)))
    for d in (2, 4, 6, 8):  # simulated history for the graphs
        at = datetime.combine(patient.today - timedelta(days=d), time(0, 30), tzinfo=patient.tz)
        rehab.exercise_log(patient=patient, actor=world.patient_user, data=rehab.LogIn(
            duration_min=22, performed_at=at, prescription=rx, avg_hr=100 + d, max_hr=108, rpe=12))
    med = medication(patient, world.clinician, name="Metoprolol", times=[time(8)])
    med.doses.all().delete()
    due = dose(med, timezone.now() - timedelta(minutes=20))

    page = browser_page
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/portal/today/")
    page.get_by_label("Email").fill(world.patient_user.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/today/")
    expect(page.get_by_text("Walking 20 minutes, 4 days a week, heart rate 97–110")).to_be_visible()
    _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, "rehab-today-375-before.png")

    local = due.scheduled_at.astimezone(patient.tz).strftime("%H:%M")
    page.get_by_role("button", name=f"Mark Metoprolol at {local} taken").click()
    expect(page.get_by_text("Metoprolol marked taken")).to_be_visible()
    page.get_by_role("button", name="Mark Walking, 20 minutes, done").click()
    expect(page.get_by_text("Walking: 20 minutes done")).to_be_visible()
    expect(page.get_by_text("✓ Done today")).to_be_visible()

    page.get_by_text("Log a session with details").click()
    page.get_by_label("Minutes").fill("15")
    page.get_by_label("Average heart rate").fill("104")
    page.get_by_label("Highest heart rate").fill("109")
    page.get_by_label("How hard it felt (Borg 6–20)").select_option("13")
    page.get_by_role("button", name="Save session").click()
    expect(page.get_by_text("Logged 15 minutes.")).to_be_visible()
    due.refresh_from_db()
    assert due.status == MedicationDose.Status.TAKEN
    assert ExerciseLog.objects.filter(patient=patient, local_date=patient.today).count() == 2
    score = page.locator("section", has=page.get_by_role("heading", name="Today's score"))
    expect(score).to_contain_text("Medications")
    expect(score).to_contain_text("1 of 1 doses taken")
    expect(score).to_contain_text("prescribed minutes in the 7 days")
    _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, "rehab-today-375.png")

    page.context.clear_cookies()
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, secret)
    page.goto(f"{live_server.url}/patients/{patient.pk}/rehab/")
    expect(page.locator("#rehab")).to_contain_text("Phase II: supervised rehab")
    expect(page.locator("#rehab")).to_contain_text("of 36 covered sessions attended")
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    found = axe_violations(page)
    assert found == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in found]
    shot(page, "rehab-tab-1440.png")
