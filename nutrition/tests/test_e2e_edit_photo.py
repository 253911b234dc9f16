"""In a real browser: the chart's nutrition graphs are drawn (1440 and 375 px) and a
dietitian edits a meal; a patient on a 375 px phone changes a meal and adds a photo.
axe-core on every page, no horizontal scroll on the phone."""

import io
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from mahalo.tests.test_e2e_charts import wait_for_charts
from nutrition import services
from nutrition.models import Meal
from nutrition.tests.factories import SCRAMBLED, SOUP, TOAST, log
from nutrition.tests.test_e2e_nutrition import shot
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def week_of_meals(patient, actor):
    tz = services.tz_of(patient)
    today = services.today_for(patient)
    for back in (6, 5, 3, 2, 1):
        at = datetime.combine(today - timedelta(days=back), time(12), tzinfo=tz)
        items = [(SOUP, 2, "serving 1 cup"), (TOAST, 2, "slice")] if back % 2 else [(SCRAMBLED, 100, "g")]
        log(patient, actor, items, meal_type="lunch", at=at)
        services.fluid_log(patient=patient, actor=actor, amount_ml=900 + back * 150, taken_at=at)


def test_the_graphs_are_drawn_and_a_dietitian_edits_a_meal(live_server, browser_page, nw):
    from allauth.mfa.models import Authenticator

    patient = nw.metabolic_patients[0]
    services.target_set(patient=patient, actor=nw.dietitian, values={"sodium_mg": 1500, "fluid_ml": 1800,
                                                                     "energy_kcal": 1800})
    week_of_meals(patient, nw.dietitian)
    meal = log(patient, nw.dietitian, [(TOAST, 2, "slice")], meal_type="breakfast",
               at=timezone.now() - timedelta(minutes=40))
    Authenticator.objects.filter(user=nw.dietitian).delete()
    secret = enrol_totp(nw.dietitian)
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, nw.dietitian, nw.password, secret)
    page.goto(f"{live_server.url}/patients/{patient.pk}/nutrition/")
    wait_for_charts(page, 3)
    expect(page.locator(".chart-card h3", has_text="Sodium")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "nutrition-graphs-1440.png")

    page.get_by_role("link", name="Edit breakfast").click()
    page.wait_for_url(f"**/meals/{meal.pk}/edit/")
    expect(page.get_by_role("heading", name="Edit")).to_contain_text("breakfast")
    page.get_by_label("Amount of Bread, whole-wheat, commercially prepared").fill("1")
    assert axe_violations(page) == []
    shot(page, "nutrition-chart-edit-1440.png")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Meal updated.")).to_be_visible()
    meal.refresh_from_db()
    assert meal.items.get().amount == 1

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/patients/{patient.pk}/nutrition/?days=30")
    wait_for_charts(page, 3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    shot(page, "nutrition-graphs-375.png")


def test_a_patient_changes_a_meal_and_adds_a_photo_on_a_phone(live_server, browser_page, nw, tmp_path):
    meal = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")], at=timezone.now() - timedelta(hours=1))
    photo = tmp_path / "breakfast.jpg"
    image = Image.new("RGB", (640, 480), (235, 200, 120))
    for x in range(160, 480):
        for y in range(140, 340):
            if (x - 320) ** 2 + (y - 240) ** 2 < 95 ** 2:
                image.putpixel((x, y), (250, 250, 245))
    buf = io.BytesIO()
    image.save(buf, "JPEG")
    photo.write_bytes(buf.getvalue())

    page = browser_page
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/portal/nutrition/")
    page.get_by_label("Email").fill(nw.patient_user.email)
    page.get_by_label("Password").fill(nw.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/nutrition/")
    page.get_by_role("link", name="Edit breakfast").click()
    page.wait_for_url(f"**/portal/nutrition/meals/{meal.pk}/edit/")
    page.get_by_label("Amount of Bread, whole-wheat, commercially prepared").fill("2")
    page.get_by_label("Photo of the meal").set_input_files(str(photo))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    shot(page, "nutrition-portal-edit-375.png")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Meal updated")).to_be_visible()
    img = page.get_by_role("img", name="Photo of this breakfast")
    expect(img).to_be_visible()
    src = img.get_attribute("src")
    photo_response = page.request.get(f"{live_server.url}{src}")
    assert photo_response.status == 200 and photo_response.headers["content-type"] == "image/jpeg"
    img.scroll_into_view_if_needed()
    expect(img).to_have_js_property("complete", True)
    assert img.evaluate("(el) => el.naturalWidth") == 640
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    shot(page, "nutrition-portal-photo-375.png")
    meal = Meal.objects.get(pk=meal.pk)
    assert meal.items.get().amount == 2 and meal.photo.name.endswith(".jpg")
