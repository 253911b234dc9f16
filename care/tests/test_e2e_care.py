"""In a real browser: a patient marks today's dose taken on a 375 px phone and the clinician sees
adherence on the chart at 1440 px; the clinician completes a task from "My tasks" (1440 and 375 px).
axe-core on every page, no horizontal scroll on the phone."""

import os
from datetime import time, timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone
from playwright.sync_api import expect

from care.models import MedicationDose, Task
from care.tests.factories import dose, medication, task
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


def test_a_patient_marks_a_dose_taken_on_a_phone_and_the_chart_shows_it(live_server, browser_page, world):
    patient = world.me
    med = medication(patient, world.clinician, name="Apixaban", times=[time(8), time(20)], critical=True,
                     instructions="With food.")
    med.doses.all().delete()
    now = timezone.now()
    for d in range(1, 7):
        dose(med, now - timedelta(days=d), status="taken" if d % 3 else "missed")
    due = dose(med, now - timedelta(minutes=20))
    dose(med, now + timedelta(hours=3)) if (now + timedelta(hours=3)).astimezone(patient.tz).date() == patient.today \
        else None
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/portal/today/")
    page.get_by_label("Email").fill(world.patient_user.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/today/")
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, "care-portal-today-375-before.png")
    local = due.scheduled_at.astimezone(patient.tz).strftime("%H:%M")
    page.get_by_role("button", name=f"Mark Apixaban at {local} taken").click()
    expect(page.get_by_text("Apixaban marked taken")).to_be_visible()
    due.refresh_from_db()
    assert due.status == MedicationDose.Status.TAKEN
    _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, "care-portal-today-375.png")

    page.context.clear_cookies()
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, secret)
    page.goto(f"{live_server.url}/patients/{patient.pk}/medications/?days=7")
    expect(page.locator("#medications")).to_contain_text("Apixaban")
    expect(page.locator("#medications")).to_contain_text("5 of 7")  # 4 taken before + today's, 2 missed
    expect(page.locator("canvas[data-chart]")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "care-chart-medications-1440.png")


@pytest.mark.parametrize("width", [1440, 375])
def test_a_clinician_completes_a_task_from_my_tasks(live_server, browser_page, world, width):
    t = task(world.cardiac_patients[1], assignee=world.clinician, title="Phone about missed anticoagulant doses",
             priority=Task.Priority.URGENT, due_in_hours=-2)
    task(world.cardiac_patients[2], assignee=world.clinician, title="Review the home BP log")
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, secret)
    page.goto(f"{live_server.url}/tasks/")
    expect(page.locator("table.ct-table")).to_contain_text("Phone about missed anticoagulant doses")
    if width == 375:
        _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, f"care-tasks-{width}.png")
    page.get_by_role("link", name="Phone about missed anticoagulant doses").click()
    page.get_by_label("Outcome").fill("Spoke to the patient; restarted apixaban, recheck Friday.")
    page.get_by_role("button", name="Complete", exact=True).click()
    expect(page.get_by_text("Task completed.")).to_be_visible()
    if width == 375:
        _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, f"care-task-detail-{width}.png")
    t.refresh_from_db()
    assert t.status == "done"


def test_a_clinician_applies_a_care_plan_template(live_server, browser_page, world):
    from care.models import CarePlan
    from care.services import plans

    plans.ensure_default_templates(world.project)
    patient = world.cardiac_patients[1]
    patient.surgery_date = patient.today - timedelta(weeks=5)
    patient.save()
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, secret)
    page.goto(f"{live_server.url}/patients/{patient.pk}/care-plan/")
    page.get_by_label("Cardiac rehab phase II, 12 weeks").check()
    page.get_by_role("button", name="Apply template").click()
    expect(page.get_by_text("applied from")).to_be_visible()
    expect(page.locator(".ct-phase-current")).to_contain_text("Progressive conditioning")
    assert CarePlan.objects.get(patient=patient).tasks.count() == 5  # no backlog of past calls
    assert axe_violations(page) == []
    shot(page, "care-chart-care-plan-1440.png")
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    _fits(page, 375)
    assert axe_violations(page) == []
    shot(page, "care-chart-care-plan-375.png")
