"""In a real browser: a patient logs breakfast on a 375 px phone (timed), and a dietitian
reads the day's sodium against the target on the chart at 1440 px. axe-core on both."""

import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from nutrition import services
from nutrition.models import Meal
from nutrition.tests.factories import SOUP, TOAST, log
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    folder = os.environ.get("E2E_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def test_a_patient_logs_breakfast_on_a_phone_in_under_30_seconds(live_server, browser_page, nw):
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/portal/nutrition/")
    page.get_by_label("Email").fill(nw.patient_user.email)
    page.get_by_label("Password").fill(nw.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/nutrition/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []

    started = time.monotonic()
    page.get_by_label("Meal", exact=True).select_option("breakfast")
    page.get_by_label("Find a food").fill("scrambled egg")
    page.get_by_role("button", name="Egg, whole, cooked, scrambled").click()
    expect(page.get_by_label("Amount of Egg, whole, cooked, scrambled")).to_be_visible()
    page.get_by_label("Amount of Egg, whole, cooked, scrambled").fill("2")
    page.get_by_label("Find a food").fill("whole-wheat bread")
    page.get_by_role("button", name="Bread, whole-wheat, commercially prepared").first.click()
    expect(page.get_by_label("Amount of Bread, whole-wheat, commercially prepared")).to_be_visible()
    shot(page, "nutrition-portal-375-form.png")
    page.get_by_role("button", name="Save meal").click()
    expect(page.get_by_text("Meal logged")).to_be_visible()
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"logging breakfast took {elapsed:.1f}s"
    meal = Meal.objects.get(patient=nw.me)
    assert meal.meal_type == "breakfast" and meal.items.count() == 2
    egg = meal.items.get(food_name__startswith="Egg")
    assert egg.amount == 2 and egg.unit == "large" and egg.grams == 122
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    shot(page, "nutrition-portal-375.png")


def test_the_dietitian_sees_the_days_sodium_against_the_target(live_server, browser_page, nw):
    from allauth.mfa.models import Authenticator

    patient = nw.metabolic_patients[0]
    services.target_set(patient=patient, actor=nw.dietitian, values={"sodium_mg": 1500, "fluid_ml": 1800})
    log(patient, nw.dietitian, [(SOUP, 2, "serving 1 cup"), (TOAST, 2, "slice")], meal_type="lunch",
        at=timezone.now() - timedelta(minutes=30))
    Authenticator.objects.filter(user=nw.dietitian).delete()
    secret = enrol_totp(nw.dietitian)
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, nw.dietitian, nw.password, secret)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name="Nutrition", exact=True).click()
    page.wait_for_url(f"{live_server.url}/patients/{patient.pk}/nutrition/")
    sodium = page.locator("table.nu-targets tr", has_text="Sodium")
    expect(sodium).to_contain_text("≤ 1500 mg")
    expect(sodium).to_contain_text("Over")
    expect(page.locator(".nu-sources")).to_contain_text("Soup, chicken noodle")
    expect(page.get_by_role("button", name="Save targets")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "nutrition-chart-1440.png")
