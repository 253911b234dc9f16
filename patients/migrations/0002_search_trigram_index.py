"""The registry's search box matches any part of a name, MRN, email or phone
(Patient.search_text, a generated column). A b-tree can't serve "contains", so
on PostgreSQL a trigram GIN index does, instead of scanning every patient.
SQLite (the laptop default) has no pg_trgm and needs none. Creating the
extension needs a role allowed to (the database owner on PostgreSQL 13+)."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS patient_search_trgm ON patients_patient USING gin (search_text gin_trgm_ops)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patient_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
