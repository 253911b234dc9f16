"""Tenant settings and feature flags with typed accessors.

A program's value overrides its project's default; both are stored as text
(as in the seed's ma_project_settings / ma_program_settings), so every read
names the type it expects.
"""

import json
from typing import Any, TypeVar

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


def flag_enabled(project: Project | None, name: str) -> bool:
    if project is None:
        return False
    return FeatureFlag.objects.filter(project=project, name=name, enabled=True).exists()


def flags_enabled(project: Project | None) -> frozenset[str]:
    """Every feature flag switched on for the tenant, in one query (a shell listing many pages)."""
    if project is None:
        return frozenset()
    return frozenset(FeatureFlag.objects.filter(project=project, enabled=True).values_list("name", flat=True))
