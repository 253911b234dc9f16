"""A patient's meal plan in the portal, and logging one of its meals in one tap."""

import pytest

from nutrition import services
from nutrition.models import Meal, Menu, MenuItem
from nutrition.tests.factories import SCRAMBLED, TOAST, food

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(nw):
    menu = Menu.objects.create(project=nw.project, program=nw.cardiac, title="Heart-healthy day",
                               description="Under 1,500 mg sodium.")
    MenuItem.objects.create(menu=menu, meal_type="breakfast", food=food(SCRAMBLED), amount=2, unit="large", order=0)
    MenuItem.objects.create(menu=menu, meal_type="breakfast", food=food(TOAST), amount=1, unit="slice", order=1)
    services.target_set(patient=nw.me, actor=nw.clinician, values={"sodium_mg": 1500}, menu=menu, via="test")
    return menu


def test_the_portal_shows_the_plan_and_logs_its_breakfast(login, nw, planned):
    client = login(nw.patient_user)
    page = client.get("/portal/nutrition/").content.decode()
    assert "Your meal plan: Heart-healthy day" in page and "I ate this breakfast" in page
    response = client.post("/portal/nutrition/plan/", {"meal_type": "breakfast"})
    assert response.status_code == 302
    meal = Meal.objects.get(patient=nw.me)
    assert meal.source == Meal.Source.MENU and meal.entered_by == nw.patient_user
    assert sorted((i.food_name[:3], i.grams) for i in meal.items.all()) == [("Bre", 32.0), ("Egg", 122.0)]
    assert "Logged your planned breakfast" in client.get("/portal/nutrition/").content.decode()


def test_a_meal_the_plan_lacks_or_no_plan_is_a_message_not_an_error(login, nw, planned):
    client = login(nw.patient_user)
    client.post("/portal/nutrition/plan/", {"meal_type": "dinner"})
    assert "has no dinner" in client.get("/portal/nutrition/").content.decode()
    planned.is_active = False
    planned.save()
    assert "Your meal plan" not in client.get("/portal/nutrition/").content.decode()
    client.post("/portal/nutrition/plan/", {"meal_type": "breakfast"})
    assert "No meal plan is assigned" in client.get("/portal/nutrition/").content.decode()
    assert not Meal.objects.exists()


def test_only_patients_log_from_their_plan(client, login, nw, planned):
    assert client.post("/portal/nutrition/plan/", {"meal_type": "breakfast"}).status_code == 302  # to login
    assert login(nw.clinician).post("/portal/nutrition/plan/", {"meal_type": "breakfast"}).status_code == 404
    assert login(nw.patient_user).get("/portal/nutrition/plan/").status_code == 405
    assert not Meal.objects.exists()
