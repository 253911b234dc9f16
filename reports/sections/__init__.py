"""The report sections registry: section key -> builder(patient, start, end) -> snapshot dict, plus the
template partial that renders that dict (in the page, the PDF and the weekly summary alike).

A builder reads the data once and returns plain JSON (strings, numbers, lists, dicts; chart specs in
`mahalo.charts`' JSON form): the report stores it, so rendering never queries the clinical data again.
A builder that has nothing to say returns {"empty": True, "empty_text": "..."}: a section never fails a
report because an app has no data (or, for rehab today, no models yet).

Register a section with `register_section(Section(...))`; the built-in ones are registered by
`reports.sections.builtin` (imported by ReportsConfig.ready)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.core.serializers.json import DjangoJSONEncoder


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    template: str  # the partial; gets the snapshot as `section`
    build: Callable[..., dict]  # (patient, start: date, end: date) -> dict
    description: str = ""
    order: int = 50  # where a section goes in a layout that doesn't say (the admin's list)


SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> Section:
    SECTIONS[section.key] = section
    return section


def choices() -> list[tuple[str, str]]:
    return [(s.key, s.label) for s in sorted(SECTIONS.values(), key=lambda s: (s.order, s.key))]


def plain(data) -> dict:
    """JSON-safe copy (dates to ISO strings): what is stored is exactly what is rendered later."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def build(key: str, patient, start: date, end: date) -> dict:
    section = SECTIONS.get(key)
    if section is None:
        return {"key": key, "label": key, "empty": True, "empty_text": "This section is no longer available."}
    data = section.build(patient, start, end) or {}
    data.setdefault("empty", False)
    return plain({"key": key, "label": section.label, **data})
