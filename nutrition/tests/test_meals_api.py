"""Meals and fluids over the API: me and the patient twin; nutrients computed at write;
bad input is 400 naming the field with nothing stored; the gate's 404s; the flag."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mahalo.models import AuditEvent
from nutrition import foods
from nutrition.models import FluidIntake, Meal, MealItem
from nutrition.tests.factories import COFFEE, MILK, SCRAMBLED, TOAST, food, log

pytestmark = pytest.mark.django_db


def breakfast(**over):
    body = {"meal_type": "breakfast", "eaten_at": (timezone.now() - timedelta(minutes=20)).isoformat(),
            "items": [{"food": str(food(SCRAMBLED).pk), "amount": 2, "unit": "large"},
                      {"food": str(food(TOAST).pk), "amount": 30, "unit": "g"},
                      {"food": str(food(MILK).pk), "amount": 200, "unit": "ml"}]}
    body.update(over)
    return body


def test_a_patient_logs_breakfast_and_nutrients_are_computed_at_write(api_login, nw):
    api = api_login(nw.patient_user)
    response = api.post("/api/v1/me/meals/", breakfast(), format="json")
    assert response.status_code == 201, response.json()
    meal = response.json()
    egg, toast, milk = meal["items"]
    assert egg["grams"] == 122 and egg["energy_kcal"] == pytest.approx(149 * 1.22, abs=0.01)
    assert egg["sodium_mg"] == pytest.approx(145 * 1.22, abs=0.01)
    assert toast["grams"] == 30 and toast["unit"] == "g"
    milk_food = food(MILK)
    density = 244 / 236.6  # from the food's cup portion
    assert milk["grams"] == pytest.approx(200 * density, abs=0.01)
    assert milk["fluid_ml"] == pytest.approx(200 * density * milk_food.water_g / 100, abs=0.1)
    assert meal["sodium_mg"] == pytest.approx(sum(i["sodium_mg"] for i in meal["items"]), abs=0.1)
    assert meal["source"] == "app" and meal["entered_by"] == "patient"
    assert Meal.objects.get().logged_at >= Meal.objects.get().eaten_at  # eaten and logged kept apart
    assert AuditEvent.objects.filter(action="write", resource="nutrition", patient=nw.me).exists()
    listed = api.get("/api/v1/me/meals/").json()
    assert [m["id"] for m in listed["results"]] == [meal["id"]]


def test_a_later_food_correction_does_not_rewrite_what_was_eaten(api_login, nw):
    api = api_login(nw.patient_user)
    meal = api.post("/api/v1/me/meals/", breakfast(), format="json").json()
    egg = food(SCRAMBLED)
    egg.sodium_mg, egg.revision = 999, egg.revision + 1
    egg.save()
    again = api.get(f"/api/v1/me/meals/{meal['id']}/").json()
    assert again["items"][0]["sodium_mg"] == meal["items"][0]["sodium_mg"]
    assert again["items"][0]["food_changed"] is True and again["items"][1]["food_changed"] is False


@pytest.mark.parametrize("change, field", [
    ({"items": [{"food": "00000000-0000-0000-0000-000000000000", "amount": 1, "unit": "g"}]}, "items[0].food"),
    ({"items": [{"food": "not-a-uuid", "amount": 1}]}, "items"),
    ("negative", "items[0].amount"),
    ("bad_unit", "items[0].unit"),
    ("future", "eaten_at"),
    ({"eaten_at": "2026-03-04T07:30:00"}, "eaten_at"),
    ({"meal_type": "brunch"}, "meal_type"),
    ({"items": []}, "items"),
])
def test_bad_input_is_400_naming_the_field_and_nothing_is_stored(api_login, nw, change, field):
    body = breakfast()
    if change == "negative":
        body["items"][0]["amount"] = -2
    elif change == "bad_unit":
        body["items"][1]["unit"] = "cup"  # whole-wheat bread has slices, not cups
        body["items"][0], body["items"][1] = body["items"][1], body["items"][0]
    elif change == "future":
        body["eaten_at"] = (timezone.now() + timedelta(hours=2)).isoformat()
    else:
        body.update(change)
    response = api_login(nw.patient_user).post("/api/v1/me/meals/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Meal.objects.exists() and not MealItem.objects.exists()


def test_the_unit_error_names_the_portions_the_food_has(api_login, nw):
    body = breakfast(items=[{"food": str(food(TOAST).pk), "amount": 1, "unit": "cup"}])
    error = api_login(nw.patient_user).post("/api/v1/me/meals/", body, format="json").json()["items[0].unit"][0]
    assert "slice" in error


def test_staff_log_a_meal_for_a_patient_in_scope(api_login, nw):
    patient = nw.metabolic_patients[0]
    api = api_login(nw.dietitian)
    response = api.post(f"/api/v1/patients/{patient.pk}/meals/", breakfast(source="manual"), format="json")
    assert response.status_code == 201
    assert response.json()["entered_by"] != "patient"
    assert api.get(f"/api/v1/patients/{patient.pk}/meals/").json()["count"] == 1


@pytest.mark.parametrize("who, whose", [
    ("dietitian", "cardiac"),      # another program
    ("clinician", "metabolic"),    # another program
    ("outsider", "cardiac"),       # another tenant
    ("lead", "foreign"),           # another tenant's patient
    ("patient_user", "cardiac"),   # a patient can't use the staff routes
])
def test_out_of_scope_patients_are_404(api_login, nw, who, whose):
    patient = {"cardiac": nw.cardiac_patients[1], "metabolic": nw.metabolic_patients[0],
               "foreign": nw.foreign_patients[0]}[whose]
    api = api_login(getattr(nw, who))
    assert api.get(f"/api/v1/patients/{patient.pk}/meals/").status_code == 404
    assert api.post(f"/api/v1/patients/{patient.pk}/meals/", breakfast(), format="json").status_code in (403, 404)
    assert api.get(f"/api/v1/patients/{patient.pk}/nutrition/days/{timezone.now().date()}/").status_code == 404
    assert not Meal.objects.exists()


def test_a_care_team_grant_opens_one_patient_to_the_dietitian(api_login, nw):
    from mahalo.models import StaffMember
    from patients.care_team import care_team_add

    care_team_add(patient=nw.me, staff=StaffMember.objects.get(user=nw.dietitian), actor=nw.lead, via="test")
    api = api_login(nw.dietitian)
    assert api.get(f"/api/v1/patients/{nw.me.pk}/meals/").status_code == 200
    assert api.get(f"/api/v1/patients/{nw.cardiac_patients[1].pk}/meals/").status_code == 404


def test_a_patient_sees_only_their_own_meals(api_login, nw):
    other = log(nw.cardiac_patients[1], nw.clinician, [(SCRAMBLED, 1, "large")])
    api = api_login(nw.patient_user)
    assert api.get("/api/v1/me/meals/").json()["count"] == 0
    assert api.get(f"/api/v1/me/meals/{other.pk}/").status_code == 404
    assert api.post(f"/api/v1/me/meals/{other.pk}/remove/").status_code == 404
    assert Meal.objects.get(pk=other.pk).voided_at is None


def test_a_patient_removes_a_meal_and_it_is_kept_as_removed(api_login, nw):
    api = api_login(nw.patient_user)
    meal = api.post("/api/v1/me/meals/", breakfast(), format="json").json()
    assert api.post(f"/api/v1/me/meals/{meal['id']}/remove/").status_code == 204
    assert api.get("/api/v1/me/meals/").json()["count"] == 0
    assert Meal.objects.get(pk=meal["id"]).voided_at is not None
    assert Meal.history.filter(id=meal["id"]).count() == 2


def test_the_flag_off_switches_the_api_off(api_login, nw):
    from nutrition.tests.factories import flag

    flag(nw.project, False)
    api = api_login(nw.patient_user)
    assert api.get("/api/v1/me/meals/").status_code == 404
    assert api.post("/api/v1/me/meals/", breakfast(), format="json").status_code == 404
    assert api_login(nw.lead).get(f"/api/v1/patients/{nw.me.pk}/meals/").status_code == 404
    assert not Meal.objects.exists()


def test_me_routes_require_login_and_a_patient(client, api_login, nw):
    assert client.get("/api/v1/me/meals/").status_code in (401, 403)
    assert api_login(nw.lead).get("/api/v1/me/meals/").status_code == 404


def test_fluids_count_by_water_content_and_bad_input_is_400(api_login, nw):
    api = api_login(nw.patient_user)
    at = (timezone.now() - timedelta(minutes=5)).isoformat()
    water = api.post("/api/v1/me/fluids/", {"amount_ml": 300, "taken_at": at}, format="json")
    assert water.status_code == 201 and water.json()["fluid_ml"] == 300
    coffee = api.post("/api/v1/me/fluids/", {"amount_ml": 240, "taken_at": at, "food": str(food(COFFEE).pk)},
                      format="json").json()
    assert coffee["fluid_ml"] < 240 and coffee["drink"].startswith("Beverages, coffee")
    for body, field in [({"amount_ml": -1, "taken_at": at}, "amount_ml"),
                        ({"amount_ml": 100, "taken_at": (timezone.now() + timedelta(hours=1)).isoformat()},
                         "taken_at"),
                        ({"amount_ml": 100, "taken_at": at, "food": "00000000-0000-0000-0000-000000000000"}, "food")]:
        response = api.post("/api/v1/me/fluids/", body, format="json")
        assert response.status_code == 400 and field in response.json()
    assert FluidIntake.objects.count() == 2


def test_list_queries_do_not_grow_with_meals(api_login, nw, django_assert_max_num_queries):
    api = api_login(nw.patient_user)
    for i in range(3):
        log(nw.me, nw.patient_user, [(SCRAMBLED, 1, "large"), (TOAST, 1, "slice")], at=timezone.now()
            - timedelta(hours=i + 1))
    with django_assert_max_num_queries(12) as few:
        api.get("/api/v1/me/meals/")
    for i in range(10):
        log(nw.me, nw.patient_user, [(SCRAMBLED, 1, "large"), (TOAST, 1, "slice")], at=timezone.now()
            - timedelta(hours=i + 5))
    with django_assert_max_num_queries(len(few.captured_queries)):
        api.get("/api/v1/me/meals/")


def test_search_is_visible_to_patients_without_a_project_staff_row(api_login, nw):
    assert foods.visible_foods(nw.project).count() == 60
    assert api_login(nw.patient_user).get("/api/v1/foods/?q=egg").json()
