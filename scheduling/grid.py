"""Layout of the staff day/week calendar: which blocks go in which day column,
at what height. Positions are percentages of the visible hours, computed once
here so the template only prints them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

DEFAULT_HOURS = (7, 19)


@dataclass
class Block:
    kind: str  # visit | hold | blocked | busy | avail
    starts_at: datetime
    ends_at: datetime
    label: str = ""
    detail: str = ""
    url: str = ""
    status: str = ""
    mode: str = ""
    top: float = 0.0
    height: float = 0.0
    lane: int = 0
    lanes: int = 1


@dataclass
class Column:
    day: date
    is_today: bool
    blocks: list[Block] = field(default_factory=list)
    shading: list[Block] = field(default_factory=list)


def hour_range(items, tz) -> tuple[int, int]:
    lo, hi = DEFAULT_HOURS
    for b in items:
        s, e = b.starts_at.astimezone(tz), b.ends_at.astimezone(tz)
        lo = min(lo, s.hour)
        end_hour = e.hour + (1 if e.minute or e.second else 0)
        hi = max(hi, end_hour if e.date() == s.date() else 24)
    return max(0, lo), min(24, hi)


def _place(block: Block, day: date, tz, first: int, last: int) -> Block | None:
    """Clip `block` to `day`'s visible hours; None when nothing of it shows."""
    span = (last - first) * 60
    day_start = datetime.combine(day, time(first)).replace(tzinfo=tz)
    day_end = day_start + timedelta(minutes=span) if last < 24 else datetime.combine(
        day + timedelta(days=1), time(0)).replace(tzinfo=tz)
    s, e = max(block.starts_at.astimezone(tz), day_start), min(block.ends_at.astimezone(tz), day_end)
    if e <= s:
        return None
    minutes = lambda dt: (dt.hour - first) * 60 + dt.minute if dt.date() == day else span  # noqa: E731
    block.top = round(minutes(s) / span * 100, 3)
    block.height = round(max(minutes(e) - minutes(s), 10) / span * 100, 3)
    return block


def _lanes(blocks: list[Block]) -> None:
    """Side by side when blocks overlap (e.g. a hold next to a masked busy block)."""
    blocks.sort(key=lambda b: (b.starts_at, b.ends_at))
    group: list[Block] = []
    group_end = None
    for b in blocks + [None]:
        if b is None or (group_end is not None and b.starts_at >= group_end):
            lanes_end: list[datetime] = []
            for g in group:
                for i, end in enumerate(lanes_end):
                    if g.starts_at >= end:
                        g.lane, lanes_end[i] = i, g.ends_at
                        break
                else:
                    g.lane = len(lanes_end)
                    lanes_end.append(g.ends_at)
            for g in group:
                g.lanes = max(1, len(lanes_end))
            group, group_end = [], None
        if b is not None:
            group.append(b)
            group_end = max(group_end, b.ends_at) if group_end else b.ends_at


def build(days: list[date], tz, blocks: list[Block], shading: list[Block], today: date
          ) -> tuple[list[Column], list[int]]:
    """(columns, visible hours) for `days`."""
    first, last = hour_range(blocks + shading, tz)
    columns = []
    for day in days:
        col = Column(day=day, is_today=day == today)
        for b in blocks:
            placed = _place(Block(**{**b.__dict__}), day, tz, first, last)
            if placed:
                col.blocks.append(placed)
        for b in shading:
            placed = _place(Block(**{**b.__dict__}), day, tz, first, last)
            if placed:
                col.shading.append(placed)
        _lanes(col.blocks)
        columns.append(col)
    return columns, list(range(first, last))
