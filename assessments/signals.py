"""Receivers connected in assessments/apps.py."""

from django.db import transaction


def on_project_saved(sender, instance, created, raw=False, **kwargs) -> None:
    """A new tenant gets the built-in instruments (in the same transaction: a tenant without a
    PHQ-9 would make the safety pathway unreachable)."""
    if created and not raw:
        from assessments.services import ensure_builtins

        with transaction.atomic():
            ensure_builtins(instance)
