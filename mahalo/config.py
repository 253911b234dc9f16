"""Tenant settings and feature flags with typed accessors.

A program's value overrides its project's default; both are stored as text
(as in the seed's ma_project_settings / ma_program_settings), so every read
names the type it expects.
"""

import json
from typing import Any, TypeVar

from django.db.models import Q

from mahalo.models import FeatureFlag, ProgramSetting, Project, ProjectSetting

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}


def _cast(raw: str, kind: type) -> Any:
    if kind is bool:
        return raw.strip().lower() in _TRUE
    if kind in (int, float):
        return kind(raw.strip())
    if kind in (dict, list):
        return json.loads(raw)
    return raw


def get_setting(key: str, *, kind: type[T] = str, default: T | None = None, project: Project | None = None,
                program=None) -> T | None:
    """The program's value if it has one, else the project's, else `default`.

    A stored value that does not parse as `kind` falls back to the next level,
    so one bad edit in admin can't break every page that reads it.
    """
    if program is not None:
        project = project or program.project
        row = ProgramSetting.objects.filter(program=program, key=key).values_list("value", flat=True).first()
        if row is not None:
            try:
                return _cast(row, kind)
            except (ValueError, TypeError):
                pass
    if project is not None:
        row = ProjectSetting.objects.filter(project=project, key=key).values_list("value", flat=True).first()
        if row is not None:
            try:
                return _cast(row, kind)
            except (ValueError, TypeError):
                pass
    return default


def get_int(key: str, default: int | None = None, **scope) -> int | None:
    return get_setting(key, kind=int, default=default, **scope)


def get_float(key: str, default: float | None = None, **scope) -> float | None:
    return get_setting(key, kind=float, default=default, **scope)


def get_bool(key: str, default: bool = False, **scope) -> bool:
    return bool(get_setting(key, kind=bool, default=default, **scope))


# --- Feature flags ---------------------------------------------------------------------------
# A module that can be switched off per tenant declares its key here with its default: modules that
# shipped switched on stay on until a FeatureFlag row (enabled=False) turns them off; food tracking
# was always opt-in (a row with enabled=True turns it on). Flags are per project (tenant):
# FeatureFlag has no program column (seed 000's ma_feature_flags).
NUTRITION = "food_tracking"
QUESTIONNAIRES = "questionnaires"
WELLNESS = "wellness"
REHAB = "rehab"
TELEHEALTH = "telehealth"
RPM = "rpm"
MESSAGE_ATTACHMENTS = "message_attachments"
FEATURES: dict[str, bool] = {
    NUTRITION: False,
    QUESTIONNAIRES: True,
    WELLNESS: True,
    REHAB: True,
    TELEHEALTH: True,
    RPM: True,
    MESSAGE_ATTACHMENTS: True,
}
_CACHE_ATTR = "_mahalo_feature_flags"


def _rows(project: Project, cache) -> dict[str, bool]:
    """{flag name: enabled} of the tenant's rows, read once per `cache` object (a request or
    its user: anything that lives for one request) so a page asking ten times pays one query."""
    store = getattr(cache, _CACHE_ATTR, None) if cache is not None else None
    if store is not None and project.pk in store:
        return store[project.pk]
    rows = dict(FeatureFlag.objects.filter(project=project).values_list("name", "enabled"))
    if cache is not None:
        if store is None:
            store = {}
            try:
                setattr(cache, _CACHE_ATTR, store)
            except AttributeError:  # an object that takes no attributes: no cache, still correct
                return rows
        store[project.pk] = rows
    return rows


def feature_on(project: Project | None, key: str, *, cache=None) -> bool:
    """Is the module `key` switched on for this tenant? Its FeatureFlag row if there is one, else
    the module's default (FEATURES; an unknown key is off). No tenant (a platform operator) means
    the defaults."""
    if project is None:
        return FEATURES.get(key, False)
    rows = _rows(project, cache)
    return rows[key] if key in rows else FEATURES.get(key, False)


def features_on(project: Project | None, *, cache=None) -> frozenset[str]:
    """Every module key switched on for the tenant (one query): known modules by default and rows,
    plus any other flag a row switches on."""
    rows = _rows(project, cache) if project is not None else {}
    known = {k for k, default in FEATURES.items() if rows.get(k, default)}
    return frozenset(known | {k for k, on in rows.items() if on})


def feature_q(key: str, field: str = "project"):
    """A filter for rows (of any model reaching a project through `field`) whose tenant has `key`
    on: sweeps and tasks over many tenants use it so a switched-off tenant costs no work."""
    if FEATURES.get(key, False):
        off = FeatureFlag.objects.filter(name=key, enabled=False).values("project_id")
        return ~Q(**{f"{field}__in": off})
    on = FeatureFlag.objects.filter(name=key, enabled=True).values("project_id")
    return Q(**{f"{field}__in": on})


def flag_enabled(project: Project | None, name: str) -> bool:
    """Kept for callers that predate `feature_on` (same answer, without a cache)."""
    return feature_on(project, name)


def flags_enabled(project: Project | None) -> frozenset[str]:
    """Every feature switched on for the tenant, in one query (a shell listing many pages)."""
    return features_on(project)
