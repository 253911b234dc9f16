"""Parsing helpers every provider module shares: a provider's record becomes readings only
through these, so "what counts as a time, a day, a number" is decided once. Anything that
doesn't parse raises `Malformed` (the sync engine skips that record and keeps its raw body).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

from wearables.providers.base import Malformed

_EXTRA_DECIMALS = re.compile(r"(\.\d{6})\d+")


def parse_time(value) -> datetime:
    """ISO 8601 with an offset (or Z) -> an aware UTC datetime. Fractions beyond microseconds
    (protobuf Timestamps carry nanoseconds) are cut, not refused; a time without an offset is
    refused (it would be read in the wrong zone)."""
    text = _EXTRA_DECIMALS.sub(r"\1", str(value or "")).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Malformed(f"bad time {value!r}") from exc
    if moment.tzinfo is None:
        raise Malformed(f"time without offset {value!r}")
    return moment.astimezone(UTC)


def parse_day(value, *, leading: bool = False, name: str = "date") -> date:
    """YYYY-MM-DD -> date. `leading`: the date that starts a longer value (a timestamp);
    `name`: the field, named in the error."""
    text = str(value)
    try:
        return date.fromisoformat(text[:10] if leading else text)
    except ValueError as exc:
        raise Malformed(f"bad {name} {value!r}") from exc


def number(value, name: str, *, low: float | None = None, high: float | None = None) -> float | None:
    """A finite JSON number within bounds, None when absent; anything else is Malformed
    (a placeholder string, a boolean or a NaN must never reach the database)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Malformed(f"{name} is not a number: {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise Malformed(f"{name} out of range: {value!r}")
    return float(value)
