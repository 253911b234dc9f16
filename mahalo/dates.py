"""One bound for every date and time a request can name (issue 12).

Python's dates stop at year 1 and 9999: adding a day to 9999-12-31, or moving 0001-01-01T00:00+14:00 to
UTC, raises OverflowError deep in a view (a 500). Every date or time read from a query string or a body
is checked against EARLIEST..LATEST first and refused with a clear message; nothing clinical or
scheduled lies outside them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from rest_framework import serializers

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
MESSAGE = f"Use a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}."


def in_bounds(value: date | datetime | None) -> bool:
    if value is None:
        return True
    day = value.date() if isinstance(value, datetime) else value
    # Compare the local date first: converting an extreme aware time to UTC is what overflows.
    return EARLIEST <= day <= LATEST


def check(value, field: str | None = None):
    """value, or serializers.ValidationError (a 400 in the API) when it is out of bounds."""
    if not in_bounds(value):
        raise serializers.ValidationError({field: [MESSAGE]} if field else [MESSAGE])
    return value


class BoundedDateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField inside EARLIEST..LATEST (its timezone step overflows at the edges)."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None and not in_bounds(parsed):
                raise serializers.ValidationError(MESSAGE)
        return super().to_internal_value(value)


def utc_or_none(value: datetime) -> datetime | None:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None
