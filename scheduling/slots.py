"""Open slots, computed from availability in the program's timezone.

Recurrence is python-dateutil's RFC 5545 implementation, expanded in *local
wall-clock* time and only then given the program's zone, so a 09:00 block is
09:00 local on both sides of a daylight-saving change (its UTC time moves).
Within a block, slot starts are another rrule (FREQ=MINUTELY, INTERVAL=slot
length). A wall time that doesn't exist (the spring-forward gap) is skipped.

Busy time removes slots: live visits, unexpired holds and blocked slots of the
same staff member, read in one query each whatever the range.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil import rrule as rr
from django.db.models import Q
from django.utils import timezone

MAX_RANGE_DAYS = 92


def occurrence_dates(rule: str, starts_on: date, ends_on: date | None, exdates, first: date, last: date
                     ) -> list[date]:
    """Dates of a block (recurring via `rule`, or the one-off `starts_on`) within [first, last]."""
    lo, hi = max(first, starts_on), min(last, ends_on) if ends_on else last
    if lo > hi:
        return []
    skip = {str(d) for d in (exdates or [])}
    if not rule:
        return [starts_on] if lo <= starts_on <= hi and str(starts_on) not in skip else []
    series = rr.rrulestr(rule, dtstart=datetime.combine(starts_on, time.min))
    found = series.between(datetime.combine(lo, time.min), datetime.combine(hi, time.max), inc=True)
    return [d.date() for d in found if d.date().isoformat() not in skip]


def localize(naive: datetime, tz: zoneinfo.ZoneInfo) -> datetime | None:
    """`naive` wall time in `tz`, or None when that wall time doesn't exist (DST gap)."""
    aware = naive.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return aware


def block_slots(day: date, start: time, end: time, minutes: int, tz) -> list[tuple[datetime, datetime]]:
    """(start, end) of each slot of one block on `day`, aware, in local wall-clock steps."""
    first = datetime.combine(day, start)
    last_start = datetime.combine(day, end) - timedelta(minutes=minutes)
    if last_start < first:
        return []
    out = []
    for naive in rr.rrule(rr.MINUTELY, interval=minutes, dtstart=first, until=last_start):
        begin = localize(naive, tz)
        if begin is not None:
            # The length is elapsed time: a slot that crosses a DST change still lasts `minutes`.
            out.append((begin, (begin.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(tz)))
    return out


@dataclass(frozen=True)
class OpenSlot:
    staff_id: object
    staff_name: str
    program_id: object
    availability_id: object
    starts_at: datetime
    ends_at: datetime
    mode: str
    location: str

    @property
    def key(self) -> str:
        """How forms name a slot: staff id and UTC start."""
        return f"{self.staff_id}|{self.starts_at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def parse_key(key: str) -> tuple[str, datetime]:
    """(staff id, UTC start) from OpenSlot.key; ValueError when malformed."""
    staff_id, _, stamp = (key or "").partition("|")
    if not staff_id or not stamp:
        raise ValueError("Pick a time.")
    return staff_id, datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def availability_windows(avail, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Aware (start, end) of each occurrence of one availability block."""
    tz = avail.program.tz
    out = []
    for day in occurrence_dates(avail.rrule, avail.starts_on, avail.ends_on, avail.exdates, first, last):
        begin = localize(datetime.combine(day, avail.start_time), tz)
        finish = localize(datetime.combine(day, avail.end_time), tz)
        if begin and finish:
            out.append((begin, finish))
    return out


def busy_intervals(staff_ids, start: datetime, end: datetime, now: datetime) -> dict:
    """{staff id: [(start, end), ...]}: live visits, unexpired holds and blocked time."""
    from scheduling.models import Slot, Visit

    busy: dict = {}
    visits = (Visit.objects.filter(staff_id__in=staff_ids, starts_at__lt=end, ends_at__gt=start)
              .exclude(status__in=Visit.INACTIVE).values_list("staff_id", "starts_at", "ends_at"))
    slots = (Slot.objects.filter(staff_id__in=staff_ids, starts_at__lt=end, ends_at__gt=start)
             .filter(Q(status=Slot.Status.BLOCKED) | Q(status=Slot.Status.HELD, held_until__gt=now))
             .values_list("staff_id", "starts_at", "ends_at"))
    for staff_id, s, e in list(visits) + list(slots):
        busy.setdefault(staff_id, []).append((s, e))
    return busy


def open_slots(*, start: datetime, end: datetime, program=None, staff=None, programs=None, mode: str = "",
               now: datetime | None = None, not_before: datetime | None = None) -> list[OpenSlot]:
    """Every bookable slot starting in [start, end): active availability of `staff`
    (one StaffMember, or a list) in `program` (or any of `programs`), minus busy time
    and anything before `not_before` (default: now)."""
    from scheduling.models import Availability

    now = now or timezone.now()
    not_before = max(not_before or now, now)
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        end = start + timedelta(days=MAX_RANGE_DAYS)
    qs = Availability.objects.filter(status=Availability.Status.ACTIVE, staff__is_active=True).select_related(
        "program", "staff__user")
    if program is not None:
        qs = qs.filter(program=program)
    if programs is not None:
        qs = qs.filter(program__in=programs)
    if staff is not None:
        qs = qs.filter(staff__in=staff if isinstance(staff, (list, tuple, set)) else [staff])
    if mode:
        qs = qs.filter(mode=mode)
    blocks = list(qs)
    if not blocks:
        return []
    busy = busy_intervals({b.staff_id for b in blocks}, start, end, now)
    found: dict[tuple, OpenSlot] = {}
    for block in blocks:
        tz = block.program.tz
        # Local dates that can hold a slot starting in [start, end).
        first, last = start.astimezone(tz).date() - timedelta(days=1), end.astimezone(tz).date()
        for day in occurrence_dates(block.rrule, block.starts_on, block.ends_on, block.exdates, first, last):
            for s, e in block_slots(day, block.start_time, block.end_time, block.slot_minutes, tz):
                if not (start <= s < end) or s < not_before:
                    continue
                if any(bs < e and be > s for bs, be in busy.get(block.staff_id, ())):
                    continue
                key = (block.staff_id, s)
                if key not in found:
                    found[key] = OpenSlot(block.staff_id, block.staff.user.get_full_name(), block.program_id,
                                          block.pk, s.astimezone(UTC), e.astimezone(UTC), block.mode,
                                          block.location)
    return sorted(found.values(), key=lambda x: (x.starts_at, x.staff_name))


def find_open_slot(*, staff, starts_at: datetime, program=None, mode: str = "", now=None) -> OpenSlot | None:
    """The open slot of `staff` starting exactly at `starts_at`, if there is one."""
    for slot in open_slots(start=starts_at, end=starts_at + timedelta(minutes=1), staff=staff, program=program,
                           mode=mode, now=now):
        if slot.starts_at == starts_at.astimezone(UTC):
            return slot
    return None


def group_by_day(slots: list[OpenSlot], tz) -> list[tuple[date, list[OpenSlot]]]:
    days: dict[date, list[OpenSlot]] = {}
    for s in slots:
        days.setdefault(s.starts_at.astimezone(tz).date(), []).append(s)
    return sorted(days.items())
