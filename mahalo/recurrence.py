"""Recurrence rules (RFC 5545 RRULE values without DTSTART): checked, built from weekdays and
described in words, for every app that repeats something (availability, calendar events,
questionnaire schedules, medication doses)."""

from __future__ import annotations

from datetime import date, datetime

from dateutil import rrule as rr

# Rules coarser than daily only: a minutely availability rule would expand to
# millions of occurrences.
ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
WEEKDAYS = [("MO", "Mon"), ("TU", "Tue"), ("WE", "Wed"), ("TH", "Thu"), ("FR", "Fri"), ("SA", "Sat"), ("SU", "Sun")]


def validate_rrule(value: str) -> str:
    """Parse an RRULE value (without DTSTART); raise ValueError with a readable message."""
    value = (value or "").strip().upper()
    if value.startswith("RRULE:"):
        value = value[6:]
    if not value:
        raise ValueError("Give a recurrence rule, e.g. FREQ=WEEKLY;BYDAY=MO,WE.")
    if "DTSTART" in value or "\n" in value:
        raise ValueError("Give the rule only (the first date is a separate field).")
    parts = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
    if parts.get("FREQ") not in ALLOWED_FREQ:
        raise ValueError("The rule must repeat daily, weekly, monthly or yearly.")
    try:
        rr.rrulestr(value, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"Not a valid RFC 5545 rule ({exc}).") from None
    return value


def weekly_rule(days: list[str], interval: int = 1) -> str:
    days = [d for d, _ in WEEKDAYS if d in set(days)]
    if not days:
        raise ValueError("Pick at least one day.")
    return f"FREQ=WEEKLY;INTERVAL={max(1, interval)};BYDAY={','.join(days)}" if interval > 1 else \
        f"FREQ=WEEKLY;BYDAY={','.join(days)}"


def describe_rule(rule: str, starts_on: date | None = None) -> str:
    parts = dict(p.split("=", 1) for p in (rule or "").upper().split(";") if "=" in p)
    names = dict(WEEKDAYS)
    if parts.get("FREQ") == "WEEKLY" and parts.get("BYDAY"):
        days = ", ".join(names.get(d[-2:], d) for d in parts["BYDAY"].split(","))
        every = "Every other week" if parts.get("INTERVAL") == "2" else "Weekly"
        return f"{every} on {days}"
    if parts.get("FREQ") == "DAILY":
        return "Daily"
    return rule
