"""Slots from availability: RFC 5545 recurrence in the program's wall clock, DST-correct."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest

from mahalo import recurrence
from scheduling import services, slots
from scheduling.models import Availability, Slot
from scheduling.tests.factories import AvailabilityFactory, book, staff

pytestmark = pytest.mark.django_db


def _week(avail, monday: date):
    tz = avail.program.tz
    start = datetime.combine(monday, time.min, tzinfo=tz)
    now = start - timedelta(days=30)
    return slots.open_slots(start=start, end=start + timedelta(days=7), staff=avail.staff, now=now)


@pytest.mark.parametrize("tzname, monday, change_day, offsets", [
    # US: DST ends Sunday 2026-11-01 (UTC-4 → UTC-5); starts Sunday 2026-03-08 (UTC-5 → UTC-4).
    ("America/New_York", date(2026, 10, 26), date(2026, 11, 1), (-4, -5)),
    ("America/New_York", date(2026, 3, 2), date(2026, 3, 8), (-5, -4)),
    # EU: summer time ends Sunday 2026-10-25 (UTC+2 → UTC+1); starts Sunday 2026-03-29 (UTC+1 → UTC+2).
    ("Europe/Berlin", date(2026, 10, 19), date(2026, 10, 25), (2, 1)),
    ("Europe/Berlin", date(2026, 3, 23), date(2026, 3, 29), (1, 2)),
])
def test_a_0900_block_stays_0900_local_across_the_dst_change(world, tzname, monday, change_day, offsets):
    world.cardiac.timezone = tzname
    world.cardiac.save()
    avail = AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician), starts_on=monday - timedelta(7))
    found = _week(avail, monday)
    tz = zoneinfo.ZoneInfo(tzname)
    by_day: dict = {}
    for s in found:
        by_day.setdefault(s.starts_at.astimezone(tz).date(), []).append(s)
    assert len(by_day) == 7  # every day of the week, the change day too
    for day, day_slots in by_day.items():
        local_starts = [s.starts_at.astimezone(tz).time() for s in day_slots]
        assert local_starts == [time(9), time(9, 30), time(10), time(10, 30), time(11), time(11, 30)]
        expected_offset = offsets[0] if day < change_day else offsets[1]
        first_utc = day_slots[0].starts_at.astimezone(UTC)
        assert first_utc.hour == (9 - expected_offset) % 24, (day, first_utc)
        assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in day_slots)


def test_a_night_block_skips_the_wall_times_that_do_not_exist(world):
    world.cardiac.timezone = "America/New_York"
    world.cardiac.save()
    avail = AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician), start_time=time(1),
                                end_time=time(4), slot_minutes=60, starts_on=date(2026, 3, 1))
    found = _week(avail, date(2026, 3, 2))
    tz = zoneinfo.ZoneInfo("America/New_York")
    march8 = [s.starts_at.astimezone(tz).time() for s in found if s.starts_at.astimezone(tz).date() == date(2026, 3, 8)]
    assert march8 == [time(1), time(3)]  # 02:00 doesn't exist that night


def test_weekly_rule_exdates_one_offs_and_end_date(world):
    tz = world.cardiac.tz
    s = staff(world.clinician)
    AvailabilityFactory(program=world.cardiac, staff=s, rrule="FREQ=WEEKLY;BYDAY=MO,WE", starts_on=date(2026, 6, 1),
                        ends_on=date(2026, 6, 30), exdates=["2026-06-10"], start_time=time(9), end_time=time(10),
                        slot_minutes=60)
    AvailabilityFactory(program=world.cardiac, staff=s, rrule="", starts_on=date(2026, 6, 13), start_time=time(14),
                        end_time=time(15), slot_minutes=60)
    start = datetime(2026, 6, 1, tzinfo=tz)
    found = slots.open_slots(start=start, end=start + timedelta(days=40), staff=s, now=start - timedelta(days=1))
    days = [x.starts_at.astimezone(tz).date() for x in found]
    assert days == [date(2026, 6, 1), date(2026, 6, 3), date(2026, 6, 8), date(2026, 6, 13), date(2026, 6, 15),
                    date(2026, 6, 17), date(2026, 6, 22), date(2026, 6, 24), date(2026, 6, 29)]


def test_paused_availability_and_inactive_staff_offer_nothing(world):
    avail = AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    start = datetime.now(UTC) + timedelta(days=1)
    assert slots.open_slots(start=start, end=start + timedelta(days=2), staff=avail.staff)
    avail.status = Availability.Status.PAUSED
    avail.save()
    assert slots.open_slots(start=start, end=start + timedelta(days=2), staff=avail.staff) == []


def test_visits_holds_and_blocked_time_remove_slots(world):
    tz = world.cardiac.tz
    s = staff(world.clinician)
    AvailabilityFactory(program=world.cardiac, staff=s)
    day = date.today() + timedelta(days=5)
    at = lambda h, m=0: datetime.combine(day, time(h, m), tzinfo=tz)  # noqa: E731
    book(world.cardiac_patients[1], world.clinician, at(9))
    services.time_block(staff=s, starts_at=at(10), ends_at=at(11), actor=world.clinician)
    req = services.request_create(patient=world.me, actor=world.patient_user, reason="Chest tightness")
    services.request_propose(req=req, actor=world.clinician, staff=s, starts_at=at(11, 30), ends_at=at(12))
    found = slots.open_slots(start=at(0), end=at(23), staff=s)
    assert [x.starts_at.astimezone(tz).time() for x in found] == [time(9, 30), time(11)]
    # An expired hold gives its time back even before the beat task runs.
    Slot.objects.filter(status=Slot.Status.HELD).update(held_until=datetime.now(UTC) - timedelta(minutes=1))
    found = slots.open_slots(start=at(0), end=at(23), staff=s)
    assert time(11, 30) in [x.starts_at.astimezone(tz).time() for x in found]


def test_past_slots_are_never_offered(world):
    s = staff(world.clinician)
    AvailabilityFactory(program=world.cardiac, staff=s, start_time=time(0), end_time=time(23, 30))
    now = datetime.now(UTC)
    found = slots.open_slots(start=now - timedelta(days=1), end=now + timedelta(days=1), staff=s, now=now)
    assert found and all(x.starts_at >= now for x in found)


@pytest.mark.parametrize("rule", ["FREQ=MINUTELY", "FREQ=SECONDLY;COUNT=5", "BYDAY=MO", "FREQ=WEEKLY;BYDAY=XX",
                                  "DTSTART:20260101T000000\nRRULE:FREQ=DAILY", ""])
def test_bad_rules_are_refused(rule):
    with pytest.raises(ValueError):
        recurrence.validate_rrule(rule)
