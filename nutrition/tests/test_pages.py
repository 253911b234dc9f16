"""The chart's Nutrition tab, the portal's Food & fluids page, through HTTP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nutrition import services
from nutrition.models import FluidIntake, Meal
from nutrition.tests.factories import SCRAMBLED, SOUP, TOAST, flag, food, log

pytestmark = pytest.mark.django_db


def local_now_text(patient, minutes_ago=10):
    return timezone.localtime(timezone.now() - timedelta(minutes=minutes_ago),
                              services.tz_of(patient)).strftime("%Y-%m-%dT%H:%M")


# --- Chart tab ------------------------------------------------------------------------------

def test_the_tab_requires_login(client, nw):
    response = client.get(f"/patients/{nw.me.pk}/nutrition/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_tab_shows_the_day_against_targets_and_sodium_sources(login, nw):
    services.target_set(patient=nw.me, actor=nw.clinician, values={"sodium_mg": 1500, "fluid_ml": 1800})
    log(nw.me, nw.patient_user, [(SOUP, 1, "serving 1 cup"), (TOAST, 1, "slice")], meal_type="lunch",
        at=timezone.now() - timedelta(minutes=5))
    body = login(nw.clinician).get(f"/patients/{nw.me.pk}/nutrition/").content.decode()
    assert "Totals against targets" in body and "≤ 1500 mg" in body
    assert "of the day&#x27;s sodium" in body or "of the day's sodium" in body
    assert "Soup, chicken noodle" in body
    assert "Logging:" in body and "Log a meal for Kai" in body
    assert 'aria-current="page"' in body


@pytest.mark.parametrize("who, whose", [("dietitian", "cardiac"), ("clinician", "metabolic"),
                                        ("outsider", "cardiac"), ("lead", "foreign")])
def test_out_of_scope_patients_are_404(login, nw, who, whose):
    patient = {"cardiac": nw.me, "metabolic": nw.metabolic_patients[0], "foreign": nw.foreign_patients[0]}[whose]
    client = login(getattr(nw, who))
    assert client.get(f"/patients/{patient.pk}/nutrition/").status_code == 404
    assert client.post(f"/patients/{patient.pk}/nutrition/targets/", {"sodium_mg": "1"}).status_code in (403, 404)


def test_the_tab_is_gone_with_the_flag_off(login, nw):
    flag(nw.project, False)
    client = login(nw.lead)
    assert client.get(f"/patients/{nw.me.pk}/nutrition/").status_code == 404
    assert f"/patients/{nw.me.pk}/nutrition/" not in client.get(f"/patients/{nw.me.pk}/").content.decode()


def test_a_dietitian_logs_a_meal_from_the_chart(login, nw):
    patient = nw.metabolic_patients[0]
    client = login(nw.dietitian)
    url = f"/patients/{patient.pk}/nutrition/"
    egg = food(SCRAMBLED)
    # Search, add, save: the state travels in the form.
    searched = client.post(url, {"meal_type": "lunch", "eaten_at": local_now_text(patient), "q": "scrambled egg",
                                 "action": "search"})
    assert searched.status_code == 200 and "Egg, whole, cooked, scrambled" in searched.content.decode()
    added = client.post(url, {"meal_type": "lunch", "eaten_at": local_now_text(patient), "add": str(egg.pk)})
    assert f'name="food" value="{egg.pk}"' in added.content.decode()
    saved = client.post(url, {"meal_type": "lunch", "eaten_at": local_now_text(patient), "food": str(egg.pk),
                              "amount": "2", "unit": str(egg.portions.get(unit="large").pk), "action": "save"})
    assert saved.status_code == 302
    meal = Meal.objects.get(patient=patient)
    assert meal.entered_by == nw.dietitian and meal.items.get().grams == 122


def test_bad_input_on_the_chart_form_is_inline_and_keeps_what_was_typed(login, nw):
    patient = nw.metabolic_patients[0]
    egg = food(SCRAMBLED)
    response = login(nw.dietitian).post(f"/patients/{patient.pk}/nutrition/", {
        "meal_type": "lunch", "eaten_at": local_now_text(patient), "food": str(egg.pk), "amount": "-1", "unit": "g",
        "action": "save"})
    body = response.content.decode()
    assert response.status_code == 400 and "more than zero" in body
    assert 'value="-1"' in body and "Egg, whole, cooked, scrambled" in body
    assert not Meal.objects.exists()


def test_staff_set_targets_from_a_diet_type_and_the_history_is_shown(login, nw):
    from nutrition.models import DietType

    diet = DietType.objects.create(project=nw.project, code="hf", name="Heart failure", sodium_mg=2000, fluid_ml=1800)
    client = login(nw.clinician)
    response = client.post(f"/patients/{nw.me.pk}/nutrition/targets/", {"diet_type": str(diet.pk),
                                                                         "energy_kcal": "2200"})
    assert response.status_code == 302
    target = services.target_of(nw.me)
    assert (target.sodium_mg, target.fluid_ml, target.energy_kcal) == (2000, 1800, 2200)
    body = client.get(f"/patients/{nw.me.pk}/nutrition/").content.decode()
    assert "Changes" in body and "sodium 2000 mg" in body
    bad = client.post(f"/patients/{nw.me.pk}/nutrition/targets/", {"sodium_mg": "-4"})
    assert bad.status_code == 400 and 'value="-4"' in bad.content.decode()
    assert login(nw.dietitian).post(f"/patients/{nw.metabolic_patients[0].pk}/nutrition/targets/",
                                    {"sodium_mg": "2300"}).status_code == 302


# --- Portal ----------------------------------------------------------------------------------

def test_the_portal_page_requires_a_patient_login(client, login, nw):
    assert client.get("/portal/nutrition/").status_code == 302
    assert login(nw.lead).get("/portal/nutrition/").status_code == 404


def test_a_patient_logs_breakfast_in_the_portal(login, nw):
    client = login(nw.patient_user)
    page = client.get("/portal/nutrition/")
    assert page.status_code == 200 and "Food &amp; fluids" in page.content.decode()
    egg, toast = food(SCRAMBLED), food(TOAST)
    response = client.post("/portal/nutrition/", {
        "meal_type": "breakfast", "eaten_at": local_now_text(nw.me), "food": [str(egg.pk), str(toast.pk)],
        "amount": ["2", "1"],
        "unit": [str(egg.portions.get(unit="large").pk), str(toast.portions.get(unit="slice").pk)],
        "action": "save"})
    assert response.status_code == 302
    meal = Meal.objects.get(patient=nw.me)
    assert meal.items.count() == 2 and meal.entered_by == nw.patient_user
    body = client.get("/portal/nutrition/").content.decode()
    assert "Meal logged" in body and "Egg, whole, cooked, scrambled" in body
    assert "Your usual foods" in body  # recent foods, one tap away


def test_the_htmx_search_returns_only_the_form(login, nw):
    response = login(nw.patient_user).post("/portal/nutrition/", {"q": "egg", "action": "search",
                                                                   "meal_type": "snack", "eaten_at": ""},
                                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="meal-form")
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith("<form") and "<html" not in body
    assert "Egg, whole, raw, fresh" in body
    assert response["Vary"].count("HX-Request") == 1


def test_copy_yesterdays_breakfast(login, nw):
    yesterday = timezone.now() - timedelta(days=1)
    log(nw.me, nw.patient_user, [(SCRAMBLED, 2, "large")], at=yesterday)
    meal_type = Meal.objects.get().meal_type
    client = login(nw.patient_user)
    assert f"Copy yesterday&#x27;s {meal_type}" in client.get("/portal/nutrition/").content.decode() or \
        f"Copy yesterday's {meal_type}" in client.get("/portal/nutrition/").content.decode()
    if services.local_date(nw.me, yesterday) == services.today_for(nw.me) - timedelta(days=1):
        assert client.post("/portal/nutrition/copy/", {"meal_type": meal_type}).status_code == 302
        assert Meal.objects.count() == 2


def test_a_drink_in_the_portal_and_bad_amounts_are_refused(login, nw):
    client = login(nw.patient_user)
    assert client.post("/portal/nutrition/fluids/", {"quick_ml": "250", "amount_ml": ""}).status_code == 302
    bad = client.post("/portal/nutrition/fluids/", {"amount_ml": "-3", "drink": "Tea"})
    assert bad.status_code == 400 and 'value="Tea"' in bad.content.decode()
    assert FluidIntake.objects.get().fluid_ml == 250


def test_a_patient_removes_their_meal_but_not_anothers(login, nw):
    mine = log(nw.me, nw.patient_user, [(TOAST, 1, "slice")])
    theirs = log(nw.cardiac_patients[1], nw.clinician, [(TOAST, 1, "slice")])
    client = login(nw.patient_user)
    assert client.post(f"/portal/nutrition/meals/{theirs.pk}/remove/").status_code == 404
    assert client.post(f"/portal/nutrition/meals/{mine.pk}/remove/").status_code == 302
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert mine.voided_at is not None and theirs.voided_at is None


def test_the_portal_page_is_gone_with_the_flag_off(login, nw):
    flag(nw.project, False)
    client = login(nw.patient_user)
    assert client.get("/portal/nutrition/").status_code == 404
    assert "/portal/nutrition/" not in client.get("/portal/").content.decode()
