"""Provider registry: one module per provider, each a `Provider` subclass.

`get("whoop")` returns a fresh instance (it reads settings when created, so tests
that point a provider at a stub server just change settings)."""

from __future__ import annotations

import importlib

from wearables.providers.base import Provider

# name -> module under wearables.providers; each module defines `PROVIDER` (the class).
MODULES = {
    "whoop": "whoop",
    "oura": "oura",
    "withings": "withings",
    "garmin": "garmin",
    "google_health": "google_health",
    "polar": "polar",
    "strava": "strava",
}


def get(name: str) -> Provider:
    if name not in MODULES:
        raise KeyError(name)
    module = importlib.import_module(f"wearables.providers.{MODULES[name]}")
    return module.PROVIDER()


def available() -> list[str]:
    """Providers whose modules exist (all of MODULES once every connector lands)."""
    names = []
    for name, module in MODULES.items():
        try:
            importlib.import_module(f"wearables.providers.{module}")
        except ModuleNotFoundError:
            continue
        names.append(name)
    return names
