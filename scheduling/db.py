"""PostgreSQL-only database rules, applied by migrations and skipped on SQLite.

SQLite (the laptop default) has no exclusion constraints; there the booking
services' checks under the staff lock are the rule, and on PostgreSQL the
database enforces it as well.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db.migrations.operations.base import Operation
from django.db.models import Func, Q

VISIT_NO_OVERLAP = "visit_no_staff_overlap"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def visit_no_overlap() -> ExclusionConstraint:
    """No two live visits of one staff member overlap ([start, end) ranges)."""
    return ExclusionConstraint(
        name=VISIT_NO_OVERLAP,
        expressions=[("staff", RangeOperators.EQUAL), (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS)],
        condition=~Q(status__in=["CANCELLED", "NO_SHOW"]),
    )


class AddPostgresConstraint(Operation):
    """Add a constraint on PostgreSQL only, outside the model state (so SQLite
    migrations and later table rebuilds never see SQL they can't run)."""

    reversible = True

    def __init__(self, model_name: str, constraint_factory):
        self.model_name, self.constraint_factory = model_name, constraint_factory

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = to_state.apps.get_model(app_label, self.model_name)
            schema_editor.add_constraint(model, self.constraint_factory())

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = from_state.apps.get_model(app_label, self.model_name)
            schema_editor.remove_constraint(model, self.constraint_factory())

    def describe(self):
        return f"PostgreSQL only: add a constraint on {self.model_name}"

    def deconstruct(self):
        return self.__class__.__name__, [self.model_name, self.constraint_factory], {}
