"""The food table: loading SR28, search that finds what people type, /api/v1/foods/,
clinic foods with validated nutrients."""

import pytest
from django.core.management import call_command
from django.db.models import F, Value

from mahalo.models import AuditEvent
from nutrition import foods
from nutrition.models import Food, FoodPortion, FoodSource
from nutrition.tests.factories import FIXTURE_DIR, food, load_fixture_foods

pytestmark = pytest.mark.django_db


def names(query, project=None, n=3):
    return [f.name for f in foods.food_search(query, project=project, limit=n)]


def test_loading_is_idempotent_and_keeps_nutrients_and_portions(db):
    first = load_fixture_foods()
    again = foods.load_sr28(directory=FIXTURE_DIR)
    assert again.skipped and again.foods == first.foods == Food.objects.count() == 60
    egg = food("01132")
    assert egg.name == "Egg, whole, cooked, scrambled"
    assert egg.energy_kcal == pytest.approx(149) and egg.sodium_mg == pytest.approx(145)
    assert egg.protein_g and egg.fat_g and egg.saturated_fat_g is not None and egg.potassium_mg
    assert {(p.unit, p.grams) for p in egg.portions.all()} >= {("large", 61.0), ("cup", 220.0)}
    assert egg.category.name == "Dairy and Egg Products"
    # A forced reload updates in place: the same rows (meals keep pointing at them).
    ids = set(Food.objects.values_list("id", flat=True))
    foods.load_sr28(directory=FIXTURE_DIR, force=True)
    assert set(Food.objects.values_list("id", flat=True)) == ids
    assert FoodPortion.objects.filter(food=egg).count() == 3


def test_the_command_loads_the_full_usda_table_from_the_package(db, capsys):
    call_command("load_foods")
    assert Food.objects.filter(source="usda").count() == 8789
    assert FoodPortion.objects.count() > 15000
    assert FoodSource.objects.get(name="usda-sr28").foods == 8789
    call_command("load_foods")
    assert "already loaded" in capsys.readouterr().out
    assert names("egg", n=1) == ["Egg, whole, raw, fresh"]
    assert names("coffee", n=1) == ["Beverages, coffee, brewed, prepared with tap water"]
    assert names("brocoli", n=1) == ["Broccoli, raw"]


@pytest.mark.parametrize("query, expected", [
    ("egg", "Egg, whole, raw, fresh"),
    ("eggs", "Egg, whole, raw, fresh"),
    ("Egg", "Egg, whole, raw, fresh"),
    ("scrambled egg", "Egg, whole, cooked, scrambled"),
    ("brown rice", "Rice, brown, long-grain, raw"),
    ("eggg", "Egg, whole, raw, fresh"),  # a typo
])
def test_search_finds_whole_foods_for_plain_words(db, query, expected):
    load_fixture_foods()
    found = names(query, n=4)
    assert expected in found[:2], found
    if query.lower().startswith("egg"):
        assert not any(n.startswith(("Eggplant", "Egg custards", "Fast foods")) for n in found[:3])


def test_search_of_nothing_finds_nothing(db):
    load_fixture_foods()
    assert names("") == [] and names("zzzqqq") == []


def test_foods_api_requires_login(client, nw):
    assert client.get("/api/v1/foods/?q=egg").status_code in (401, 403)


def test_foods_api_answers_per_100_g_with_sodium_and_portions(api_login, nw):
    api = api_login(nw.patient_user)
    body = api.get("/api/v1/foods/?q=scrambled egg").json()
    top = body[0]
    assert top["name"] == "Egg, whole, cooked, scrambled" and top["per"] == "100 g"
    assert top["sodium_mg"] == pytest.approx(145)
    assert {"label": "1 large", "unit": "large", "grams": 61.0} .items() <= top["portions"][0].items()
    one = api.get(f"/api/v1/foods/{top['id']}/")
    assert one.status_code == 200 and one.json()["energy_kcal"] == top["energy_kcal"]
    assert api.get("/api/v1/foods/").status_code == 400
    assert api.get("/api/v1/foods/?q=egg&limit=x").json() == {"limit": ["Enter a whole number."]}


def test_foods_api_is_off_with_the_flag(api_login, nw):
    assert api_login(nw.outsider).get("/api/v1/foods/?q=egg").status_code == 404


def test_another_tenants_clinic_food_is_invisible(api_login, nw):
    theirs = foods.food_save(project=nw.other_project, actor=nw.outsider, name="Poi bowl special",
                             nutrients={"energy_kcal": 110, "protein_g": 1, "carbohydrate_g": 26, "fat_g": 0.2,
                                        "sodium_mg": 10})
    api = api_login(nw.lead)
    assert api.get("/api/v1/foods/?q=poi bowl").json() == []
    assert api.get(f"/api/v1/foods/{theirs.pk}/").status_code == 404


def test_staff_add_a_branded_food_per_serving_and_it_is_converted(login, nw):
    client = login(nw.dietitian)
    response = client.post("/nutrition/foods/new/", {
        "name": "Hawaiian sweet roll", "brand": "Island Bakery", "source": "label", "barcode": "0123456789012",
        "per": "serving", "serving_grams": "28", "serving_unit": "roll", "energy_kcal": "90", "protein_g": "2",
        "carbohydrate_g": "16", "fat_g": "2", "sodium_mg": "80"})
    assert response.status_code == 302
    roll = Food.objects.get(name="Hawaiian sweet roll")
    assert roll.project == nw.project and roll.source == "label"
    assert roll.energy_kcal == pytest.approx(321.4, abs=0.1) and roll.sodium_mg == pytest.approx(285.7, abs=0.1)
    assert roll.portions.get().grams == 28
    assert AuditEvent.objects.filter(action="write", resource="nutrition", object_id=str(roll.pk)).exists()
    assert foods.food_search("sweet roll", project=nw.project)[0] == roll


@pytest.mark.parametrize("field, value, message", [
    ("energy_kcal", "500", "match the macros"),
    ("sodium_mg", "-5", "negative"),
    ("barcode", "12ab", "8 to 14 digits"),
])
def test_bad_food_values_are_refused_inline_and_nothing_is_stored(login, nw, field, value, message):
    data = {"name": "Clinic oatmeal", "source": "clinic", "per": "100g", "energy_kcal": "70", "protein_g": "2.5",
            "carbohydrate_g": "12", "fat_g": "1.5", "sodium_mg": "5", field: value}
    response = login(nw.dietitian).post("/nutrition/foods/new/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'value="Clinic oatmeal"' in response.content.decode()
    assert not Food.objects.filter(name="Clinic oatmeal").exists()


def test_the_food_pages_need_nutrition_write(login, nw):
    assert login(nw.patient_user).get("/nutrition/foods/").status_code in (403, 404)
    assert login(nw.dietitian).get("/nutrition/foods/?q=egg").status_code == 200
    usda = food("01132")
    assert login(nw.dietitian).get(f"/nutrition/foods/{usda.pk}/").status_code == 404  # shared rows: not editable


def test_the_trigram_path_is_postgresqls_last_resort(db, monkeypatch):
    """A typo the vocabulary can't correct goes to pg_trgm word similarity, on PostgreSQL only.
    This pins the query's shape (index-served `%>`, word_similarity ranking) on any database."""
    from django.db import connection

    from nutrition.models import Food

    load_fixture_foods()
    calls = []

    def fake_similar(base, wanted):
        calls.append(wanted)
        sql = str(base.filter(foods.WordSimilar(F("search_text"), Value("zzbrocz"))).query)
        assert '"search_text" %> zzbrocz' in sql
        broccoli = Food.objects.get(name="Broccoli, raw")
        return [broccoli], {broccoli.pk: 0.8}

    monkeypatch.setattr(foods, "_similar_candidates", fake_similar)
    if connection.vendor != "postgresql":
        assert foods.food_search("zzbrocz", project=None) == [] and calls == []
    monkeypatch.setattr(connection, "vendor", "postgresql")
    assert [f.name for f in foods.food_search("zzbrocz", project=None)] == ["Broccoli, raw"]
    assert calls == [["zzbrocz"]]
    assert foods.food_search("brocoli", project=None)[0].name == "Broccoli, raw"  # corrected first
    assert calls == [["zzbrocz"]]
    similar = foods.WordSimilarity(Value("zzbrocz"), F("search_text"))
    assert "word_similarity(" in str(Food.objects.annotate(s=similar).query)


def test_the_trigram_index_exists_on_postgresql_only(db):
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = 'food_search_trgm'")
            assert cursor.fetchall() == [("food_search_trgm",)]
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'food_search_trgm'")
            assert cursor.fetchall() == []
    from django.db.migrations.recorder import MigrationRecorder

    assert MigrationRecorder.Migration.objects.filter(app="nutrition", name="0002_food_search_trigram").exists()
