"""Private iCalendar feeds (RFC 5545, built with the `icalendar` library).

A staff member's feed holds their own visits; a patient's feed their own visits
and personal events (series keep their RRULE/EXDATE, edited occurrences their
RECURRENCE-ID). Feeds leave the system for third-party calendar apps, so they
carry as little health information as will do: no visit reasons, and only the
patient's initials in a clinician's feed; the event links back to the portal
or the visit page for the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar as ICalendar
from icalendar import Event, vRecur

from mahalo import access
from scheduling import calendars
from scheduling.models import CalendarEvent, Visit

PRODID = "-//Mahalo Health//Scheduling//EN"
PAST_DAYS = 90
FUTURE_DAYS = 366
STATUS = {Visit.Status.CANCELLED: "CANCELLED", Visit.Status.NO_SHOW: "CANCELLED"}


def _base_url() -> str:
    return (getattr(settings, "MAHALO_BASE_URL", "") or "").rstrip("/")


def _calendar(name: str) -> ICalendar:
    cal = ICalendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval;value=duration", "PT1H")
    return cal


def _initials(patient) -> str:
    return f"{patient.first_name[:1]}.{patient.last_name[:1]}.".upper()


def visit_event(visit: Visit, *, for_staff: bool, now: datetime) -> Event:
    ev = Event()
    ev.add("uid", f"visit-{visit.pk}@mahalo.health")
    ev.add("dtstamp", now.astimezone(UTC))
    ev.add("dtstart", visit.starts_at.astimezone(UTC))
    ev.add("dtend", visit.ends_at.astimezone(UTC))
    ev.add("last-modified", visit.updated_at.astimezone(UTC))
    # Grows with every change, as RFC 5545 wants, without a history query per visit.
    ev.add("sequence", max(0, int((visit.updated_at - visit.created_at).total_seconds())))
    how = "video" if visit.is_virtual else "in person"
    if for_staff:
        ev.add("summary", f"Visit {_initials(visit.patient)} ({how})")
        path = f"/schedule/visits/{visit.pk}/"
    else:
        ev.add("summary", f"Visit with {visit.staff.user.get_full_name()} ({how})")
        path = f"/portal/visits/{visit.pk}/"
    ev.add("status", STATUS.get(visit.status, "CONFIRMED"))
    if visit.location and not visit.is_virtual:
        ev.add("location", visit.location)
    if _base_url():
        ev.add("url", _base_url() + path)
        ev.add("description", f"Details: {_base_url() + path}")
    return ev


def personal_event(event: CalendarEvent, now: datetime) -> Event:
    ev = Event()
    ev.add("uid", f"event-{event.parent_id or event.pk}@mahalo.health")
    ev.add("dtstamp", now.astimezone(UTC))
    tz = event.starts_at.astimezone(_zone(event.timezone))
    if event.all_day:
        ev.add("dtstart", tz.date())
        ev.add("dtend", tz.date() + timedelta(days=1))
    else:
        ev.add("dtstart", tz)
        ev.add("dtend", (event.ends_at or event.starts_at + timedelta(minutes=30)).astimezone(_zone(event.timezone)))
    ev.add("summary", event.title)
    if event.description:
        ev.add("description", event.description)
    if event.location:
        ev.add("location", event.location)
    ev.add("categories", [event.get_category_display()])
    ev.add("status", "CANCELLED" if event.status == CalendarEvent.Status.CANCELLED else "CONFIRMED")
    if event.rrule and not event.parent_id:
        ev.add("rrule", vRecur.from_ical(event.rrule))
        for stamp in event.exdates or []:
            ev.add("exdate", datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
    if event.parent_id and event.recurrence_id:
        ev.add("recurrence-id", event.recurrence_id.astimezone(UTC))
    return ev


def _zone(name):
    return calendars.zone(name)


def feed_for(user, now: datetime | None = None) -> bytes:
    """The .ics body of `user`'s feed: exactly their own visits (and a patient's events)."""
    now = now or timezone.now()
    window = (now - timedelta(days=PAST_DAYS), now + timedelta(days=FUTURE_DAYS))
    staff, patient = access.staff_of(user), access.patient_of(user)
    cal = _calendar("Mahalo visits")
    visits = Visit.objects.none()
    if staff is not None:
        visits = Visit.objects.filter(staff=staff)
    elif patient is not None:
        visits = Visit.objects.filter(patient=patient)
    visits = (visits.filter(starts_at__gte=window[0], starts_at__lt=window[1])
              .select_related("patient", "staff__user")
              .order_by("starts_at"))
    for visit in visits:
        cal.add_component(visit_event(visit, for_staff=staff is not None, now=now))
    if patient is not None and staff is None:
        events = CalendarEvent.objects.filter(owner=user, calendar__is_visible=True).order_by("starts_at")
        for event in events:
            cal.add_component(personal_event(event, now))
    cal.add_missing_timezones()
    return cal.to_ical()
