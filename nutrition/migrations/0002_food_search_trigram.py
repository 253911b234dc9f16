"""Food search on PostgreSQL (foods.food_search): every query word is a substring test
on Food.search_text ("LIKE '% egg%'"), which a b-tree can't serve, and a typo falls back
to trigram word similarity (pg_trgm's `%>`). One trigram GIN index serves both over the
shared USDA table plus every tenant's clinic and branded foods.

SQLite (the laptop default) has no pg_trgm and needs none: there this migration does
nothing and search keeps its difflib fallback for typos. Creating the extension needs a
role allowed to (the database owner on PostgreSQL 13+); patients/0002 creates it too."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS food_search_trgm ON nutrition_food USING gin (search_text gin_trgm_ops)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS food_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("nutrition", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
