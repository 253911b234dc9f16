"""A patient's meal plan (the `Menu` their targets name): what the portal shows, and
logging one of its meals in one tap (source "From a menu"), through services.meal_log
(the same validation, nutrients at write, audit and day totals as any meal)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError

from nutrition import services
from nutrition.models import Meal, MealType, Menu


def menu_of(patient) -> Menu | None:
    """The active meal plan assigned to the patient (their targets' menu), or None."""
    target = services.target_of(patient)
    if target is None or target.menu_id is None or not target.menu.is_active:
        return None
    return target.menu


def plan(menu: Menu | None) -> list[dict]:
    """The plan's meals in the day's order: [{meal_type, label, items: [MenuItem]}]."""
    if menu is None:
        return []
    items = list(menu.items.select_related("food").order_by("order"))
    out = []
    for value, label in MealType.choices:
        of_type = [i for i in items if i.meal_type == value]
        if of_type:
            out.append({"meal_type": value, "label": label, "items": of_type})
    return out


def meal_from_menu(*, patient, actor, meal_type: str, eaten_at: datetime, request=None, via: str = "web") -> Meal:
    """Log the plan's `meal_type` as eaten at `eaten_at` (amounts and units as planned)."""
    menu = menu_of(patient)
    if menu is None:
        raise ValidationError({"menu": "No meal plan is assigned to you."})
    items = [services.ItemIn(food=i.food, amount=i.amount, unit=i.unit)
             for i in menu.items.filter(meal_type=meal_type).select_related("food__category")
             .prefetch_related("food__portions").order_by("order")]
    if not items:
        raise ValidationError({"meal_type": f"Your meal plan has no {meal_type}."})
    return services.meal_log(patient=patient, actor=actor, meal_type=meal_type, eaten_at=eaten_at, items=items,
                             source=Meal.Source.MENU, note=f"From the meal plan “{menu.title}”.", request=request,
                             via=via)
