# The database's own no-double-booking rule (PostgreSQL): btree_gist lets one
# exclusion constraint compare the staff id with = and the visit's time range with &&.
# Both operations do nothing on SQLite (see scheduling/db.py).

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

from scheduling.db import AddPostgresConstraint, visit_no_overlap


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [
        BtreeGistExtension(),
        AddPostgresConstraint("visit", visit_no_overlap),
    ]
