"""The scheduling API: slots search, booking, cancel, reschedule, requests, the patient's visits."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from scheduling.models import Visit, VisitRequest
from scheduling.tests.factories import AvailabilityFactory, book, future, set_policy, staff

pytestmark = pytest.mark.django_db


def _local(world, days, hour):
    tz = world.cardiac.tz
    return datetime.combine(timezone.now().astimezone(tz).date() + timedelta(days=days), time(hour), tzinfo=tz)


def test_slot_search_for_staff_and_for_a_self_booking_patient(api_login, world):
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    day = _local(world, 2, 0).date()
    r = api_login(world.clinician).get(f"/api/v1/scheduling/slots/?patient={world.me.pk}&from={day}&days=1")
    assert r.status_code == 200
    starts = [datetime.fromisoformat(s["starts_at"]) for s in r.json()]
    assert starts[0] == _local(world, 2, 9) and len(starts) == 6
    patient = api_login(world.patient_user)
    assert patient.get("/api/v1/scheduling/slots/").status_code == 403  # policy "request"
    set_policy(world.cardiac, "self_book")
    r = patient.get(f"/api/v1/scheduling/slots/?from={day}&days=1&mode=IN_PERSON")
    assert r.status_code == 200 and len(r.json()) == 6
    assert patient.get("/api/v1/scheduling/slots/?mode=PHONE").status_code == 400


def test_book_cancel_reschedule_through_the_api(api_login, world):
    api = api_login(world.clinician)
    start = future(3, 10)
    body = {"patient": str(world.me.pk), "staff": str(staff(world.clinician).pk), "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=30)).isoformat(), "mode": "VIRTUAL", "visit_type": "FOLLOW_UP"}
    r = api.post("/api/v1/scheduling/visits/", body, format="json")
    assert r.status_code == 201 and r.json()["status"] == "PLANNED"
    visit_id = r.json()["id"]
    again = api.post("/api/v1/scheduling/visits/", {**body, "patient": str(world.cardiac_patients[1].pk)},
                     format="json")
    assert again.status_code == 400 and "already booked" in str(again.json())
    bad = api.post("/api/v1/scheduling/visits/", {**body, "starts_at": "soon"}, format="json")
    assert bad.status_code == 400 and "starts_at" in bad.json()
    r = api.post(f"/api/v1/scheduling/visits/{visit_id}/reschedule/",
                 {"starts_at": (start + timedelta(hours=1)).isoformat(), "reason": "Clash"}, format="json")
    assert r.status_code == 201 and r.json()["rescheduled_from"] == visit_id
    new_id = r.json()["id"]
    assert api.post(f"/api/v1/scheduling/visits/{new_id}/cancel/", {}, format="json").status_code == 400
    r = api.post(f"/api/v1/scheduling/visits/{new_id}/cancel/", {"reason": "Unwell"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
    r = api.post(f"/api/v1/scheduling/visits/{new_id}/status/", {"to": "CHECKED_IN"}, format="json")
    assert r.status_code == 400
    listed = api.get("/api/v1/scheduling/visits/?status=CANCELLED").json()
    assert {v["id"] for v in listed["results"]} == {visit_id, new_id}


def test_patient_requests_and_confirms_through_the_api(api_login, world):
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician), mode="VIRTUAL")
    patient = api_login(world.patient_user)
    r = patient.post("/api/v1/scheduling/visit-requests/", {"reason": "Swollen ankles", "mode": "VIRTUAL"},
                     format="json")
    assert r.status_code == 201 and r.json()["status"] == "NEW"
    req_id = r.json()["id"]
    assert patient.post("/api/v1/scheduling/visit-requests/", {"reason": ""}, format="json").status_code == 400
    clinician = api_login(world.clinician)
    assert clinician.post(f"/api/v1/scheduling/visit-requests/{req_id}/triage/", {"severity": "ORANGE"},
                          format="json").status_code == 200
    start = _local(world, 2, 10)
    r = clinician.post(f"/api/v1/scheduling/visit-requests/{req_id}/propose/",
                       {"staff": str(staff(world.clinician).pk), "starts_at": start.isoformat()}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "AWAITING_PATIENT_CONFIRMATION"
    assert clinician.post(f"/api/v1/scheduling/visit-requests/{req_id}/confirm/").status_code == 403
    r = patient.post(f"/api/v1/scheduling/visit-requests/{req_id}/confirm/")
    assert r.status_code == 201 and datetime.fromisoformat(r.json()["starts_at"]) == start
    assert VisitRequest.objects.get(pk=req_id).status == "CONVERTED_TO_VISIT"
    mine = patient.get("/api/v1/scheduling/visits/").json()["results"]
    assert [v["id"] for v in mine] == [r.json()["id"]]


def test_patient_self_books_and_cancels_through_the_api(api_login, world):
    set_policy(world.cardiac, "self_book")
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    api = api_login(world.patient_user)
    start = _local(world, 2, 11)
    r = api.post("/api/v1/scheduling/visits/", {"staff": str(staff(world.clinician).pk),
                                                "starts_at": start.astimezone(UTC).isoformat()}, format="json")
    assert r.status_code == 201 and r.json()["patient_initiated"] is True
    r = api.post(f"/api/v1/scheduling/visits/{r.json()['id']}/cancel/", {"reason": "Travel"}, format="json")
    assert r.status_code == 200 and Visit.objects.get().cancelled_by == world.patient_user


def test_join_through_the_api_only_in_the_window(api_login, world, settings):
    settings.DAILY_API_KEY = ""
    visit = book(world.me, world.clinician, timezone.now() + timedelta(minutes=5), mode="VIRTUAL")
    r = api_login(world.patient_user).post(f"/api/v1/scheduling/visits/{visit.pk}/join/")
    assert r.status_code == 200 and r.json()["url"].startswith("https://meet.jit.si/mahalo-")
    later = book(world.cardiac_patients[1], world.clinician, timezone.now() + timedelta(days=1), mode="VIRTUAL")
    assert api_login(world.clinician).post(f"/api/v1/scheduling/visits/{later.pk}/join/").status_code == 403


def test_openapi_schema_documents_the_scheduling_api(api_login, world):
    r = api_login(world.lead).get("/api/schema/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "/api/v1/scheduling/visits/" in body and "/api/v1/scheduling/slots/" in body
