"""A patient's timeline: everything that happened to them, newest first.

Each source answers "the newest `limit` entries before `before`" with one
indexed query, and the feed merges them, so a page costs the same however long
the history is. Later modules (readings, alerts, messages, visits) add a source
with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from patients.models import CareTeamLink, Patient, PatientFlag, ProgramEnrollment


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # enrollment | edit | care_team | flag | ...
    title: str
    detail: str = ""
    actor: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (field label, old, new)


Source = Callable[[Patient, datetime, int], list[Entry]]
SOURCES: list[Source] = []


def register(source: Source) -> Source:
    SOURCES.append(source)
    return source


def feed(patient: Patient, *, before: datetime | None = None, limit: int = 30) -> tuple[list[Entry], datetime | None]:
    """(entries, cursor for the next page or None)."""
    before = before or timezone.now() + timezone.timedelta(seconds=1)
    entries: list[Entry] = []
    for source in SOURCES:
        entries.extend(source(patient, before, limit + 1))
    entries.sort(key=lambda e: e.at, reverse=True)
    page = entries[:limit]
    more = len(entries) > limit
    return page, (page[-1].at if more and page else None)


def _name(user) -> str:
    return (user.get_full_name() if user else "") or "System"


@register
def _enrollments(patient, before, limit):
    out = []
    rows = (ProgramEnrollment.objects.filter(patient=patient, started_at__lt=before)
            .select_related("program", "enrolled_by").order_by("-started_at")[:limit])
    for e in rows:
        out.append(Entry(e.started_at, "enrollment", f"Enrolled in {e.program.name}", e.reason, _name(e.enrolled_by)))
    ended = (ProgramEnrollment.objects.filter(patient=patient, ended_at__lt=before)
             .select_related("program", "ended_by").order_by("-ended_at")[:limit])
    for e in ended:
        out.append(Entry(e.ended_at, "enrollment", f"Left {e.program.name}", "", _name(e.ended_by)))
    return out


# Fields whose change is shown by another entry, or is noise.
_SKIP = {"program", "updated_at", "created_at", "search_text", "last_data_at"}


@register
def _edits(patient, before, limit):
    """Field-level changes from django-simple-history (each record vs the one before it)."""
    records = list(
        patient.history.filter(history_date__lt=before).select_related("history_user")
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    labels = {f.name: str(f.verbose_name).capitalize() for f in Patient._meta.fields}
    records = records[:limit]
    if not records:  # a cursor older than the record: nothing to compare (zip below needs one record)
        return []
    predecessor = None
    if records and records[-1].history_type != "+":
        predecessor = (patient.history.filter(history_date__lte=records[-1].history_date)
                       .exclude(history_id=records[-1].history_id).order_by("-history_date", "-history_id").first())
    out = []
    for newer, older in zip(records, records[1:] + [predecessor], strict=True):
        if newer.history_type == "+":
            out.append(Entry(newer.history_date, "edit", "Record created", "", _name(newer.history_user)))
            continue
        if older is None:
            continue
        delta = newer.diff_against(older, excluded_fields=_SKIP)
        changes = [(labels.get(c.field, c.field), _show(c.old), _show(c.new)) for c in delta.changes]
        if not changes:
            continue
        if [c.field for c in delta.changes] == ["status"]:
            title = f"Status: {_show(delta.changes[0].old)} → {_show(delta.changes[0].new)}"
        else:
            title = "Record updated"
        out.append(Entry(newer.history_date, "edit", title, newer.history_change_reason or "",
                         _name(newer.history_user), changes))
    return out[:limit]


def _show(value) -> str:
    return "—" if value in (None, "") else str(value)


@register
def _care_team(patient, before, limit):
    out = []
    links = (CareTeamLink.objects.filter(patient=patient, updated_at__lt=before)
             .select_related("staff__user").order_by("-updated_at")[:limit])
    for link in links:
        who = link.staff.user.get_full_name()
        out.append(Entry(link.created_at, "care_team", f"Care team request: {who}"))
        if link.activated_at:
            out.append(Entry(link.activated_at, "care_team", f"{who} joined the care team"))
        if link.ended_at:
            verb = "was blocked from" if link.status == CareTeamLink.Status.BLOCKED else "left"
            out.append(Entry(link.ended_at, "care_team", f"{who} {verb} the care team"))
    return [e for e in out if e.at < before]


@register
def _flags(patient, before, limit):
    rows = PatientFlag.objects.filter(patient=patient, added_at__lt=before).order_by("-added_at")[:limit]
    return [Entry(f.added_at, "flag", f"Flag added: {f.get_flag_display()}") for f in rows]
