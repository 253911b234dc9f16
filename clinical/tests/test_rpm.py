"""The RPM billing ledger (clinical.rpm) against CLINICAL.md's RPM table, at and
around every boundary: device days per 30-day period in the program's local days,
management minutes per calendar month, 99453 once per episode."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinical import rpm
from clinical.models import Observation, RpmEpisode, TimeEntry
from mahalo.models import AuditEvent
from wearables.models import DailyMetric

pytestmark = pytest.mark.django_db

HNL = ZoneInfo("Pacific/Honolulu")
START = date(2025, 3, 1)  # period 1: Mar 1 - Mar 30 (ends in March); period 2: Mar 31 - Apr 29
MARCH = date(2025, 3, 1)
LATER = date(2025, 12, 1)  # "today" for ledgers of past months: nothing in progress


def at(day: date, hour=10, minute=0, tz=HNL) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def reading(patient, when: datetime, source="withings", metric="heart_rate", value=70.0):
    return Observation.objects.create(project=patient.project, patient=patient, program=patient.program,
                                      metric=metric, value=value, unit="bpm", effective_at=when, source=source)


def daily(patient, day: date, source="oura"):
    return DailyMetric.objects.create(project=patient.project, patient=patient, program=patient.program,
                                      date=day, source=source, resting_hr=60)


def episode(patient, start=START, setup=None, ended=None, by=None):
    return RpmEpisode.objects.create(project=patient.project, patient=patient, program=patient.program,
                                     started_on=start, setup_completed_on=setup, ended_on=ended, created_by=by)


def entry(patient, staff, started: datetime, seconds: int, interactive=False, ended=True):
    return TimeEntry.objects.create(project=patient.project, patient=patient, program=patient.program, staff=staff,
                                    started_at=started, ended_at=started + timedelta(seconds=seconds) if ended
                                    else None, seconds=seconds if ended else 0, interactive=interactive)


def march_row(patient, month=MARCH):
    rows = rpm.ledger(patients=[patient.pk], tz=HNL, month=month, today=LATER)
    assert len(rows) <= 1
    return rows[0] if rows else None


# --- Device days ---------------------------------------------------------------------


@pytest.mark.parametrize(("days", "code"), [(0, None), (1, None), (2, "99445"), (15, "99445"), (16, "99454"),
                                            (30, "99454")])
def test_device_code_at_each_boundary(world, days, code):
    patient = world.cardiac_patients[1]
    episode(patient)
    for i in range(days):
        reading(patient, at(START + timedelta(days=i)))
    row = march_row(patient)
    [line] = row.periods
    assert (line.period.start, line.period.end) == (date(2025, 3, 1), date(2025, 3, 30))
    assert line.days == days
    assert line.code == code
    device = [c for c in row.codes if c in ("99454", "99445")]
    assert device == ([code] if code else [])  # never both


def test_pure_device_code_table():
    assert [rpm.device_code(n) for n in (0, 1, 2, 15, 16, 30)] == [None, None, "99445", "99445", "99454", "99454"]


def test_days_are_local_days_in_the_program_time_zone(world):
    patient = world.cardiac_patients[1]  # cardiac is Pacific/Honolulu (UTC-10)
    # Same UTC date (Mar 6), two Honolulu days: 23:30 on Mar 5 and 00:30 on Mar 6.
    reading(patient, at(date(2025, 3, 5), 23, 30))
    reading(patient, at(date(2025, 3, 6), 0, 30), source="oura")
    # Two UTC dates (Mar 7 and Mar 8), one Honolulu day: 00:10 and 23:50 on Mar 7.
    reading(patient, at(date(2025, 3, 7), 0, 10))
    reading(patient, at(date(2025, 3, 7), 23, 50))
    assert at(date(2025, 3, 5), 23, 30).astimezone(UTC).date() == date(2025, 3, 6)
    days = rpm.device_days([patient.pk], HNL, date(2025, 3, 1), date(2025, 3, 31))[patient.pk]
    assert days == {date(2025, 3, 5), date(2025, 3, 6), date(2025, 3, 7)}
    # In UTC the same readings would have been Mar 6, 7 and 8: the window edges are local too.
    assert rpm.device_days([patient.pk], HNL, date(2025, 3, 8), date(2025, 3, 8)).get(patient.pk, set()) == set()


def test_period_edges_follow_local_midnight(world):
    patient = world.cardiac_patients[1]
    episode(patient)
    reading(patient, at(date(2025, 3, 30), 23, 30))  # last local day of period 1 (already Mar 31 in UTC)
    reading(patient, at(date(2025, 3, 31), 0, 30))  # first local day of period 2
    reading(patient, at(date(2025, 2, 28), 23, 59))  # before the episode started
    [line] = march_row(patient).periods
    assert line.days == 1
    april = march_row(patient, date(2025, 4, 1))
    assert [(p.period.number, p.days) for p in april.periods] == [(2, 1)]


def test_several_readings_and_sources_on_one_day_count_once(world):
    patient = world.cardiac_patients[1]
    episode(patient)
    day = date(2025, 3, 10)
    reading(patient, at(day, 7), source="withings", metric="blood_pressure", value=128)
    reading(patient, at(day, 8), source="withings", metric="weight", value=80)
    reading(patient, at(day, 9), source="oura")
    daily(patient, day, source="oura")
    daily(patient, day, source="garmin")
    daily(patient, date(2025, 3, 11), source="apple_health")  # a daily summary alone is a device day
    [line] = march_row(patient).periods
    assert line.days == 2 and line.code == "99445"


def test_manual_entries_do_not_count(world):
    patient = world.cardiac_patients[1]
    episode(patient)
    for i in range(20):  # a patient typing in cuff readings every day, and staff entries
        reading(patient, at(START + timedelta(days=i)), source="patient", metric="blood_pressure", value=130)
        reading(patient, at(START + timedelta(days=i), 11), source="staff", metric="weight", value=80)
        daily(patient, START + timedelta(days=i), source="patient")
    reading(patient, at(date(2025, 3, 25)), source="withings")
    [line] = march_row(patient).periods
    assert line.days == 1 and line.code is None


def test_thirty_days_is_the_most_a_period_can_have(world):
    patient = world.cardiac_patients[1]
    episode(patient)
    for i in range(40):
        reading(patient, at(START + timedelta(days=i)))
    row = march_row(patient)
    assert [(line.days, line.code) for line in row.periods] == [(30, "99454")]


def test_a_month_can_hold_two_period_ends(world):
    patient = world.cardiac_patients[1]
    episode(patient, start=date(2024, 12, 3))  # periods end Jan 1 and Jan 31
    for i in range(3):
        reading(patient, at(date(2024, 12, 20) + timedelta(days=i)))
    for i in range(17):
        reading(patient, at(date(2025, 1, 2) + timedelta(days=i)))
    row = march_row(patient, date(2025, 1, 1))
    assert [(p.period.end, p.days, p.code) for p in row.periods] == [
        (date(2025, 1, 1), 3, "99445"), (date(2025, 1, 31), 17, "99454")]


def test_an_ended_episode_cuts_its_last_period_short(world):
    patient = world.cardiac_patients[1]
    episode(patient, ended=date(2025, 3, 12))
    for i in range(20):
        reading(patient, at(START + timedelta(days=i)))
    [line] = march_row(patient).periods
    assert (line.period.end, line.days, line.code) == (date(2025, 3, 12), 12, "99445")
    assert march_row(patient, date(2025, 4, 1)) is None  # no episode overlaps April


def test_an_open_period_is_in_progress(world):
    patient = world.cardiac_patients[1]
    episode(patient)
    reading(patient, at(date(2025, 3, 2)))
    rows = rpm.ledger(patients=[patient.pk], tz=HNL, month=MARCH, today=date(2025, 3, 15))
    assert rows[0].periods[0].in_progress
    assert not march_row(patient).periods[0].in_progress


# --- 99453 ------------------------------------------------------------------------------


def test_99453_once_per_episode_with_the_period_holding_the_setup(world):
    patient = world.cardiac_patients[1]
    episode(patient, setup=date(2025, 3, 2))
    for i in range(100):
        reading(patient, at(START + timedelta(days=i)))
    months = [date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1)]
    codes = [march_row(patient, m).codes for m in months]
    assert codes[0] == ["99453", "99454"]
    assert sum(c.count("99453") for c in codes) == 1
    assert all("99454" in c for c in codes[:3])


def test_99453_setup_before_the_start_goes_with_period_one(world):
    patient = world.cardiac_patients[1]
    episode(patient, setup=date(2025, 2, 20))
    for i in range(5):
        reading(patient, at(START + timedelta(days=i)))
    assert march_row(patient).codes == ["99453", "99445"]


def test_99453_needs_setup_and_a_period_with_a_device_code(world):
    no_setup, idle = world.cardiac_patients[1], world.cardiac_patients[2]
    episode(no_setup)
    episode(idle, setup=date(2025, 3, 3))
    for i in range(20):
        reading(no_setup, at(START + timedelta(days=i)))
    reading(idle, at(START))
    assert march_row(no_setup).codes == ["99454"]
    assert march_row(idle).codes == []


def test_99453_once_per_episode_even_with_two_episodes(world):
    patient = world.cardiac_patients[1]
    episode(patient, start=date(2025, 1, 1), ended=date(2025, 1, 20), setup=date(2025, 1, 1))
    episode(patient, start=date(2025, 3, 1), setup=date(2025, 3, 1))
    for day in (date(2025, 1, 2), date(2025, 1, 3), date(2025, 3, 2), date(2025, 3, 3)):
        reading(patient, at(day))
    jan = march_row(patient, date(2025, 1, 1))
    mar = march_row(patient)
    assert jan.codes == ["99453", "99445"] and mar.codes == ["99453", "99445"]
    assert march_row(patient, date(2025, 2, 1)) is None


# --- Management minutes ---------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "interactive", "codes"), [
    (9, True, []), (10, True, ["99470"]), (19, True, ["99470"]), (20, True, ["99457"]),
    (39, True, ["99457"]), (40, True, ["99457", "99458"]), (60, True, ["99457", "99458", "99458"]),
    (9, False, []), (10, False, []), (19, False, []), (20, False, []), (39, False, []), (40, False, []),
    (60, False, []),
])
def test_management_codes_at_each_boundary(world, minutes, interactive, codes):
    patient = world.cardiac_patients[1]
    episode(patient)
    # Two staff members share the month; only one entry needs to be interactive.
    entry(patient, world.clinician, at(date(2025, 3, 3)), (minutes // 2) * 60, interactive=interactive)
    entry(patient, world.lead, at(date(2025, 3, 20)), (minutes - minutes // 2) * 60)
    row = march_row(patient)
    assert row.time.minutes == minutes
    assert row.time.interactive is interactive
    assert row.management == codes
    assert rpm.management_codes(minutes * 60, interactive) == codes
    assert not ({"99457", "99470"} <= set(row.codes))  # never both


def test_partial_minutes_are_floored(world):
    assert rpm.management_codes(20 * 60 - 1, True) == ["99470"]
    assert rpm.management_codes(10 * 60 - 1, True) == []
    assert rpm.management_codes(40 * 60 - 1, True) == ["99457"]


def test_minutes_belong_to_the_local_calendar_month_and_running_timers_do_not_count(world):
    patient = world.cardiac_patients[1]
    episode(patient)
    entry(patient, world.clinician, at(date(2025, 3, 31), 23, 0), 15 * 60, interactive=True)  # Apr 1 in UTC
    entry(patient, world.clinician, at(date(2025, 4, 1), 0, 30), 30 * 60, interactive=True)
    entry(patient, world.lead, at(date(2025, 3, 10)), 0, ended=False)  # still running
    entry(world.cardiac_patients[2], world.clinician, at(date(2025, 3, 5)), 45 * 60, interactive=True)
    march, april = march_row(patient), march_row(patient, date(2025, 4, 1))
    assert (march.time.minutes, march.management) == (15, ["99470"])
    assert (april.time.minutes, april.management) == (30, ["99457"])


def test_codes_display():
    assert rpm.codes_display(["99453", "99454", "99457", "99458", "99458"]) == "99453, 99454, 99457, 99458 ×2"
    assert rpm.codes_display([]) == ""


def test_parse_month():
    assert rpm.parse_month("2026-02") == date(2026, 2, 1)
    for bad in ("2026-13", "2026-2", "26-02", "", "1999-12", "2026-02-01", "abcd-ef"):
        with pytest.raises(ValueError):
            rpm.parse_month(bad)
    assert rpm.month_end(date(2024, 2, 1)) == date(2024, 2, 29)
    assert rpm.month_end(date(2025, 12, 1)) == date(2025, 12, 31)


# --- Writes ----------------------------------------------------------------------------------


def test_timer_start_twice_is_harmless_and_stop_measures(world):
    patient = world.cardiac_patients[1]
    first, created = rpm.timer_start(patient=patient, staff_user=world.clinician)
    again, created_again = rpm.timer_start(patient=patient, staff_user=world.clinician)
    assert created and not created_again and first.pk == again.pk
    assert TimeEntry.objects.filter(patient=patient, ended_at__isnull=True).count() == 1
    TimeEntry.objects.filter(pk=first.pk).update(started_at=first.started_at - timedelta(minutes=25))
    stopped = rpm.timer_stop(patient=patient, staff_user=world.clinician, interactive=True, note="Call")
    assert 25 * 60 <= stopped.seconds < 26 * 60 and stopped.interactive and stopped.ended_at
    assert rpm.timer_stop(patient=patient, staff_user=world.clinician, interactive=True) is None
    assert AuditEvent.objects.filter(patient=patient, resource="clinical", action="update",
                                     metadata__what="timer_stop").exists()


def test_one_running_timer_per_staff_and_patient_is_enforced_by_the_database(world):
    patient = world.cardiac_patients[1]
    entry(patient, world.clinician, at(date(2025, 3, 3)), 0, ended=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(patient, world.clinician, at(date(2025, 3, 4)), 0, ended=False)
    entry(patient, world.lead, at(date(2025, 3, 4)), 0, ended=False)  # another staff member: fine
    entry(world.cardiac_patients[2], world.clinician, at(date(2025, 3, 4)), 0, ended=False)  # another patient


def test_timer_start_survives_losing_the_race(world, monkeypatch):
    patient = world.cardiac_patients[1]
    other, _ = rpm.timer_start(patient=patient, staff_user=world.clinician)
    calls = []
    real = rpm.running_timer

    def blind_first(**kwargs):  # the first look misses the timer another request just made
        calls.append(1)
        return None if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(rpm, "running_timer", blind_first)
    entry_, created = rpm.timer_start(patient=patient, staff_user=world.clinician)
    assert not created and entry_.pk == other.pk


def test_manual_time_validates_and_stores_nothing_on_bad_input(world):
    patient = world.cardiac_patients[1]
    today = rpm.local_today(HNL)
    for kwargs in ({"day": today + timedelta(days=1), "minutes": 10}, {"day": today, "minutes": 0},
                   {"day": today, "minutes": rpm.MAX_MANUAL_MINUTES + 1},
                   {"day": today - timedelta(days=400), "minutes": 10}):
        with pytest.raises(ValidationError):
            rpm.time_log_manual(patient=patient, staff_user=world.clinician, interactive=False, **kwargs)
    assert not TimeEntry.objects.exists()
    made = rpm.time_log_manual(patient=patient, staff_user=world.clinician, day=today, minutes=600 // 60,
                               interactive=True)
    assert made.seconds == 600 and made.started_at.astimezone(HNL).date() == today
    yesterday = rpm.time_log_manual(patient=patient, staff_user=world.clinician, day=today - timedelta(days=1),
                                    minutes=5, interactive=False)
    assert yesterday.started_at.astimezone(HNL).date() == today - timedelta(days=1)


def test_episodes_never_overlap(world):
    patient = world.cardiac_patients[1]
    today = rpm.local_today(HNL)
    first = rpm.episode_start(patient=patient, started_on=today - timedelta(days=50), actor=world.clinician)
    with pytest.raises(ValidationError):
        rpm.episode_start(patient=patient, started_on=today, actor=world.clinician)
    rpm.episode_end(episode=first, on=today - timedelta(days=10), actor=world.clinician)
    with pytest.raises(ValidationError):
        rpm.episode_start(patient=patient, started_on=today - timedelta(days=10), actor=world.clinician)
    rpm.episode_start(patient=patient, started_on=today - timedelta(days=9), actor=world.clinician)
    with pytest.raises(ValidationError):
        rpm.episode_end(episode=first, on=first.started_on - timedelta(days=1), actor=world.clinician)
    with pytest.raises(ValidationError):
        rpm.episode_setup_completed(episode=first, on=today + timedelta(days=1), actor=world.clinician)
    assert RpmEpisode.objects.filter(patient=patient).count() == 2
