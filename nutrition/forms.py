"""Forms of the nutrition pages.

`MealEntry` is the meal form of the portal and the chart: one <form> whose state (the
items chosen so far) travels in the POST, so it works without JavaScript; HTMX only
swaps the form in place. Buttons say what to do: `action=search` (the food search box),
`add=<food id>` (a search result or a recent food), `remove=<row>`, `action=save`.
Nothing typed is lost when the page comes back with an error.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from nutrition import foods, services
from nutrition.models import TARGET_FIELDS, TARGET_LABELS, DietType, Food, FoodCategory, Meal, MealType, Menu


def default_meal_type(local_now: datetime) -> str:
    hour = local_now.hour
    if 4 <= hour < 11:
        return "breakfast"
    if 11 <= hour < 15:
        return "lunch"
    if 17 <= hour < 22:
        return "dinner"
    return "snack"


def unit_choices(food: Food) -> list[tuple[str, str]]:
    choices = [("g", "grams")]
    if services.is_liquid(food):
        choices.append(("ml", "mL"))
    choices += [(str(p.pk), f"× {p.unit} ({p.grams:g} g)") for p in food.portions.all()]
    return choices


class MealEntry:
    """A new meal, or with `meal` an edit of one (the form starts from its items; saving
    replaces them through services.meal_update, history kept). `files` may hold `photo`."""

    def __init__(self, patient, data=None, *, now: datetime | None = None, meal: Meal | None = None, files=None):
        self.patient = patient
        self.meal = meal
        self.tz = services.tz_of(patient)
        local_now = timezone.localtime(now or timezone.now(), self.tz)
        self.data = data
        self.photo = (files or {}).get("photo") or None
        self.errors: dict[str, list[str]] = {}
        self.results: list[Food] = []
        self.rows: list[dict] = []
        self.q = ""
        self.searched = False
        if data is None and meal is not None:
            self.meal_type = meal.meal_type
            self.eaten_at_text = timezone.localtime(meal.eaten_at, self.tz).strftime("%Y-%m-%dT%H:%M")
            self._rows_of(meal)
            return
        if data is None:
            self.meal_type = default_meal_type(local_now)
            self.eaten_at_text = local_now.strftime("%Y-%m-%dT%H:%M")
            return
        self.meal_type = data.get("meal_type", "")
        self.eaten_at_text = data.get("eaten_at", "")
        self.q = data.get("q", "").strip()[:100]
        self._load_rows(data.getlist("food"), data.getlist("amount"), data.getlist("unit"))
        if (remove := data.get("remove")) is not None and remove.isdigit() and int(remove) < len(self.rows):
            self.rows.pop(int(remove))
        if add := data.get("add"):
            # "food id" (a search result) or "food id|amount|unit" (a usual food, one tap).
            food_id, _, rest = add.partition("|")
            amount, _, unit = rest.partition("|")
            self._add(food_id, amount, unit)
        if self.q and data.get("action") != "save" and not add:
            self.results = foods.food_search(self.q, project=patient.project, limit=8)
            self.searched = True

    def _rows_of(self, meal: Meal) -> None:
        for item in meal.items.select_related("food__category").prefetch_related("food__portions"):
            unit = str(item.portion_id) if item.portion_id else item.unit
            if not item.portion_id and item.unit not in ("g", "ml"):
                # The portion row was replaced (a reload of the USDA table): find it by its unit.
                portion = services.find_portion(item.food, item.unit)
                unit = str(portion.pk) if portion else "g"
                amount = f"{item.amount:g}" if portion else f"{item.grams:g}"
            else:
                amount = f"{item.amount:g}"
            self.rows.append({"food": item.food, "amount": amount, "unit": unit, "units": unit_choices(item.food),
                              "errors": []})

    @property
    def editing(self) -> bool:
        return self.meal is not None

    @property
    def meal_types(self):
        return MealType.choices

    @property
    def wants_save(self) -> bool:
        return self.data is not None and self.data.get("action") == "save"

    def _visible(self, ids):
        valid = []
        for raw in ids:
            try:
                valid.append(Food._meta.pk.to_python(raw))
            except ValidationError:
                continue
        return {str(f.pk): f for f in foods.visible_foods(self.patient.project).filter(pk__in=valid)
                .select_related("category").prefetch_related("portions")}

    def _load_rows(self, food_ids, amounts, units):
        found = self._visible(food_ids[:services.MAX_ITEMS])
        for i, food_id in enumerate(food_ids[:services.MAX_ITEMS]):
            food = found.get(food_id)
            if food is None:
                continue
            self.rows.append({"food": food, "amount": amounts[i] if i < len(amounts) else "",
                              "unit": units[i] if i < len(units) else "g", "units": unit_choices(food), "errors": []})

    def _add(self, food_id, amount, unit):
        food = self._visible([food_id]).get(food_id)
        if food is None or len(self.rows) >= services.MAX_ITEMS:
            return
        portions = list(food.portions.all())
        default_unit = unit or (str(portions[0].pk) if portions else "g")
        default_amount = amount or ("1" if portions and default_unit != "g" else "100")
        self.rows.append({"food": food, "amount": default_amount, "unit": default_unit, "units": unit_choices(food),
                          "errors": []})

    def eaten_at(self) -> datetime | None:
        try:
            naive = datetime.fromisoformat(self.eaten_at_text)
        except ValueError:
            return None
        if naive.tzinfo is not None:
            return naive
        return naive.replace(tzinfo=self.tz)

    def save(self, *, actor, request, via: str, source: str = Meal.Source.MANUAL):
        """Log the meal through the service, or fill `errors` (by field, rows by index)."""
        eaten_at = self.eaten_at()
        if eaten_at is None:
            self.errors["eaten_at"] = ["Enter the date and time."]
            return None
        raw = [{"food": str(r["food"].pk), "amount": r["amount"], "unit": r["unit"]} for r in self.rows]
        try:
            items = services.items_from_input(self.patient, raw)
            if self.meal is not None:
                return services.meal_update(meal=self.meal, actor=actor, meal_type=self.meal_type, eaten_at=eaten_at,
                                            items=items, photo=self.photo, request=request, via=via,
                                            remove_photo=self.data is not None and self.data.get("remove_photo") == "1")
            return services.meal_log(patient=self.patient, actor=actor, meal_type=self.meal_type, eaten_at=eaten_at,
                                     items=items, source=source, photo=self.photo, request=request, via=via)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                if key.startswith("items[") and "]." in key:
                    index = int(key[6:key.index("]")])
                    if index < len(self.rows):
                        self.rows[index]["errors"] += messages
                        continue
                self.errors.setdefault(key, []).extend(messages)
        if self.photo is not None and "photo" not in self.errors:
            # A browser can't refill a file input: say so rather than lose it silently.
            self.errors["photo"] = ["Choose the photo again before saving."]
        return None


class FluidForm(forms.Form):
    amount_ml = forms.FloatField(label="Amount (mL)", min_value=1, max_value=5000,
                                 widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}))
    drink = forms.CharField(label="Drink", max_length=120, required=False, initial="Water")


class TargetForm(forms.Form):
    diet_type = forms.ModelChoiceField(queryset=DietType.objects.none(), required=False, label="Diet type",
                                       help_text="Fills the targets it defines; a value typed here wins.")
    menu = forms.ModelChoiceField(queryset=Menu.objects.none(), required=False, label="Menu (meal plan)")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["diet_type"].queryset = DietType.objects.filter(project_id=patient.project_id)
        self.fields["menu"].queryset = Menu.objects.filter(project_id=patient.project_id, is_active=True)
        for field in TARGET_FIELDS:
            label, unit, kind = TARGET_LABELS[field]
            self.fields[field] = forms.FloatField(
                label=f"{label} ({unit}/day, {'at most' if kind == 'limit' else 'at least'})", required=False,
                min_value=0, max_value=100_000, widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))

    def values(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in TARGET_FIELDS if f in self.changed_data
                or self.cleaned_data.get(f) is not None}


class FoodForm(forms.Form):
    name = forms.CharField(max_length=200)
    brand = forms.CharField(max_length=120, required=False)
    source = forms.ChoiceField(choices=[("clinic", "Clinic food"), ("label", "Branded (nutrition label)")])
    category = forms.ModelChoiceField(queryset=FoodCategory.objects.none(), required=False)
    barcode = forms.CharField(max_length=14, required=False)
    health_rating = forms.IntegerField(min_value=1, max_value=5, required=False, label="Health rating (1–5)")
    per = forms.ChoiceField(choices=[("100g", "per 100 g"), ("serving", "per serving")], initial="100g",
                            label="Values are")
    serving_grams = forms.FloatField(required=False, min_value=0.1, label="Serving weight (g)")
    serving_unit = forms.CharField(required=False, max_length=80, label="Serving name", initial="serving")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    NUTRIENT_LABELS = {"energy_kcal": "Energy (kcal)", "protein_g": "Protein (g)", "fat_g": "Fat (g)",
                       "saturated_fat_g": "Saturated fat (g)", "carbohydrate_g": "Carbohydrate (g)",
                       "fiber_g": "Fibre (g)", "sugars_g": "Sugars (g)", "sodium_mg": "Sodium (mg)",
                       "potassium_mg": "Potassium (mg)", "water_g": "Water (g)"}

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        from django.db.models import Q

        self.fields["category"].queryset = FoodCategory.objects.filter(Q(project__isnull=True) | Q(project=project))
        for field, label in self.NUTRIENT_LABELS.items():
            self.fields[field] = forms.FloatField(label=label, required=field in ("energy_kcal", "sodium_mg"),
                                                  widget=forms.NumberInput(attrs={"step": "any"}))

    def clean(self):
        data = super().clean()
        if data.get("per") == "serving" and not data.get("serving_grams"):
            self.add_error("serving_grams", "Give the serving's weight to convert to per 100 g.")
        return data

    def nutrients(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in self.NUTRIENT_LABELS}
