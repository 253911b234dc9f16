"""The scheduling pages through HTTP: staff calendar, booking, visit actions, triage,
availability; the portal's request, self-booking, proposals, cancel and calendar."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from scheduling import services
from scheduling.models import Availability, CalendarEvent, Slot, Visit, VisitRequest
from scheduling.tests.factories import AvailabilityFactory, book, future, set_policy, slot_key, staff

pytestmark = pytest.mark.django_db


def _local(world, days, hour, minute=0):
    tz = world.cardiac.tz
    return datetime.combine(timezone.now().astimezone(tz).date() + timedelta(days=days), time(hour, minute), tzinfo=tz)


def test_week_and_day_views_show_visits_and_navigate_with_htmx(login, world):
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    visit = book(world.me, world.clinician, _local(world, 1, 10))
    client = login(world.clinician)
    day = visit.starts_at.astimezone(world.cardiac.tz).date()
    r = client.get(f"/schedule/?date={day}")
    assert r.status_code == 200 and r["Vary"] and "HX-Request" in r["Vary"]
    assert world.me.full_name.encode() in r.content and b"sched-avail" in r.content
    assert f'href="/schedule/visits/{visit.pk}/"'.encode() in r.content
    fragment = client.get(f"/schedule/?view=day&date={day}", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and b"<html" not in fragment.content and b'id="calendar"' in fragment.content
    nxt = client.get(f"/schedule/?date={day + timedelta(days=7)}", HTTP_HX_REQUEST="true")
    assert world.me.full_name.encode() not in nxt.content


def test_staff_book_a_listed_slot_and_see_inline_errors(login, world):
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    client = login(world.clinician)
    page = client.get(f"/schedule/book/?patient={world.me.pk}")
    assert page.status_code == 200 and b'name="slot"' in page.content
    slots_fragment = client.get(f"/schedule/book/?patient={world.me.pk}&staff={staff(world.clinician).pk}",
                                HTTP_HX_REQUEST="true", HTTP_HX_TARGET="slots")
    assert b'id="slots"' in slots_fragment.content and b"<html" not in slots_fragment.content
    start = _local(world, 2, 9, 30)
    key = slot_key(world.clinician, start)
    data = {"patient": str(world.me.pk), "staff": str(staff(world.clinician).pk), "slot": key,
            "visit_type": "FOLLOW_UP", "mode": "IN_PERSON", "reason": "Wound check"}
    r = client.post("/schedule/book/", data)
    assert r.status_code == 302
    visit = Visit.objects.get()
    assert visit.starts_at == start and visit.reason == "Wound check" and visit.ends_at - start == timedelta(minutes=30)
    # The same slot again: an inline error, the typed reason kept, nothing stored.
    r = client.post("/schedule/book/", {**data, "patient": str(world.cardiac_patients[1].pk), "reason": "Mine"})
    assert r.status_code == 400 and b"errorlist" in r.content and b"Mine" in r.content
    assert Visit.objects.count() == 1
    r = client.post("/schedule/book/", {**data, "slot": "", "reason": "Nothing picked"})
    assert r.status_code == 400 and b"Pick an open slot" in r.content


def test_staff_book_any_free_time(login, world):
    client = login(world.clinician)
    r = client.post("/schedule/book/", {"patient": str(world.me.pk), "staff": str(staff(world.clinician).pk),
                                        "custom_date": str(_local(world, 3, 0).date()), "custom_time": "16:15",
                                        "duration": 45, "visit_type": "CONSULTATION", "mode": "VIRTUAL"})
    assert r.status_code == 302
    visit = Visit.objects.get()
    assert visit.starts_at == _local(world, 3, 16, 15) and visit.duration_minutes == 45 and visit.is_virtual


def test_visit_page_transitions_cancel_and_reschedule(login, world):
    visit = book(world.me, world.clinician, timezone.now() + timedelta(minutes=5))
    client = login(world.clinician)
    r = client.get(f"/schedule/visits/{visit.pk}/")
    assert r.status_code == 200 and b"Check in" in r.content
    assert client.post(f"/schedule/visits/{visit.pk}/status/", {"to": "COMPLETED"}).status_code == 302
    visit.refresh_from_db()
    assert visit.status == "PLANNED"  # refused: planned can't complete
    client.post(f"/schedule/visits/{visit.pk}/status/", {"to": "CHECKED_IN"})
    visit.refresh_from_db()
    assert visit.status == "CHECKED_IN"
    r = client.post(f"/schedule/visits/{visit.pk}/cancel/", {"reason": ""})
    assert r.status_code == 400 and b"errorlist" in r.content
    client.post(f"/schedule/visits/{visit.pk}/cancel/", {"reason": "Fire alarm"})
    visit.refresh_from_db()
    assert visit.status == "CANCELLED" and visit.cancel_reason == "Fire alarm"
    r = client.get(f"/schedule/visits/{visit.pk}/")
    assert b"Fire alarm" in r.content and b"Check in" not in r.content

    planned = book(world.me, world.clinician, _local(world, 4, 10))
    r = client.post(f"/schedule/visits/{planned.pk}/reschedule/", {
        "staff": str(planned.staff_id), "custom_date": str(_local(world, 5, 0).date()), "custom_time": "11:00",
        "duration": 30, "visit_type": planned.visit_type, "mode": "IN_PERSON", "reason": "Patient asked"})
    assert r.status_code == 302
    planned.refresh_from_db()
    assert planned.status == "CANCELLED" and planned.rescheduled_to.starts_at == _local(world, 5, 11)
    r = client.post(f"/schedule/visits/{planned.rescheduled_to.pk}/reschedule/", {"staff": str(planned.staff_id)})
    assert r.status_code == 400


def test_triage_propose_and_the_patient_confirms_in_the_portal(login, world):
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician), mode="VIRTUAL")
    patient = login(world.patient_user)
    r = patient.post("/portal/visits/request/", {"request_type": "SCHEDULED", "mode": "VIRTUAL",
                                                 "reason": "Palpitations",
                                                 "preferred_date": str(_local(world, 2, 0).date())})
    assert r.status_code == 302
    req = VisitRequest.objects.get()
    staff_client = login(world.clinician)
    assert b"Palpitations" in staff_client.get("/schedule/requests/").content
    page = staff_client.get(f"/schedule/requests/{req.pk}/")
    assert page.status_code == 200 and b'name="slot"' in page.content
    staff_client.post(f"/schedule/requests/{req.pk}/triage/", {"severity": "YELLOW", "note": "Stable"})
    req.refresh_from_db()
    assert (req.status, req.severity) == ("TRIAGED", "YELLOW")
    start = _local(world, 2, 10)
    key = slot_key(world.clinician, start)
    r = staff_client.post(f"/schedule/requests/{req.pk}/propose/", {"slot": key, "action": "propose",
                                                                    "visit_type": "FOLLOW_UP"})
    assert r.status_code == 302
    req.refresh_from_db()
    assert req.status == "AWAITING_PATIENT_CONFIRMATION"
    mine = login(world.patient_user).get("/portal/visits/")
    assert b"Can you make this time?" in mine.content
    r = login(world.patient_user).post(f"/portal/requests/{req.pk}/confirm/")
    assert r.status_code == 302
    req.refresh_from_db()
    assert req.status == "CONVERTED_TO_VISIT" and req.visit.starts_at == start


def test_portal_self_book_follows_policy(login, world):
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    client = login(world.patient_user)
    set_policy(world.cardiac, "request")
    assert client.get("/portal/visits/book/").status_code == 302  # to the request form
    set_policy(world.cardiac, "view_only")
    r = client.get("/portal/visits/request/")
    assert b"arranges visits for you" in r.content
    assert client.post("/portal/visits/request/", {"reason": "x", "request_type": "SCHEDULED",
                                                   "mode": "VIRTUAL"}).status_code == 200
    assert not VisitRequest.objects.exists()
    set_policy(world.cardiac, "self_book")
    page = client.get("/portal/visits/book/")
    assert page.status_code == 200 and b'name="slot"' in page.content
    start = _local(world, 2, 11)
    key = slot_key(world.clinician, start)
    r = client.post("/portal/visits/book/", {"slot": key, "visit_type": "FOLLOW_UP", "reason": "Knee"})
    assert r.status_code == 302
    visit = Visit.objects.get()
    assert visit.patient_initiated and visit.starts_at == start
    r = client.post("/portal/visits/book/", {"slot": key, "visit_type": "FOLLOW_UP", "reason": "Again"})
    assert r.status_code == 400 and b"no longer available" in r.content and b"Again" in r.content


def test_portal_cancel_and_waiting_room(login, world):
    visit = book(world.me, world.clinician, timezone.now() + timedelta(hours=5), mode="VIRTUAL")
    client = login(world.patient_user)
    room = client.get(f"/portal/visits/{visit.pk}/waiting-room/")
    assert room.status_code == 200 and b"Not open yet" in room.content
    frag = client.get(f"/portal/visits/{visit.pk}/waiting-room/", HTTP_HX_REQUEST="true")
    assert b"<html" not in frag.content and b"room-status" in frag.content
    assert client.post(f"/portal/visits/{visit.pk}/join/").status_code == 302
    visit.refresh_from_db()
    assert visit.status == "PLANNED"  # too early: not joined
    r = client.post(f"/portal/visits/{visit.pk}/cancel/", {"reason": ""})
    assert r.status_code == 400
    client.post(f"/portal/visits/{visit.pk}/cancel/", {"reason": "Work"})
    visit.refresh_from_db()
    assert visit.status == "CANCELLED" and visit.cancelled_by == world.patient_user


def test_portal_calendar_events_with_recurrence_and_exceptions(login, world):
    client = login(world.patient_user)
    today = timezone.now().astimezone(world.cardiac.tz).date()
    r = client.post("/portal/calendar/", {"title": "Aspirin", "category": "medication", "date": str(today),
                                          "time": "08:00", "duration_minutes": 5, "repeat": "FREQ=DAILY"})
    assert r.status_code == 302
    event = CalendarEvent.objects.get()
    page = client.get(f"/portal/calendar/?date={today}")
    assert page.content.count(b"Aspirin") >= 7 - today.weekday()
    occurrence = datetime.combine(today, time(8), tzinfo=world.cardiac.tz)
    stamp = occurrence.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    client.post(f"/portal/calendar/events/{event.pk}/skip/", {"occurrence": stamp})
    event.refresh_from_db()
    assert event.exdates == [stamp]
    r = client.post("/portal/calendar/", {"title": "", "category": "medication", "date": "", "time": "08:00",
                                          "duration_minutes": 5, "repeat": "FREQ=DAILY"})
    assert r.status_code == 400 and b"errorlist" in r.content
    client.post(f"/portal/calendar/events/{event.pk}/delete/")
    assert not CalendarEvent.objects.exists()


def test_availability_page_add_pause_skip_and_block(login, world):
    client = login(world.clinician)
    r = client.post("/schedule/availability/", {"program": str(world.cardiac.pk), "repeat": "weekly", "days": ["MO"],
                                                "starts_on": "2030-01-07", "start_time": "09:00", "end_time": "11:00",
                                                "slot_minutes": 20, "mode": "VIRTUAL"})
    assert r.status_code == 302
    avail = Availability.objects.get()
    assert avail.rrule == "FREQ=WEEKLY;BYDAY=MO" and avail.staff == staff(world.clinician)
    r = client.post("/schedule/availability/", {"program": str(world.metabolic.pk), "repeat": "weekly", "days": [],
                                                "starts_on": "2030-01-07", "start_time": "11:00", "end_time": "09:00",
                                                "slot_minutes": 20, "mode": "VIRTUAL", "location": "Kept"})
    assert r.status_code == 400 and b"Kept" in r.content and Availability.objects.count() == 1
    client.post(f"/schedule/availability/{avail.pk}/pause/")
    client.post(f"/schedule/availability/{avail.pk}/skip/", {"date": "2030-01-14"})
    avail.refresh_from_db()
    assert avail.status == "PAUSED" and avail.exdates == ["2030-01-14"]
    client.post("/schedule/availability/block/", {"staff": str(staff(world.clinician).pk), "date": "2030-01-08",
                                                  "start": "12:00", "end": "13:00", "note": "Lunch"})
    assert Slot.objects.get(status="BLOCKED").note == "Lunch"


def test_chart_tab_and_registry_column(login, world):
    visit = book(world.me, world.clinician, future(2, 20))
    client = login(world.clinician)
    r = client.get(f"/patients/{world.me.pk}/visits/")
    assert r.status_code == 200 and f"/schedule/visits/{visit.pk}/".encode() in r.content
    frag = client.get(f"/patients/{world.me.pk}/visits/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="chart-main")
    assert b"<html" not in frag.content and b"Upcoming visits" in frag.content
    assert client.get(f"/patients/{world.metabolic_patients[0].pk}/visits/").status_code == 404
    export = b"".join(client.get("/patients/export.csv").streaming_content).decode()
    assert visit.starts_at.astimezone(world.cardiac.tz).strftime("%Y-%m-%d %H:%M") in export
    services.visit_cancel(visit=visit, actor=world.clinician, reason="x")


def test_joining_a_video_visit_opens_the_room_from_our_own_page(login, world, settings):
    # A form's redirect to the provider is blocked by the CSP (form-action 'self'): the join
    # answers with a page of ours that opens the room instead.
    settings.DAILY_API_KEY = ""
    settings.TELEHEALTH_JITSI_BASE_URL = "https://video.example.test"
    settings.TELEHEALTH_JITSI_APP_ID = settings.TELEHEALTH_JITSI_APP_SECRET = ""
    visit = book(world.me, world.clinician, timezone.now() + timedelta(minutes=5), mode="VIRTUAL")
    response = login(world.patient_user).post(f"/portal/visits/{visit.pk}/join/")
    assert response.status_code == 200 and response.context["room_url"].startswith("https://video.example.test/")
    assert "form-action 'self'" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"
