"""Personal calendars (seed 004): events with RFC 5545 recurrence and exceptions,
made from event templates; and the private iCalendar feed tokens.

A recurring event is expanded by python-dateutil in its own timezone's wall
clock (a daily 08:00 medication reminder stays at 08:00 across DST). An
exception is an EXDATE (the occurrence's UTC start in `exdates`); an edited
occurrence is a child event with `recurrence_id`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil import rrule as rr
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from mahalo import access, audit
from mahalo.recurrence import validate_rrule
from scheduling.models import Calendar, CalendarEvent, CalendarFeedToken, EventCategory, EventTemplate

MAX_OCCURRENCES = 1000


@dataclass(frozen=True)
class Occurrence:
    event: CalendarEvent
    starts_at: datetime
    ends_at: datetime

    @property
    def key(self) -> str:
        return self.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def occurrences(events, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence of `events` (series, single events and their overrides) overlapping [start, end)."""
    events = list(events)
    overrides = {(e.parent_id, _stamp(e.recurrence_id)): e for e in events if e.parent_id and e.recurrence_id}
    out = []
    for event in events:
        if event.parent_id:
            continue
        length = (event.ends_at - event.starts_at) if event.ends_at else timedelta(minutes=30)
        if not event.rrule:
            if event.starts_at < end and event.starts_at + length > start:
                out.append(Occurrence(event, event.starts_at, event.starts_at + length))
            continue
        tz = zone(event.timezone)
        local_start = event.starts_at.astimezone(tz).replace(tzinfo=None)
        series = rr.rrulestr(event.rrule, dtstart=local_start)
        skip = set(event.exdates or [])
        lo = (start - length).astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
        hi = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
        for naive in series.between(lo, hi, inc=True)[:MAX_OCCURRENCES]:
            begin = naive.replace(tzinfo=tz)
            stamp = _stamp(begin)
            if stamp in skip:
                continue
            override = overrides.get((event.pk, stamp))
            if override is not None:
                o_len = (override.ends_at - override.starts_at) if override.ends_at else length
                if override.status != CalendarEvent.Status.CANCELLED and override.starts_at < end \
                        and override.starts_at + o_len > start:
                    out.append(Occurrence(override, override.starts_at, override.starts_at + o_len))
                continue
            if begin < end and begin + length > start:
                out.append(Occurrence(event, begin.astimezone(UTC), (begin + length).astimezone(UTC)))
    return sorted(out, key=lambda o: o.starts_at)


def visible_events(user):
    """The user's own events on calendars they show."""
    return CalendarEvent.objects.filter(owner=user, calendar__is_visible=True)


def event_for(user, event_id) -> CalendarEvent:
    """One of the user's own events, or Http404 (someone else's, missing or malformed alike)."""
    try:
        uuid.UUID(str(event_id))
    except ValueError:
        raise Http404 from None
    event = CalendarEvent.objects.filter(owner=user, pk=event_id).select_related("calendar").first()
    if event is None:
        raise Http404("No such event.")
    return event


def default_calendar(*, user, patient=None) -> Calendar:
    """The user's default calendar, made on first use."""
    calendar = Calendar.objects.filter(owner=user, is_default=True).first()
    if calendar is None:
        project = patient.project if patient is not None else access.project_of(user)
        with transaction.atomic():
            calendar, _ = Calendar.objects.get_or_create(
                owner=user, is_default=True,
                defaults={"project": project, "patient": patient, "name": "My calendar"})
    return calendar


def templates_for(user, project) -> list[EventTemplate]:
    from django.db.models import Q

    return list(EventTemplate.objects.filter(project=project, is_active=True)
                .filter(Q(owner__isnull=True) | Q(owner=user)).order_by("category", "name"))


def event_create(*, calendar: Calendar, actor, title: str, starts_at: datetime, duration_minutes: int,
                 rrule: str = "", until=None, category: str = EventCategory.OTHER, description: str = "",
                 location: str = "", template: EventTemplate | None = None, tz: str = "UTC") -> CalendarEvent:
    errors = {}
    if not title.strip():
        errors["title"] = "Give the event a title."
    if not 5 <= duration_minutes <= 24 * 60:
        errors["duration_minutes"] = "Between 5 minutes and a day."
    if category not in EventCategory.values:
        errors["category"] = "Unknown category."
    if rrule:
        try:
            rrule = validate_rrule(rrule)
        except ValueError as exc:
            errors["rrule"] = str(exc)
        else:
            if until is not None and "UNTIL=" not in rrule and "COUNT=" not in rrule:
                end_local = datetime.combine(until, datetime.max.time())
                rrule += f";UNTIL={end_local:%Y%m%dT%H%M%S}"
    if errors:
        raise ValidationError(errors)
    event = CalendarEvent.objects.create(
        project_id=calendar.project_id, calendar=calendar, owner=calendar.owner, patient=calendar.patient,
        template=template, title=title.strip()[:200], description=description[:2000], starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=duration_minutes), location=location[:200], category=category,
        timezone=tz, rrule=rrule, color=template.color if template else "")
    audit.record(actor=actor, action="write", resource="scheduling", patient=calendar.patient,
                 project=calendar.project, object_id=event.pk, metadata={"what": "calendar_event_created"})
    return event


def event_skip(*, event: CalendarEvent, occurrence_start: datetime, actor) -> CalendarEvent:
    """Remove one occurrence of a series (an EXDATE), or cancel a single event."""
    if not event.rrule:
        event.status = CalendarEvent.Status.CANCELLED
        event.save(update_fields=["status", "updated_at"])
        return event
    stamp = _stamp(occurrence_start)
    if stamp not in (event.exdates or []):
        event.exdates = sorted([*(event.exdates or []), stamp])
        event.save(update_fields=["exdates", "updated_at"])
    audit.record(actor=actor, action="update", resource="scheduling", patient=event.patient,
                 project=event.calendar.project, object_id=event.pk, metadata={"what": "occurrence_skipped"})
    return event


MARKS = (CalendarEvent.Status.COMPLETED, CalendarEvent.Status.SKIPPED)


@transaction.atomic
def occurrence_mark(*, event: CalendarEvent, occurrence_start: datetime, status: str, actor) -> CalendarEvent:
    """Mark one occurrence done (completed) or skipped (the portal's Today). A single event changes
    its own status; an occurrence of a series becomes (or updates) its override row, so the series
    and its other days are untouched. Returns the row that holds the mark."""
    if status not in MARKS:
        raise ValidationError({"status": "Say done or skipped."})
    if event.parent_id:  # already an override: mark it
        target = event
    elif not event.rrule:
        target = event
    else:
        found = [o for o in occurrences([event], occurrence_start - timedelta(minutes=1),
                                        occurrence_start + timedelta(minutes=1))
                 if o.starts_at == occurrence_start and o.event.pk == event.pk]
        existing = event.overrides.filter(recurrence_id=occurrence_start).first()
        if existing is not None:
            target = existing
        elif not found:
            raise ValidationError({"occurrence": "That event doesn't happen then."})
        else:
            length = (event.ends_at - event.starts_at) if event.ends_at else timedelta(minutes=30)
            target = CalendarEvent.objects.create(
                project_id=event.project_id, calendar=event.calendar, owner=event.owner, patient=event.patient,
                template=event.template, title=event.title, description=event.description,
                starts_at=occurrence_start, ends_at=occurrence_start + length, all_day=event.all_day,
                location=event.location, category=event.category, timezone=event.timezone, parent=event,
                recurrence_id=occurrence_start, color=event.color)
    target.status = status
    target.done_at = timezone.now() if status == CalendarEvent.Status.COMPLETED else None
    target.save(update_fields=["status", "done_at", "updated_at"])
    audit.record(actor=actor, action="update", resource="scheduling", patient=event.patient,
                 project=event.calendar.project, object_id=target.pk, metadata={"what": f"occurrence_{status}"})
    return target


def event_delete(*, event: CalendarEvent, actor) -> None:
    audit.record(actor=actor, action="delete", resource="scheduling", patient=event.patient,
                 project=event.calendar.project, object_id=event.pk, metadata={"what": "calendar_event_deleted"})
    event.delete()


# --- Feed tokens ---------------------------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_create(*, user, label: str = "") -> tuple[CalendarFeedToken, str]:
    """A new feed; returns (row, token). Only the hash is kept: show the URL now."""
    project = access.project_of(user)
    if project is None:
        raise ValidationError("Only staff and patients have calendar feeds.")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeedToken.objects.create(project=project, user=user, token_hash=_hash(token), hint=token[:6],
                                            label=label.strip()[:100])
    audit.record(actor=user, action="write", resource="scheduling", object_id=feed.pk,
                 metadata={"what": "calendar_feed_created"})
    return feed, token


def feed_revoke(*, feed: CalendarFeedToken, user) -> None:
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        audit.record(actor=user, action="update", resource="scheduling", object_id=feed.pk,
                     metadata={"what": "calendar_feed_revoked"})


def feed_lookup(token: str) -> CalendarFeedToken | None:
    """The live feed for `token` whose owner can still read scheduling, or None."""
    if not token or len(token) > 100:
        return None
    feed = (CalendarFeedToken.objects.select_related("user").filter(token_hash=_hash(token), revoked_at__isnull=True)
            .first())
    if feed is None or not feed.user.is_active or not access.can(feed.user, "scheduling", "read"):
        return None
    project = access.project_of(feed.user)
    if project is None or project.pk != feed.project_id:
        return None
    return feed
