"""Private iCalendar feeds: valid RFC 5545 (parsed with `icalendar`), exactly the
owner's visits (and a patient's own events), revocable."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from scheduling import calendars, services
from scheduling.models import CalendarFeedToken
from scheduling.tests.factories import book, future

pytestmark = pytest.mark.django_db


def _feed(client, user):
    _, token = calendars.feed_create(user=user)
    r = client.get(f"/calendar/feed/{token}.ics")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(r.content), token


@pytest.fixture
def visits(world):
    mine = [book(world.me, world.clinician, future(2, 9)), book(world.cardiac_patients[1], world.clinician,
                                                               future(2, 11))]
    cancelled = book(world.cardiac_patients[2], world.clinician, future(3, 9))
    services.visit_cancel(visit=cancelled, actor=world.clinician, reason="x")
    others = [book(world.metabolic_patients[0], world.other_clinician, future(2, 9)),
              book(world.me, world.lead, future(4, 9))]
    return mine, cancelled, others


def test_staff_feed_has_exactly_their_visits(client, world, visits):
    mine, cancelled, others = visits
    cal, _ = _feed(client, world.clinician)
    events = cal.walk("VEVENT")
    assert {str(e["UID"]) for e in events} == {f"visit-{v.pk}@mahalo.health" for v in [*mine, cancelled]}
    by_uid = {str(e["UID"]): e for e in events}
    assert str(by_uid[f"visit-{cancelled.pk}@mahalo.health"]["STATUS"]) == "CANCELLED"
    first = by_uid[f"visit-{mine[0].pk}@mahalo.health"]
    assert first.decoded("DTSTART") == mine[0].starts_at and first.decoded("DTEND") == mine[0].ends_at
    # Initials only: a feed leaves the system.
    assert world.me.last_name not in cal.to_ical().decode()
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]


def test_patient_feed_has_their_visits_and_their_events_only(client, world, visits):
    mine, cancelled, others = visits
    calendar = calendars.default_calendar(user=world.patient_user, patient=world.me)
    tz = world.cardiac.tz
    start = datetime.combine(timezone.now().date(), time(8), tzinfo=tz)
    event = calendars.event_create(calendar=calendar, actor=world.patient_user, title="Metoprolol",
                                   starts_at=start, duration_minutes=5, rrule="FREQ=DAILY",
                                   category="medication", tz=world.cardiac.timezone)
    skipped = start + timedelta(days=2)
    calendars.event_skip(event=event, occurrence_start=skipped, actor=world.patient_user)
    cal, _ = _feed(client, world.patient_user)
    uids = {str(e["UID"]) for e in cal.walk("VEVENT")}
    assert uids == {f"visit-{mine[0].pk}@mahalo.health", f"visit-{others[1].pk}@mahalo.health",
                    f"event-{event.pk}@mahalo.health"}
    series = next(e for e in cal.walk("VEVENT") if str(e["UID"]).startswith("event-"))
    assert series["RRULE"]["FREQ"] == ["DAILY"]
    exdates = [d.dt for d in series["EXDATE"].dts] if not isinstance(series["EXDATE"], list) else \
        [d.dt for x in series["EXDATE"] for d in x.dts]
    assert exdates == [skipped.astimezone(UTC)]
    assert cal.walk("VTIMEZONE")  # local-time series carry their zone
    assert "Metoprolol" in cal.to_ical().decode()


def test_a_revoked_or_unknown_token_is_404(client, world, visits):
    feed, token = calendars.feed_create(user=world.clinician)
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 200
    calendars.feed_revoke(feed=feed, user=world.clinician)
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404
    assert client.get("/calendar/feed/nope.ics").status_code == 404
    assert client.get(f"/calendar/feed/{'x' * 300}.ics").status_code == 404


def test_only_the_hash_is_stored_and_a_deactivated_user_loses_the_feed(client, world):
    feed, token = calendars.feed_create(user=world.clinician)
    assert token not in str(CalendarFeedToken.objects.filter(pk=feed.pk).values().first())
    world.clinician.is_active = False
    world.clinician.save()
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404


def test_feed_pages_create_show_once_and_revoke(login, world):
    client = login(world.clinician)
    r = client.post("/schedule/feeds/", {"action": "create", "label": "Phone"})
    assert r.status_code == 200 and b"/calendar/feed/" in r.content
    feed = CalendarFeedToken.objects.get(user=world.clinician)
    r = client.get("/schedule/feeds/")
    assert b"/calendar/feed/" not in r.content and b"Phone" in r.content
    client.post("/schedule/feeds/", {"action": "revoke", "feed": str(feed.pk)})
    feed.refresh_from_db()
    assert feed.revoked_at is not None
    # Someone else's feed can't be revoked.
    other, _ = calendars.feed_create(user=world.lead)
    assert client.post("/schedule/feeds/", {"action": "revoke", "feed": str(other.pk)}).status_code == 404
    assert client.post("/schedule/feeds/", {"action": "revoke", "feed": "junk"}).status_code == 404
    patient = login(world.patient_user)
    assert patient.post("/portal/calendar/feeds/", {"action": "create"}).status_code == 200
    assert CalendarFeedToken.objects.filter(user=world.patient_user).count() == 1


def test_occurrences_expand_in_local_time_across_dst(world):
    world.cardiac.timezone = "Europe/Berlin"
    world.cardiac.save()
    calendar = calendars.default_calendar(user=world.patient_user, patient=world.me)
    tz = world.cardiac.tz
    start = datetime(2026, 10, 22, 8, tzinfo=tz)
    calendars.event_create(calendar=calendar, actor=world.patient_user, title="Pill", starts_at=start,
                           duration_minutes=5, rrule="FREQ=DAILY", tz="Europe/Berlin")
    found = calendars.occurrences(calendar.events.all(), start, start + timedelta(days=6))
    assert [o.starts_at.astimezone(tz).hour for o in found] == [8] * 6
    assert {o.starts_at.astimezone(UTC).hour for o in found} == {6, 7}  # UTC moves on Oct 25
