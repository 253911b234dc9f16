"""Signals the core sends so the apps above it can react without being imported (DESIGN "Layout")."""

from django.dispatch import Signal

# Sent by `manage.py seed_demo` once the tenants, programs, accounts and patients exist, inside its
# transaction. Keyword arguments: demo, other (Projects), cardiac, metabolic, general (Programs),
# kai (the portal Patient), lead, cardio, dietitian (Users). Receivers must be idempotent: seed_demo
# runs again on every `make run`.
demo_seeded = Signal()
