"""Demo data (seed_demo's `demo_seeded` signal): the USDA table, diet types, a menu,
targets and two weeks of meals and drinks for Kai (cardiac, on sodium and fluid limits)
and a few Metabolic Health patients. Idempotent: nothing is added twice."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from nutrition import foods, services
from nutrition.models import DietType, Food, Meal, Menu, MenuItem

DIET_TYPES = [
    dict(code="low-sodium", name="Low sodium (cardiac)", sodium_mg=1500, fluid_ml=None, energy_kcal=2000,
         saturated_fat_g=13, description="AHA ideal: at most 1,500 mg sodium a day (salt = sodium × 2.54)."),
    dict(code="heart-failure", name="Heart failure: sodium and fluid limits", sodium_mg=2000, fluid_ml=1800,
         energy_kcal=2000, description="Sodium at most 2,000 mg; fluids as restricted by the care team."),
    dict(code="diabetic", name="Diabetic (carbohydrate-controlled)", carbohydrate_g=180, energy_kcal=1800,
         fiber_g=30, sugars_g=36, sodium_mg=2300, description="Consistent carbohydrate, high fibre."),
    dict(code="keto", name="Ketogenic", carbohydrate_g=30, energy_kcal=1800, protein_g=90,
         description="Very low carbohydrate."),
]
# USDA NDB numbers of everyday foods, with the portion the demo eats.
FOOD = {"egg": ("01132", 2, "large"), "toast": ("18075", 2, "slice"), "banana": ("09040", 120, "g"),
        "milk": ("01079", 1, "cup"), "coffee": ("14209", 1, "cup (8 fl oz)"), "rice": ("20037", 1, "cup"),
        "chicken": ("05064", 120, "g"), "broccoli": ("11091", 1, "cup, chopped"), "soup": ("06419", 1, "serving 1 cup"),
        "oats": ("08120", 1, "cup"), "ham": ("07029", 2, "slice"), "pickle": ("11937", 1, "spear, small"),
        "soy": ("16123", 1, "tbsp"), "oj": ("09206", 1, "cup")}
MEALS = {
    "breakfast": [["egg", "toast", "coffee"], ["oats", "banana", "milk"], ["toast", "ham", "oj"]],
    "lunch": [["soup", "toast", "pickle"], ["chicken", "rice", "broccoli"], ["ham", "toast", "pickle"]],
    "dinner": [["chicken", "rice", "broccoli", "soy"], ["soup", "rice"], ["chicken", "broccoli"]],
}


def on_demo_seeded(sender, demo, cardiac, metabolic, kai, cardio, dietitian, **kwargs) -> None:
    foods.load_sr28()
    if not services.feature_on(demo):
        return
    diets = {}
    for spec in DIET_TYPES:
        spec = dict(spec)
        code = spec.pop("code")
        diets[code], _ = DietType.objects.update_or_create(project=demo, code=code, defaults=spec)
    menu = _menu(demo, cardiac, diets["low-sodium"])
    for program in (cardiac, metabolic):
        services.ensure_nutrition_rules(program)
    by_ndb = {f.source_id: f for f in Food.objects.filter(source="usda", source_id__in=[v[0] for v in FOOD.values()])
              .prefetch_related("portions")}
    if len(by_ndb) < len(FOOD):
        return  # a trimmed food table (tests): no demo meals
    rng = random.Random(13)
    if not services.target_of(kai):
        services.target_set(patient=kai, actor=cardio, diet_type=diets["heart-failure"], menu=menu, via="seed",
                            note="Post-CABG: sodium 2,000 mg and fluids 1.8 L a day.")
    _meals(kai, cardio, by_ndb, rng, salty=True)
    for patient in metabolic.patients.order_by("mrn")[:3]:
        if not services.target_of(patient):
            services.target_set(patient=patient, actor=dietitian, diet_type=diets["diabetic"], via="seed")
        _meals(patient, dietitian, by_ndb, rng, salty=False)


def on_program_saved(sender, instance, created, raw=False, **kwargs) -> None:
    """A new program of a tenant with food tracking gets the nutrition rules."""
    if created and not raw:
        transaction.on_commit(lambda: services.ensure_nutrition_rules(instance))


def _menu(project, program, diet) -> Menu:
    menu, created = Menu.objects.get_or_create(project=project, program=program, title="Heart-healthy day",
                                               defaults={"diet_type": diet,
                                                         "description": "Under 1,500 mg sodium."})
    if not created:
        return menu
    plan = [("breakfast", "08120", 1, "cup"), ("breakfast", "09040", 120, "g"), ("lunch", "05064", 120, "g"),
            ("lunch", "20037", 1, "cup"), ("dinner", "11091", 1, "cup, chopped")]
    found = dict(Food.objects.filter(source="usda", source_id__in=[p[1] for p in plan]).values_list("source_id", "id"))
    MenuItem.objects.bulk_create([MenuItem(menu=menu, meal_type=mt, food_id=found[ndb], amount=amount, unit=unit,
                                           order=i) for i, (mt, ndb, amount, unit) in enumerate(plan) if ndb in found])
    return menu


def _meals(patient, actor, by_ndb, rng, *, salty: bool) -> None:
    if Meal.objects.filter(patient=patient).exists():
        return
    tz = services.tz_of(patient)
    today = services.today_for(patient)
    hours = {"breakfast": 7, "lunch": 12, "dinner": 18}
    for back in range(13, -1, -1):
        day = today - timedelta(days=back)
        if rng.random() < 0.15 and back > 0:
            continue  # a day without logging: adherence is not 100 %
        for meal_type, options in MEALS.items():
            at = datetime.combine(day, time(hours[meal_type], rng.randint(0, 40)), tzinfo=tz)
            if at > timezone.now() or (back == 0 and meal_type != "breakfast"):
                continue  # today so far: breakfast, if it's past breakfast time
            choice = options[rng.randrange(len(options))] if not salty or rng.random() < 0.5 else options[0]
            items = []
            for key in choice:
                ndb, amount, unit = FOOD[key]
                items.append(services.ItemIn(food=by_ndb[ndb], amount=amount, unit=unit))
            services.meal_log(patient=patient, actor=patient.user or actor, meal_type=meal_type, eaten_at=at,
                              items=items, source=Meal.Source.APP if back % 3 else Meal.Source.MANUAL, via="seed")
        for hour in (9, 15):
            if datetime.combine(day, time(hour), tzinfo=tz) > timezone.now():
                continue
            services.fluid_log(patient=patient, actor=actor, amount_ml=rng.choice([250, 350, 500]),
                               taken_at=datetime.combine(day, time(hour), tzinfo=tz), drink="Water", via="seed")



