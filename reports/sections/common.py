"""Helpers every section builder shares: the period as the program's local day boundaries, dates as
text for the page, rounding."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta


def bounds(patient, start: date, end: date) -> tuple[datetime, datetime]:
    """[first local midnight, the midnight after the last day) in the patient's program time zone."""
    tz = patient.tz
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def day_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return f"{value:%b} {value.day}, {value.year}"


def moment_text(value: datetime | None, tz) -> str:
    if value is None:
        return ""
    local = value.astimezone(tz)
    return f"{local:%b} {local.day}, {local.year} {local:%H:%M}"


def num(value, decimals: int = 0):
    if value is None:
        return None
    return round(float(value), decimals) if decimals else round(float(value))


def empty(text: str) -> dict:
    return {"empty": True, "empty_text": text}
