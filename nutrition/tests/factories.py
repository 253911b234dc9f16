"""Test data for nutrition: the SR28 subset in fixtures/, the flag, foods by NDB number."""

import os
from datetime import timedelta

from django.utils import timezone

from mahalo.models import FeatureFlag
from nutrition import foods, services
from nutrition.models import Food

FIXTURE_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "sr28")
SCRAMBLED, TOAST, MILK, COFFEE, SOUP, BANANA, PICKLE = "01132", "18075", "01079", "14209", "06419", "09040", "11937"


def load_fixture_foods():
    return foods.load_sr28(directory=FIXTURE_DIR, force=True)


def food(ndb: str) -> Food:
    return Food.objects.prefetch_related("portions").select_related("category").get(source="usda", source_id=ndb)


def flag(project, on: bool = True):
    FeatureFlag.objects.update_or_create(project=project, name=services.FEATURE, defaults={"enabled": on})


def eaten(hours_ago: float = 1):
    return timezone.now() - timedelta(hours=hours_ago)


def log(patient, actor, items, *, meal_type="breakfast", at=None, **kwargs):
    """items: [(ndb, amount, unit)]"""
    return services.meal_log(patient=patient, actor=actor, meal_type=meal_type, eaten_at=at or eaten(),
                             items=[services.ItemIn(food=food(n), amount=a, unit=u) for n, a, u in items], **kwargs)
