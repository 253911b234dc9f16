"""Nutrition (DESIGN "Where the seed tables go"): foods and their portions, categories,
diet types, menus, meals and their items, fluid intake and per-patient targets.

Seeds: ma_food_items, ma_food_menus, ma_diet_types, ma_food_logs (000); FoodCategories,
FoodItems, MealEntries, MealItemEntries, HydrationLogs (004).

Nutrients are stored per 100 g on `Food` (None = unknown, never silently 0) and, on a
`MealItem`, for the amount eaten, computed when the item is written: correcting a food
later must not rewrite what a patient ate (the item keeps the food's `revision` so the
page can say the food changed since).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


@dataclass(frozen=True)
class Nutrient:
    field: str
    label: str
    unit: str
    kind: str = "limit"  # limit: stay under the target; goal: reach it


# The nutrients kept for every food (per 100 g) and every item eaten (per amount).
NUTRIENTS: tuple[Nutrient, ...] = (
    Nutrient("energy_kcal", "Energy", "kcal"),
    Nutrient("protein_g", "Protein", "g", "goal"),
    Nutrient("fat_g", "Fat", "g"),
    Nutrient("saturated_fat_g", "Saturated fat", "g"),
    Nutrient("carbohydrate_g", "Carbohydrate", "g"),
    Nutrient("fiber_g", "Fibre", "g", "goal"),
    Nutrient("sugars_g", "Sugars", "g"),
    Nutrient("sodium_mg", "Sodium", "mg"),
    Nutrient("potassium_mg", "Potassium", "mg", "goal"),
    Nutrient("water_g", "Water", "g", "goal"),
)
NUTRIENT_FIELDS = tuple(n.field for n in NUTRIENTS)
# What a target can be set for: every nutrient but water, plus fluid (mL a day).
TARGET_FIELDS = tuple(f for f in NUTRIENT_FIELDS if f != "water_g") + ("fluid_ml",)
TARGET_LABELS = {**{n.field: (n.label, n.unit, n.kind) for n in NUTRIENTS}, "fluid_ml": ("Fluid", "mL", "limit")}


def _nutrient(help_text: str = "") -> models.FloatField:
    return models.FloatField(null=True, blank=True, help_text=help_text)


class NutrientValues(models.Model):
    """The nutrient columns (per 100 g on a Food, per amount eaten on a MealItem)."""

    energy_kcal = _nutrient()
    protein_g = _nutrient()
    fat_g = _nutrient()
    saturated_fat_g = _nutrient()
    carbohydrate_g = _nutrient()
    fiber_g = _nutrient()
    sugars_g = _nutrient()
    sodium_mg = _nutrient()
    potassium_mg = _nutrient()
    water_g = _nutrient()

    class Meta:
        abstract = True

    def nutrients(self) -> dict[str, float | None]:
        return {f: getattr(self, f) for f in NUTRIENT_FIELDS}


class TargetValues(models.Model):
    """Daily targets (limits or goals, TARGET_LABELS says which); empty = no target."""

    energy_kcal = models.PositiveIntegerField(null=True, blank=True)
    protein_g = models.FloatField(null=True, blank=True)
    fat_g = models.FloatField(null=True, blank=True)
    saturated_fat_g = models.FloatField(null=True, blank=True)
    carbohydrate_g = models.FloatField(null=True, blank=True)
    fiber_g = models.FloatField(null=True, blank=True)
    sugars_g = models.FloatField(null=True, blank=True)
    sodium_mg = models.PositiveIntegerField(null=True, blank=True)
    potassium_mg = models.PositiveIntegerField(null=True, blank=True)
    fluid_ml = models.PositiveIntegerField(null=True, blank=True, help_text="A clinician-set fluid restriction.")

    class Meta:
        abstract = True

    def targets(self) -> dict[str, float | None]:
        return {f: getattr(self, f) for f in TARGET_FIELDS}


class FoodCategory(models.Model):
    """A food group: USDA's food groups (shared, no project) or a clinic's own."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="food_categories", help_text="Empty: shared reference data.")
    code = models.CharField(max_length=20, blank=True, help_text="The source's code (USDA FdGrp_Cd).")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "food categories"
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="uniq_food_category_name"),
                       models.UniqueConstraint(fields=["name"], condition=Q(project__isnull=True),
                                               name="uniq_shared_food_category_name")]

    def __str__(self):
        return self.name


class Food(NutrientValues):
    """One food with nutrients per 100 g. USDA rows are shared (no project); clinic and
    label (branded) foods belong to a tenant."""

    class Source(models.TextChoices):
        USDA = "usda", "USDA SR28"
        LABEL = "label", "Nutrition label (branded)"
        CLINIC = "clinic", "Clinic food"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="foods", help_text="Empty: shared reference data (USDA).")
    source = models.CharField(max_length=10, choices=Source.choices)
    source_version = models.CharField(max_length=20, blank=True, help_text="e.g. sr28.")
    source_id = models.CharField(max_length=40, blank=True, help_text="The source's id (USDA NDB_No).")
    name = models.CharField(max_length=200)
    brand = models.CharField(max_length=120, blank=True)
    category = models.ForeignKey(FoodCategory, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="foods")
    barcode = models.CharField(max_length=32, blank=True, db_index=True, help_text="GTIN/UPC/EAN digits.")
    health_rating = models.PositiveSmallIntegerField(null=True, blank=True,
                                                     help_text="Heart-health rating 1 (worst) to 5 (best).")
    notes = models.TextField(blank=True)
    # Lower-cased name, brand and singular forms: what search matches (services.food_search).
    search_text = models.CharField(max_length=400, blank=True, editable=False)
    # How "plain" the food is, for ranking: fewer qualifiers and common groups first (services.rank_food).
    search_rank = models.SmallIntegerField(default=0, editable=False)
    # Bumped on every nutrient change: items eaten before say "this food has changed since".
    revision = models.PositiveIntegerField(default=1, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["project", "is_active", "-search_rank"], name="food_search_idx")]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], condition=~Q(source_id=""),
                                    name="uniq_food_source_id"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_drink(self) -> bool:
        return bool(self.category_id and self.category.code == "1400")


class FoodPortion(models.Model):
    """A household measure with its weight: 1 cup = 240 g, 1 slice = 28 g."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    food = models.ForeignKey(Food, on_delete=models.CASCADE, related_name="portions")
    amount = models.FloatField(default=1)
    unit = models.CharField(max_length=80, help_text='e.g. "cup", "slice", "large".')
    grams = models.FloatField()
    sequence = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["food", "sequence"]
        constraints = [models.UniqueConstraint(fields=["food", "sequence"], name="uniq_food_portion_seq")]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        amount = f"{self.amount:g}"
        return f"{amount} {self.unit}"


class FoodSource(models.Model):
    """Which version of a reference table is loaded (load_foods is idempotent by it)."""

    name = models.CharField(max_length=40, unique=True)  # e.g. usda-sr28
    version = models.CharField(max_length=40)
    foods = models.PositiveIntegerField(default=0)
    portions = models.PositiveIntegerField(default=0)
    loaded_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name} {self.version}"


class DietType(TargetValues):
    """A diet (keto, diabetic, low sodium...) with its daily nutrient limits; a patient's
    targets can start from one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="diet_types")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "code"], name="uniq_diet_type_code")]

    def __str__(self):
        return self.name


class MealType(models.TextChoices):
    BREAKFAST = "breakfast", "Breakfast"
    LUNCH = "lunch", "Lunch"
    DINNER = "dinner", "Dinner"
    SNACK = "snack", "Snack"


class Menu(models.Model):
    """A program's predefined meal plan (foods with portions), optionally for a diet type."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="menus")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="menus")
    diet_type = models.ForeignKey(DietType, on_delete=models.SET_NULL, null=True, blank=True, related_name="menus")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


class MenuItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="items")
    meal_type = models.CharField(max_length=10, choices=MealType.choices)
    food = models.ForeignKey(Food, on_delete=models.PROTECT, related_name="+")
    amount = models.FloatField()
    unit = models.CharField(max_length=80, default="g", help_text='"g", "ml" or one of the food\'s portions.')
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["menu", "order"]

    def __str__(self):
        return f"{self.amount:g} {self.unit} {self.food}"


class Meal(models.Model):
    """One meal (MealEntries 004, ma_food_logs 000): what and when it was eaten, when it
    was logged, by whom and how. Totals are the sum of its items at write time."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Typed in"
        PHOTO = "photo", "From a photo"
        BARCODE = "barcode", "Barcode scan"
        APP = "app", "Mobile app"
        MENU = "menu", "From a menu"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="meals")
    meal_type = models.CharField(max_length=10, choices=MealType.choices)
    eaten_at = models.DateTimeField(help_text="When it was eaten (UTC).")
    local_date = models.DateField(help_text="The day it was eaten, in the program's time zone.")
    logged_at = models.DateTimeField(auto_now_add=True, help_text="When it was logged.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    note = models.TextField(blank=True)
    photo = models.FileField(upload_to="meals/%Y/%m/", blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    energy_kcal = models.FloatField(default=0)
    sodium_mg = models.FloatField(default=0)
    fluid_ml = models.FloatField(default=0)
    # Removed meals are kept (voided), like every PHI edit: the history says who and when.
    voided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-eaten_at"]
        indexes = [models.Index(fields=["patient", "local_date"], name="meal_patient_day_idx")]

    def __str__(self):
        return f"{self.get_meal_type_display()} {self.local_date}"

    @property
    def was_edited(self) -> bool:
        """Changed after it was logged (a minute's grace: the save that logs it)."""
        return bool(self.updated_at and self.logged_at and (self.updated_at - self.logged_at).total_seconds() > 60)


class MealItem(NutrientValues):
    """One food in a meal: amount and unit as entered, grams, and the nutrients of that
    amount computed when written (a later food correction doesn't change them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meal = models.ForeignKey(Meal, on_delete=models.CASCADE, related_name="items")
    food = models.ForeignKey(Food, on_delete=models.PROTECT, related_name="+")
    food_name = models.CharField(max_length=200, help_text="The food's name when eaten.")
    food_revision = models.PositiveIntegerField(default=1)
    amount = models.FloatField()
    unit = models.CharField(max_length=80, help_text='"g", "ml" or the portion\'s unit.')
    portion = models.ForeignKey(FoodPortion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    grams = models.FloatField()
    fluid_ml = models.FloatField(default=0, help_text="Water this item adds to the day's fluids (drinks).")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["meal", "order"]

    def __str__(self):
        return f"{self.amount:g} {self.unit} {self.food_name}"


class FluidIntake(models.Model):
    """A drink (HydrationLogs 004), in mL. A drink from the food table counts by its water."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="fluid_intakes")
    amount_ml = models.FloatField(help_text="What was drunk.")
    fluid_ml = models.FloatField(help_text="What counts toward the fluid total (water content of a food drink).")
    drink = models.CharField(max_length=120, blank=True, default="Water")
    food = models.ForeignKey(Food, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    taken_at = models.DateTimeField()
    local_date = models.DateField()
    logged_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=10, choices=Meal.Source.choices, default=Meal.Source.MANUAL)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    voided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["patient", "local_date"], name="fluid_patient_day_idx")]

    def __str__(self):
        return f"{self.fluid_ml:g} mL {self.drink}"


class NutritionTarget(TargetValues):
    """A patient's daily targets: from a diet type or set by staff. One row per patient;
    django-simple-history keeps every change with who made it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="nutrition_target")
    diet_type = models.ForeignKey(DietType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    menu = models.ForeignKey(Menu, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                             help_text="The meal plan assigned to the patient.")
    note = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    def __str__(self):
        return f"Targets for {self.patient_id}"
