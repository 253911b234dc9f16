"""Panels other apps show on a thread page, above the messages (e.g. scheduling's video calls).

Messaging sits below the apps that contribute them, so it never imports them: they register
here from their `AppConfig.ready()`. A panel's `context(request, thread)` returns the dict its
template reads as `panel`, or None to show nothing (feature off, role without access)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThreadPanel:
    key: str
    template: str
    context: Callable
    order: int = 50


@dataclass(frozen=True)
class Shown:
    key: str
    template: str
    context: dict


_PANELS: dict[str, ThreadPanel] = {}


def register_thread_panel(panel: ThreadPanel) -> None:
    _PANELS[panel.key] = panel  # by key: a re-run ready() replaces, never doubles


def for_thread(request, thread) -> list[Shown]:
    shown = []
    for panel in sorted(_PANELS.values(), key=lambda p: p.order):
        context = panel.context(request, thread)
        if context is not None:
            shown.append(Shown(panel.key, panel.template, context))
    return shown
