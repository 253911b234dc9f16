"""Registry search matches any part of a name, email, phone (icontains), which a
b-tree can't serve. On PostgreSQL a trigram GIN index over the same UPPER()
expressions Django's icontains emits lets those searches use an index instead
of scanning every patient. SQLite (laptop) has no pg_trgm and needs none."""

from django.db import migrations

COLUMNS = ["first_name", "last_name", "preferred_name", "email", "phone", "mrn"]
FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS patient_search_trgm ON patients_patient USING gin ("
    + ", ".join(f"(UPPER({c}::text)) gin_trgm_ops" for c in COLUMNS)
    + ")",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patient_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_name_order_index")]
    operations = [migrations.RunPython(forward, backward)]
