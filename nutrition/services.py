"""Nutrition's writes and the day's arithmetic: one service per rule, called by the
pages, the API, admin and tasks alike.

- `meal_log` / `meal_update` / `meal_void`: a meal and its items. Each item's nutrients
  are computed here from the food (per 100 g) and the grams of the amount eaten, and
  stored on the item: a later correction of the food does not rewrite what was eaten.
- `fluid_log`: a drink in mL (a food-table drink counts by its water content).
- `target_set`: a patient's daily targets (from a diet type or typed by staff); the
  change history (who, when, what) is django-simple-history's.
- After every write the day's totals are written as `clinical.Observation` rows
  (`sync_days`) so trends and the rules engine see them, through clinical's writer.
- `day_summary` / `days_overview`: totals against targets, sodium sources, adherence.

Every write is audited; validation errors are `django.core.exceptions.ValidationError`
keyed by the input's field names (the API answers 400 with them; pages show them inline).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from clinical.ingest import Reading, store
from clinical.units import register_metric
from mahalo import audit, config
from nutrition import photos
from nutrition.models import (
    NUTRIENT_FIELDS,
    TARGET_FIELDS,
    TARGET_LABELS,
    DietType,
    FluidIntake,
    Food,
    FoodPortion,
    Meal,
    MealItem,
    MealType,
    Menu,
    NutritionTarget,
)

FEATURE = config.NUTRITION  # "food_tracking", opt-in per tenant
FUTURE_SLACK = timedelta(minutes=5)  # a phone clock a little ahead is not "the future"
OLDEST_DAYS = 90  # older than this is a typo, not a meal someone remembers
MAX_ITEMS = 40
MAX_AMOUNT = {"g": 5000, "ml": 5000}
MAX_PORTIONS = 50
ML_PER_CUP = 236.6
SALT_PER_SODIUM = 2.54  # CLINICAL.md: salt (NaCl) = sodium x 2.54
SODIUM_WINDOW_KEY = "nutrition.sodium_window_days"
DEFAULT_SODIUM_WINDOW = 7


# --- The adapter to clinical's writer -----------------------------------------------------
# Totals that trends and rules read are Observations, written by clinical's one writer.

def _store_observations(patient, readings: list[dict]) -> None:
    store(patient, "patient", [Reading(**r) for r in readings])


# The metrics nutrition writes (registered into clinical's catalogue from apps.py).
OBSERVATION_METRICS = {
    "energy_intake": ("Energy intake (day)", "kcal"),
    "sodium_intake": ("Sodium intake (day)", "mg"),
    "fluid_intake": ("Fluid intake (day)", "mL"),
    "sodium_over_target_days": ("Days over sodium target", "days"),
    "fluid_target_pct": ("Fluid, % of restriction (day)", "%"),
}


PINT_UNITS = {"kcal": "kilocalorie", "mg": "milligram", "mL": "milliliter", "days": "day", "%": "percent"}


def register_metrics() -> None:
    """Add nutrition's metrics (and their units) to clinical's catalogue."""
    for code, (label, unit) in OBSERVATION_METRICS.items():
        register_metric(code, label, unit, pint_unit=PINT_UNITS[unit])


# --- Time -------------------------------------------------------------------------------

def tz_of(patient):
    return patient.program.tz if patient.program_id else timezone.get_current_timezone()


def local_date(patient, moment: datetime) -> date:
    return moment.astimezone(tz_of(patient)).date()


def today_for(patient, now: datetime | None = None) -> date:
    return local_date(patient, now or timezone.now())


def day_bounds(patient, day: date) -> tuple[datetime, datetime]:
    tz = tz_of(patient)
    return datetime.combine(day, time.min, tzinfo=tz), datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def check_moment(moment, field: str, *, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    if moment is None:
        raise ValidationError({field: "Say when."})
    if timezone.is_naive(moment):
        raise ValidationError({field: "The time needs a time zone."})
    if moment > now + FUTURE_SLACK:
        raise ValidationError({field: "That time is in the future."})
    if moment < now - timedelta(days=OLDEST_DAYS):
        raise ValidationError({field: f"Log meals and drinks of the last {OLDEST_DAYS} days only."})
    return moment


def feature_on(project) -> bool:
    return config.flag_enabled(project, FEATURE)


# --- Amounts and nutrients ---------------------------------------------------------------

@dataclass
class ItemIn:
    """One item as entered: a food, an amount and its unit ("g", "ml", a portion's unit,
    a portion's label like "1 cup", or a portion's id)."""

    food: Food
    amount: float
    unit: str = "g"


@dataclass
class Resolved:
    food: Food
    amount: float
    unit: str
    grams: float
    portion: FoodPortion | None


def density(food: Food) -> float:
    """g per mL: from the food's cup or fl oz portion when it has one, else 1 (water)."""
    for p in food.portions.all():
        unit = p.unit.lower()
        if unit.startswith("fl oz") and p.amount:
            return p.grams / (p.amount * 29.57)
        if unit == "cup" and p.amount:
            return p.grams / (p.amount * ML_PER_CUP)
    return 1.0


def find_portion(food: Food, unit: str) -> FoodPortion | None:
    wanted = unit.strip().lower()
    portions = list(food.portions.all())
    for p in portions:
        if str(p.pk) == wanted or p.unit.lower() == wanted or p.label.lower() == wanted:
            return p
    # "cup" also finds "cup, chopped"; the first such portion is the food's usual one.
    return next((p for p in portions if p.unit.lower().split(",")[0].strip() == wanted), None)


def resolve_item(item: ItemIn) -> Resolved:
    """Grams for an amount in a unit, or ValidationError naming `amount` or `unit`."""
    amount, unit = item.amount, (item.unit or "g").strip()
    if amount is None or not isinstance(amount, int | float) or amount != amount:
        raise ValidationError({"amount": "Enter a number."})
    if amount <= 0:
        raise ValidationError({"amount": "The amount must be more than zero."})
    key = unit.lower()
    if key in ("g", "gram", "grams"):
        if amount > MAX_AMOUNT["g"]:
            raise ValidationError({"amount": f"At most {MAX_AMOUNT['g']} g in one item."})
        return Resolved(item.food, amount, "g", amount, None)
    if key in ("ml", "millilitre", "milliliter"):
        if amount > MAX_AMOUNT["ml"]:
            raise ValidationError({"amount": f"At most {MAX_AMOUNT['ml']} mL in one item."})
        return Resolved(item.food, amount, "ml", amount * density(item.food), None)
    portion = find_portion(item.food, unit)
    if portion is None:
        units = ", ".join(sorted({p.unit for p in item.food.portions.all()})[:8])
        raise ValidationError({"unit": f"{item.food.name} has no portion “{unit}”. Use g, ml"
                                       + (f" or one of: {units}." if units else ".")})
    if amount > MAX_PORTIONS:
        raise ValidationError({"amount": f"At most {MAX_PORTIONS} portions in one item."})
    grams = amount / (portion.amount or 1) * portion.grams
    return Resolved(item.food, amount, portion.unit, grams, portion)


def nutrients_for(food: Food, grams: float) -> dict[str, float | None]:
    """The food's per-100 g nutrients scaled to `grams` (unknown stays unknown)."""
    return {f: (None if getattr(food, f) is None else round(getattr(food, f) * grams / 100, 3))
            for f in NUTRIENT_FIELDS}


def is_liquid(food: Food) -> bool:
    """Drinks and soups: the Beverages group, foods measured in fluid ounces (milk, juice),
    and soups (fluid restrictions count them)."""
    if food.is_drink or any(p.unit.lower().startswith("fl oz") for p in food.portions.all()):
        return True
    return bool(food.category_id and food.category.code == "0600" and food.name.lower().startswith("soup"))


def fluid_of(food: Food, grams: float, unit: str) -> float:
    """Water a liquid adds to the day's fluids (anything logged in mL counts too), by its
    water content (100 % when unknown)."""
    if not (unit == "ml" or is_liquid(food)):
        return 0.0
    water = food.water_g if food.water_g is not None else 100.0
    return round(grams * water / 100, 1)


def _build_items(meal: Meal, resolved: list[Resolved]) -> list[MealItem]:
    items = []
    for i, r in enumerate(resolved):
        items.append(MealItem(meal=meal, food=r.food, food_name=r.food.name[:200], food_revision=r.food.revision,
                              amount=r.amount, unit=r.unit[:80], portion=r.portion, grams=round(r.grams, 2),
                              fluid_ml=fluid_of(r.food, r.grams, r.unit), order=i, **nutrients_for(r.food, r.grams)))
    return items


def _create_items(items: list[MealItem], actor) -> None:
    """Items with their history rows (a plain bulk_create skips simple-history's signals,
    so an edited meal's history would show the old items but never the new ones)."""
    bulk_create_with_history(items, MealItem,
                             default_user=actor if getattr(actor, "is_authenticated", False) else None)


def _totals(meal: Meal, items: list[MealItem]) -> None:
    meal.energy_kcal = round(sum(i.energy_kcal or 0 for i in items), 1)
    meal.sodium_mg = round(sum(i.sodium_mg or 0 for i in items), 1)
    meal.fluid_ml = round(sum(i.fluid_ml for i in items), 1)


def _resolve_all(items: list[ItemIn]) -> list[Resolved]:
    if not items:
        raise ValidationError({"items": "Add at least one food."})
    if len(items) > MAX_ITEMS:
        raise ValidationError({"items": f"At most {MAX_ITEMS} foods in one meal."})
    out, errors = [], {}
    for i, item in enumerate(items):
        try:
            out.append(resolve_item(item))
        except ValidationError as exc:
            for field, msgs in exc.message_dict.items():
                errors[f"items[{i}].{field}"] = msgs
    if errors:
        raise ValidationError(errors)
    return out


def _check_meal_type(meal_type: str) -> None:
    if meal_type not in MealType.values:
        raise ValidationError({"meal_type": f"Use one of {', '.join(MealType.values)}."})


def _check_foods_visible(patient, items: list[ItemIn]) -> None:
    for i, item in enumerate(items):
        if not item.food.is_active or (item.food.project_id not in (None, patient.project_id)):
            raise ValidationError({f"items[{i}].food": "Unknown food."})


# --- Meals --------------------------------------------------------------------------------

@transaction.atomic
def meal_log(*, patient, actor, meal_type: str, eaten_at: datetime, items: list[ItemIn],
             source: str = Meal.Source.MANUAL, note: str = "", photo=None, request=None, via: str = "web") -> Meal:
    """Log a meal for `patient` (the caller has gated the patient for nutrition:write).
    Validates everything before writing anything; nutrients computed per item."""
    _check_meal_type(meal_type)
    check_moment(eaten_at, "eaten_at")
    if source not in Meal.Source.values:
        raise ValidationError({"source": f"Use one of {', '.join(Meal.Source.values)}."})
    _check_foods_visible(patient, items)
    resolved = _resolve_all(items)
    photo_ext = photos.check(photo) if photo is not None else None
    meal = Meal(project_id=patient.project_id, program_id=patient.program_id, patient=patient, meal_type=meal_type,
                eaten_at=eaten_at, local_date=local_date(patient, eaten_at), source=source, note=(note or "")[:2000],
                entered_by=actor if getattr(actor, "is_authenticated", False) else None)
    if photo is not None:
        photos.store(meal, photo, photo_ext)
    built = _build_items(meal, resolved)
    _totals(meal, built)
    meal.save()
    _create_items(built, actor)
    audit.record(request=request, actor=actor, action="write", resource="nutrition", patient=patient,
                 object_id=meal.pk, metadata={"event": "meal_logged", "via": via, "items": len(built)})
    sync_days(patient, {meal.local_date})
    return meal


@transaction.atomic
def meal_update(*, meal: Meal, actor, meal_type: str | None = None, eaten_at: datetime | None = None,
                items: list[ItemIn] | None = None, note: str | None = None, photo=None, remove_photo: bool = False,
                request=None, via: str = "web") -> Meal:
    """Change a meal. Everything is validated before anything is written. Its items are
    replaced (the old ones stay in their history table); both days (before and after a
    time change) are recomputed; a new or removed photo leaves the old file for history."""
    meal = Meal.objects.select_for_update().select_related("patient__program").get(pk=meal.pk)
    if meal.voided_at is not None:
        raise ValidationError({"meal": "This meal was removed."})
    patient = meal.patient
    before = meal.local_date
    if meal_type is not None:
        _check_meal_type(meal_type)
    if eaten_at is not None:
        check_moment(eaten_at, "eaten_at")
    resolved = None
    if items is not None:
        _check_foods_visible(patient, items)
        resolved = _resolve_all(items)
    photo_ext = photos.check(photo) if photo is not None else None
    changed = []
    if meal_type is not None and meal_type != meal.meal_type:
        meal.meal_type = meal_type
        changed.append("meal_type")
    if eaten_at is not None and eaten_at != meal.eaten_at:
        meal.eaten_at, meal.local_date = eaten_at, local_date(patient, eaten_at)
        changed.append("eaten_at")
    if note is not None and note[:2000] != meal.note:
        meal.note = note[:2000]
        changed.append("note")
    if resolved is not None:
        built = _build_items(meal, resolved)
        for old in meal.items.all():
            old.delete()  # one by one: simple-history records each removal
        _create_items(built, actor)
        _totals(meal, built)
        changed.append("items")
    if photo is not None:
        photos.store(meal, photo, photo_ext)
        changed.append("photo")
    elif remove_photo and meal.photo:
        meal.photo = ""
        changed.append("photo_removed")
    meal.save()
    audit.record(request=request, actor=actor, action="update", resource="nutrition", patient=patient,
                 object_id=meal.pk, metadata={"event": "meal_updated", "via": via, "changed": changed})
    sync_days(patient, {before, meal.local_date})
    return meal


@transaction.atomic
def meal_void(*, meal: Meal, actor, request=None, via: str = "web") -> Meal:
    """Remove a meal from the record (kept, marked voided, audited)."""
    meal = Meal.objects.select_for_update().select_related("patient__program").get(pk=meal.pk)
    if meal.voided_at is None:
        meal.voided_at = timezone.now()
        meal.save(update_fields=["voided_at", "updated_at"])
        audit.record(request=request, actor=actor, action="delete", resource="nutrition", patient=meal.patient,
                     object_id=meal.pk, metadata={"event": "meal_removed", "via": via})
        sync_days(meal.patient, {meal.local_date})
    return meal


def meal_copy(*, patient, actor, from_day: date, meal_type: str, eaten_at: datetime, request=None,
              via: str = "web") -> Meal:
    """Copy a day's meal of a type (e.g. yesterday's breakfast) to a new time: the same
    foods, amounts and units, with today's nutrient values of those foods."""
    source = (live_meals(patient).filter(local_date=from_day, meal_type=meal_type).order_by("-eaten_at")
              .prefetch_related("items__food__portions").first())
    if source is None:
        raise ValidationError({"meal_type": f"No {meal_type} logged on {from_day:%b %-d}."})
    items = [ItemIn(food=i.food, amount=i.amount, unit=str(i.portion_id) if i.portion_id else i.unit)
             for i in source.items.all()]
    return meal_log(patient=patient, actor=actor, meal_type=meal_type, eaten_at=eaten_at, items=items,
                    source=Meal.Source.MANUAL, note="", request=request, via=via)


def live_meals(patient):
    return Meal.objects.filter(patient_id=patient.pk, voided_at__isnull=True)


# --- Fluids -------------------------------------------------------------------------------

@transaction.atomic
def fluid_log(*, patient, actor, amount_ml: float, taken_at: datetime, drink: str = "", food: Food | None = None,
              source: str = Meal.Source.MANUAL, request=None, via: str = "web") -> FluidIntake:
    """Log a drink. With a food (e.g. milk), only its water content counts as fluid."""
    if amount_ml is None or not isinstance(amount_ml, int | float) or amount_ml != amount_ml:
        raise ValidationError({"amount_ml": "Enter a number."})
    if amount_ml <= 0:
        raise ValidationError({"amount_ml": "The amount must be more than zero."})
    if amount_ml > MAX_AMOUNT["ml"]:
        raise ValidationError({"amount_ml": f"At most {MAX_AMOUNT['ml']} mL at once."})
    check_moment(taken_at, "taken_at")
    if food is not None and (not food.is_active or food.project_id not in (None, patient.project_id)):
        raise ValidationError({"food": "Unknown food."})
    fluid = amount_ml
    if food is not None and food.water_g is not None:
        fluid = round(amount_ml * density(food) * food.water_g / 100, 1)
    entry = FluidIntake.objects.create(
        project_id=patient.project_id, program_id=patient.program_id, patient=patient, amount_ml=amount_ml,
        fluid_ml=fluid, drink=(drink or (food.name if food else "Water"))[:120], food=food, taken_at=taken_at,
        local_date=local_date(patient, taken_at), source=source if source in Meal.Source.values else "manual",
        entered_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(request=request, actor=actor, action="write", resource="nutrition", patient=patient,
                 object_id=entry.pk, metadata={"event": "fluid_logged", "via": via})
    sync_days(patient, {entry.local_date})
    return entry


@transaction.atomic
def fluid_void(*, entry: FluidIntake, actor, request=None, via: str = "web") -> FluidIntake:
    entry = FluidIntake.objects.select_for_update().select_related("patient__program").get(pk=entry.pk)
    if entry.voided_at is None:
        entry.voided_at = timezone.now()
        entry.save(update_fields=["voided_at"])
        audit.record(request=request, actor=actor, action="delete", resource="nutrition", patient=entry.patient,
                     object_id=entry.pk, metadata={"event": "fluid_removed", "via": via})
        sync_days(entry.patient, {entry.local_date})
    return entry


# --- Targets ------------------------------------------------------------------------------

def target_of(patient) -> NutritionTarget | None:
    return NutritionTarget.objects.filter(patient_id=patient.pk).select_related("diet_type", "menu").first()


@transaction.atomic
def target_set(*, patient, actor, values: dict | None = None, diet_type: DietType | None = None,
               menu: Menu | None = None, note: str = "", request=None, via: str = "web") -> NutritionTarget:
    """Set a patient's daily targets. A diet type fills the targets it defines; typed
    values win over it. Empty values clear a target. History keeps who changed what."""
    values = dict(values or {})
    unknown = set(values) - set(TARGET_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "Unknown target."})
    for field, value in values.items():
        if value is not None and (not isinstance(value, int | float) or value != value or value < 0):
            raise ValidationError({field: "Enter zero or a positive number."})
    if diet_type is not None and diet_type.project_id != patient.project_id:
        raise ValidationError({"diet_type": "Unknown diet type."})
    if menu is not None and menu.project_id != patient.project_id:
        raise ValidationError({"menu": "Unknown menu."})
    target = NutritionTarget.objects.select_for_update().filter(patient_id=patient.pk).first() or NutritionTarget(
        project_id=patient.project_id, patient=patient)
    if diet_type is not None:
        for field in TARGET_FIELDS:
            if getattr(diet_type, field) is not None and field not in values:
                values[field] = getattr(diet_type, field)
    for field, value in values.items():
        setattr(target, field, value)
    target.diet_type, target.menu = diet_type, menu
    target.note = (note or "")[:2000]
    target.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    target._change_reason = f"via {via}"
    if getattr(actor, "is_authenticated", False):
        target._history_user = actor  # tasks and the API have no middleware request for simple-history
    target.save()
    audit.record(request=request, actor=actor, action="update", resource="nutrition", patient=patient,
                 object_id=target.pk, metadata={"event": "targets_set", "via": via,
                                                "values": {k: v for k, v in values.items()}})
    today = today_for(patient)
    window = sodium_window(patient)
    sync_days(patient, {today - timedelta(days=i) for i in range(window)})
    return target


def sodium_window(patient) -> int:
    days = config.get_int(SODIUM_WINDOW_KEY, DEFAULT_SODIUM_WINDOW, program=patient.program,
                          project=patient.project)
    return min(max(days or DEFAULT_SODIUM_WINDOW, 1), 31)


# --- Daily totals -------------------------------------------------------------------------

def daily_totals(patient, start: date, end: date) -> dict[date, dict]:
    """{day: {energy_kcal, sodium_mg, ..., fluid_ml, meals}} for start..end (two grouped queries)."""
    sums = {f: Sum(f"items__{f}") for f in NUTRIENT_FIELDS}
    out: dict[date, dict] = {}
    # Items summed per day; meal counts per day separately (a join would multiply them).
    for row in (live_meals(patient).filter(local_date__range=(start, end)).order_by().values("local_date")
                .annotate(**sums, item_fluid=Sum("items__fluid_ml"))):
        day = out.setdefault(row["local_date"], _empty_day())
        for f in NUTRIENT_FIELDS:
            day[f] = round(row[f] or 0, 1)
        day["fluid_ml"] += row["item_fluid"] or 0
    for row in (live_meals(patient).filter(local_date__range=(start, end)).order_by().values("local_date")
                .annotate(n=Count("id"))):
        out.setdefault(row["local_date"], _empty_day())["meals"] = row["n"]
    for row in (FluidIntake.objects.filter(patient_id=patient.pk, voided_at__isnull=True,
                                           local_date__range=(start, end))
                .order_by().values("local_date").annotate(total=Sum("fluid_ml"))):
        out.setdefault(row["local_date"], _empty_day())["fluid_ml"] += row["total"] or 0
    for day in out.values():
        day["fluid_ml"] = round(day["fluid_ml"], 1)
    return out


def _empty_day() -> dict:
    return {**{f: 0.0 for f in NUTRIENT_FIELDS}, "fluid_ml": 0.0, "meals": 0}


def sync_days(patient, days: set[date]) -> None:
    """Write the days' totals as Observations (trends, rules): energy, sodium and fluid
    per day; days over the sodium target in the trailing window; fluid as % of the
    restriction. A day's rows sit at its local midnight, so a 1-day rule window sees
    exactly today. Days after today are never written."""
    today = today_for(patient)
    days = {d for d in days if d <= today}
    if not days:
        return
    window = sodium_window(patient)
    target = target_of(patient)
    affected = set(days)
    if target is not None and target.sodium_mg:
        # A day's count looks back `window` days: later days up to today change too.
        for d in days:
            affected.update(d + timedelta(days=i) for i in range(window) if d + timedelta(days=i) <= today)
    start = min(affected) - timedelta(days=window - 1)
    totals = daily_totals(patient, start, max(affected))
    readings = []
    for day in sorted(affected):
        at = day_bounds(patient, day)[0]
        t = totals.get(day)
        if t is not None:
            readings += [dict(metric="energy_intake", effective_at=at, value=float(t["energy_kcal"])),
                         dict(metric="sodium_intake", effective_at=at, value=float(t["sodium_mg"])),
                         dict(metric="fluid_intake", effective_at=at, value=float(t["fluid_ml"]))]
            if target is not None and target.fluid_ml:
                readings.append(dict(metric="fluid_target_pct", effective_at=at,
                                     value=round(t["fluid_ml"] / target.fluid_ml * 100, 1)))
        if target is not None and target.sodium_mg:
            over = [d.isoformat() for d in (day - timedelta(days=i) for i in range(window))
                    if d in totals and totals[d]["meals"] and totals[d]["sodium_mg"] > target.sodium_mg]
            if over or t is not None:
                readings.append(dict(metric="sodium_over_target_days", effective_at=at, value=float(len(over)),
                                     details={"window_days": window, "target_mg": target.sodium_mg,
                                              "days_over": over}))
    if readings:
        _store_observations(patient, readings)


# --- What pages and the API show -------------------------------------------------------------

def target_rows(totals: dict, target: NutritionTarget | None) -> list[dict]:
    """Each target with the day's value: percent and a plain status (over a limit, goal met...)."""
    rows = []
    for field in TARGET_FIELDS:
        label, unit, kind = TARGET_LABELS[field]
        goal = getattr(target, field) if target is not None else None
        value = round(totals.get(field) or 0, 1)
        row = {"nutrient": field, "label": label, "unit": unit, "kind": kind, "value": value, "target": goal,
               "percent": None, "status": "no_target"}
        if goal:
            row["percent"] = round(value / goal * 100)
            if kind == "limit":
                row["status"] = "over" if value > goal else "within"
            else:
                row["status"] = "met" if value >= goal else "below"
        rows.append(row)
    return rows


def sodium_sources(items, total: float, limit: int = 5) -> list[dict]:
    """Foods ranked by their share of the day's sodium ("bread 38 % of today's sodium")."""
    by_food: dict[str, float] = defaultdict(float)
    for item in items:
        if item.sodium_mg:
            by_food[item.food_name] += item.sodium_mg
    ranked = sorted(by_food.items(), key=lambda kv: -kv[1])[:limit]
    return [{"food": name, "sodium_mg": round(mg), "percent": round(mg / total * 100) if total else 0}
            for name, mg in ranked]


def day_summary(patient, day: date) -> dict:
    """One local day: meals with items, drinks, totals against targets, sodium sources."""
    meals = list(live_meals(patient).filter(local_date=day).order_by("eaten_at")
                 .prefetch_related("items__food"))
    fluids = list(FluidIntake.objects.filter(patient_id=patient.pk, voided_at__isnull=True, local_date=day)
                  .order_by("taken_at"))
    items = [i for m in meals for i in m.items.all()]
    totals = {f: round(sum(getattr(i, f) or 0 for i in items), 1) for f in NUTRIENT_FIELDS}
    totals["fluid_ml"] = round(sum(i.fluid_ml for i in items) + sum(f.fluid_ml for f in fluids), 1)
    for item in items:
        item.food_changed = item.food.revision != item.food_revision
    target = target_of(patient)
    return {
        "date": day, "meals": meals, "fluids": fluids, "totals": totals,
        "salt_g": round(totals["sodium_mg"] * SALT_PER_SODIUM / 1000, 1),
        "targets": target_rows(totals, target), "target": target,
        "sodium_sources": sodium_sources(items, totals["sodium_mg"]),
    }


def days_overview(patient, days: int = 7, end: date | None = None) -> dict:
    """The last `days` local days: totals per day against the main targets, and logging
    adherence (days with at least one meal)."""
    end = end or today_for(patient)
    start = end - timedelta(days=days - 1)
    totals = daily_totals(patient, start, end)
    target = target_of(patient)
    rows = []
    for i in range(days):
        day = end - timedelta(days=i)
        t = totals.get(day, _empty_day())
        rows.append({"date": day, **t,
                     "sodium_over": bool(target and target.sodium_mg and t["meals"]
                                         and t["sodium_mg"] > target.sodium_mg),
                     "fluid_over": bool(target and target.fluid_ml and t["fluid_ml"] > target.fluid_ml),
                     "energy_over": bool(target and target.energy_kcal and t["energy_kcal"] > target.energy_kcal)})
    logged = sum(1 for r in rows if r["meals"])
    with_meals = [r for r in rows if r["meals"]]

    def mean(field):
        return round(sum(r[field] for r in with_meals) / len(with_meals)) if with_meals else None

    return {"rows": rows, "days": days, "logged_days": logged, "adherence_pct": round(logged / days * 100),
            "target": target, "mean_energy": mean("energy_kcal"), "mean_sodium": mean("sodium_mg"),
            "mean_fluid": mean("fluid_ml"), "sodium_over_days": sum(1 for r in rows if r["sodium_over"])}


def recent_foods(patient, limit: int = 8) -> list[dict]:
    """Foods the patient logged lately, most frequent first (one tap away in the portal):
    the unit and amount they usually take."""
    since = timezone.now() - timedelta(days=30)
    rows = (MealItem.objects.filter(meal__patient_id=patient.pk, meal__voided_at__isnull=True,
                                    meal__eaten_at__gte=since)
            .order_by().values("food_id", "food_name", "amount", "unit", "portion_id").annotate(n=Count("id"))
            .order_by("-n", "food_name")[:limit * 3])
    seen, out = set(), []
    for r in rows:
        if r["food_id"] in seen:
            continue
        seen.add(r["food_id"])
        out.append({"food": r["food_id"], "name": r["food_name"], "amount": r["amount"],
                    "unit": str(r["portion_id"]) if r["portion_id"] else r["unit"], "unit_label": r["unit"],
                    "times": r["n"]})
        if len(out) == limit:
            break
    return out


def meals_missing_today(patients, now: datetime | None = None) -> list:
    """Of these patients, those with no meal logged today (their local day)."""
    now = now or timezone.now()
    by_day: dict[date, list] = defaultdict(list)
    for p in patients:
        by_day[today_for(p, now)].append(p)
    missing = []
    for day, group in by_day.items():
        logged = set(Meal.objects.filter(patient_id__in=[p.pk for p in group], local_date=day,
                                         voided_at__isnull=True).values_list("patient_id", flat=True))
        missing += [p for p in group if p.pk not in logged]
    return missing


# --- Rules (clinical's engine) and reminders ----------------------------------------------------

def nutrition_rules() -> list[dict]:
    """The nutrition rules every program with food tracking gets (clinical.ClinicalRule rows,
    evaluated by the same engine, dry run and alert queue as vitals)."""
    from clinical.models import ClinicalRule, Severity

    C, A = ClinicalRule.Condition, ClinicalRule.Action
    return [
        dict(code="nutrition_sodium_over_target", name="Sodium over target on 3 of the last 7 days",
             metric="sodium_over_target_days", condition=C.GTE, threshold=3,
             threshold_setting="nutrition.sodium_over_days", window_days=1, severity=Severity.WARNING,
             action=A.ALERT, priority=30,
             description="The patient's logged sodium was above their daily sodium target on at least N (setting "
                         "nutrition.sodium_over_days, default 3) of the last M days (setting "
                         "nutrition.sodium_window_days, default 7). Only days with meals logged count."),
        dict(code="nutrition_fluid_over_limit", name="Fluid over restriction today", metric="fluid_target_pct",
             condition=C.GT, threshold=100, window_days=1, severity=Severity.WARNING, action=A.ALERT, priority=35,
             description="Today's logged fluids (drinks and the water of drinks in meals) exceed the patient's "
                         "clinician-set fluid restriction."),
        dict(code="nutrition_no_meals", name="No meals logged for 3 days", metric="energy_intake",
             condition=C.MISSING, window_days=3, severity=Severity.INFO, action=A.ALERT, priority=5,
             description="No meal logged in the last 3 days by a patient who logged meals before."),
    ]


def missing_nutrition_rules(program) -> list[str]:
    """Codes of the nutrition rules the program lacks (its own rows; a project-level rule
    of the same code does not count: the program gets its own editable copy)."""
    from clinical.models import ClinicalRule

    have = set(ClinicalRule.objects.filter(program=program, code__startswith="nutrition_")
               .values_list("code", flat=True))
    return [spec["code"] for spec in nutrition_rules() if spec["code"] not in have]


def ensure_nutrition_rules(program) -> int:
    """Create the program's missing nutrition rules (idempotent by code; an admin's edits
    are kept). Only for tenants with food tracking on."""
    from django.db import IntegrityError

    from clinical.models import ClinicalRule

    if not feature_on(program.project):
        return 0
    wanted = set(missing_nutrition_rules(program))
    created = 0
    for spec in nutrition_rules():
        if spec["code"] not in wanted:
            continue
        try:
            with transaction.atomic():
                ClinicalRule.objects.create(project_id=program.project_id, program=program, **spec)
        except IntegrityError:
            continue
        created += 1
    return created


REMINDER_HOUR_KEY = "nutrition.reminder_hour"
DEFAULT_REMINDER_HOUR = 19


def send_food_log_reminders(now: datetime | None = None) -> int:
    """`food_log_reminder` to portal patients of programs with food tracking on who have
    logged no meal today, once their local time passes the reminder hour. One per patient
    and day (the notification key); quiet hours and opt-outs are messaging.notify's."""
    from messaging.notify import notify
    from patients.models import Patient, Program

    now = now or timezone.now()
    sent = 0
    for program in Program.objects.filter(is_active=True).select_related("project"):
        if not feature_on(program.project):
            continue
        hour = config.get_int(REMINDER_HOUR_KEY, DEFAULT_REMINDER_HOUR, program=program, project=program.project)
        if now.astimezone(program.tz).hour < (hour if hour is not None else DEFAULT_REMINDER_HOUR):
            continue
        patients = list(Patient.objects.filter(program=program, user__isnull=False, user__is_active=True,
                                               status="active").select_related("user", "program", "project"))
        for patient in meals_missing_today(patients, now):
            day = today_for(patient, now)
            with transaction.atomic():
                notify(event_type="food_log_reminder", recipients=[patient.user],
                       context={"patient_name": patient.full_name}, key=f"food-log:{patient.pk}:{day}",
                       patient=patient, link="/portal/nutrition/", now=now)
            sent += 1
    return sent


def items_from_input(patient, raw_items) -> list[ItemIn]:
    """[{food: id, amount, unit}] as typed (API or form) -> ItemIn, or ValidationError naming
    the field (`items[2].food`). Foods: shared ones and the patient's tenant's, active."""
    from nutrition.foods import visible_foods

    if not isinstance(raw_items, list | tuple) or not raw_items:
        raise ValidationError({"items": "Add at least one food."})
    if len(raw_items) > MAX_ITEMS:
        raise ValidationError({"items": f"At most {MAX_ITEMS} foods in one meal."})
    ids = []
    for i, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            raise ValidationError({f"items[{i}]": "Each item is an object with food, amount and unit."})
        ids.append(str(raw.get("food") or ""))
    valid_ids = []
    for i, food_id in enumerate(ids):
        try:
            valid_ids.append(str(uuid.UUID(food_id)))
        except ValueError:
            raise ValidationError({f"items[{i}].food": "Unknown food."}) from None
    foods = {str(f.pk): f for f in visible_foods(patient.project).filter(pk__in=valid_ids)
             .select_related("category").prefetch_related("portions")}
    out, errors = [], {}
    for i, (raw, food_id) in enumerate(zip(raw_items, valid_ids, strict=True)):
        food = foods.get(food_id)
        if food is None:
            errors[f"items[{i}].food"] = ["Unknown food."]
            continue
        amount = raw.get("amount")
        if isinstance(amount, str):
            try:
                amount = float(amount.strip().replace(",", "."))
            except ValueError:
                amount = None
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount != amount \
                or amount in (float("inf"), float("-inf")):
            errors[f"items[{i}].amount"] = ["Enter a number."]
            continue
        unit = raw.get("unit") or "g"
        if not isinstance(unit, str) or len(unit) > 80:
            errors[f"items[{i}].unit"] = ["Use g, ml or one of the food's portions."]
            continue
        out.append(ItemIn(food=food, amount=float(amount), unit=unit))
    if errors:
        raise ValidationError(errors)
    return out
