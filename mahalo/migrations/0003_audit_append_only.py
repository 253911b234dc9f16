"""On PostgreSQL, the database itself refuses UPDATE and DELETE on audit rows,
so not even a raw SQL mistake in application code can rewrite the trail."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION mahalo_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'mahalo_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER mahalo_audit_append_only
    BEFORE UPDATE OR DELETE ON mahalo_auditevent
    FOR EACH ROW EXECUTE FUNCTION mahalo_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS mahalo_audit_append_only ON mahalo_auditevent;
DROP FUNCTION IF EXISTS mahalo_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("mahalo", "0002_initial")]
    operations = [migrations.RunPython(forward, backward)]
