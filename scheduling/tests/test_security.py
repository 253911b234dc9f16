"""Security review of scheduling: every page and endpoint needs a login; another
program's or tenant's visits, requests and patients answer 404 (like missing ones);
bad ids and input never answer 500; patients reach only their own rows."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from scheduling import calendars, services
from scheduling.models import Availability, Visit, VisitRequest
from scheduling.tests.factories import AvailabilityFactory, book, future, set_policy, staff

pytestmark = pytest.mark.django_db
BAD_IDS = ["not-a-uuid", "1", "' OR 1=1 --", "0" * 200]


@pytest.fixture
def rows(world):
    """A visit and a request in each of: my cardiac patient, a metabolic patient, the other tenant."""
    cardiac = book(world.me, world.clinician, future(2, 9))
    metabolic = book(world.metabolic_patients[0], world.other_clinician, future(2, 9))
    foreign = book(world.foreign_patients[0], world.outsider, future(2, 9))
    reqs = [services.request_create(patient=p, actor=u, reason="R") for p, u in
            [(world.me, world.clinician), (world.metabolic_patients[0], world.other_clinician),
             (world.foreign_patients[0], world.outsider)]]
    return {"cardiac": cardiac, "metabolic": metabolic, "foreign": foreign, "reqs": reqs}


def visit_urls(v):
    return [f"/schedule/visits/{v.pk}/", f"/schedule/visits/{v.pk}/reschedule/"]


def visit_posts(v):
    return [(f"/schedule/visits/{v.pk}/status/", {"to": "CHECKED_IN"}),
            (f"/schedule/visits/{v.pk}/cancel/", {"reason": "pwned"}),
            (f"/schedule/visits/{v.pk}/reschedule/", {"staff": str(v.staff_id), "custom_date": "2030-01-01",
                                                      "custom_time": "10:00", "duration": 30, "visit_type": "OTHER",
                                                      "mode": "IN_PERSON", "reason": "pwned"}),
            (f"/schedule/visits/{v.pk}/join/", {}), (f"/schedule/visits/{v.pk}/end-call/", {}),
            (f"/schedule/visits/{v.pk}/recording/", {"enabled": "1"})]


STAFF_PAGES = ["/schedule/", "/schedule/?view=day", "/schedule/book/", "/schedule/requests/",
               "/schedule/availability/", "/schedule/feeds/"]
PORTAL_PAGES = ["/portal/visits/", "/portal/visits/request/", "/portal/visits/book/", "/portal/calendar/",
                "/portal/calendar/feeds/"]
API = ["/api/v1/scheduling/slots/", "/api/v1/scheduling/visits/", "/api/v1/scheduling/visit-requests/"]


def test_every_page_and_endpoint_needs_a_login(client, rows):
    v, r = rows["cardiac"], rows["reqs"][0]
    for url in STAFF_PAGES + PORTAL_PAGES + visit_urls(v) + [f"/schedule/requests/{r.pk}/",
                                                             f"/portal/visits/{v.pk}/",
                                                             f"/portal/visits/{v.pk}/waiting-room/"]:
        resp = client.get(url)
        assert resp.status_code == 302 and "/accounts/login/" in resp["Location"], url
    for url, data in visit_posts(v) + [(f"/schedule/requests/{r.pk}/triage/", {"severity": "RED"}),
                                       (f"/portal/visits/{v.pk}/cancel/", {"reason": "x"}),
                                       (f"/portal/requests/{r.pk}/cancel/", {})]:
        assert client.post(url, data).status_code == 302, url
    for url in API + [f"/api/v1/scheduling/visits/{v.pk}/"]:
        assert client.get(url).status_code == 401, url
    v.refresh_from_db()
    assert v.status == Visit.Status.PLANNED


@pytest.mark.parametrize("who", ["clinician", "outsider", "dietitian"])
def test_other_programs_and_tenants_visits_are_404(login, world, rows, who):
    client = login(getattr(world, who))
    targets = {"clinician": ["metabolic", "foreign"], "outsider": ["cardiac", "metabolic"],
               "dietitian": ["cardiac", "foreign"]}[who]
    for key in targets:
        v = rows[key]
        # A role without scheduling:update meets the role check (403) before the record check:
        # either way nothing about the visit is shown or changed.
        for url in visit_urls(v):
            r = client.get(url)
            assert r.status_code in ((403, 404) if who == "dietitian" else (404,)), (url, who)
            assert v.patient.full_name.encode() not in r.content
        for url, data in visit_posts(v):
            assert client.post(url, data).status_code in ((403, 404) if who == "dietitian" else (404,)), (url, who)
        v.refresh_from_db()
        assert v.status == Visit.Status.PLANNED
    assert not Visit.objects.filter(reason="pwned").exists()


def test_other_programs_and_tenants_requests_are_404(login, world, rows):
    client = login(world.clinician)
    for req in rows["reqs"][1:]:
        assert client.get(f"/schedule/requests/{req.pk}/").status_code == 404
        for action, data in [("triage", {"severity": "RED"}), ("cancel", {"reason": "x"}),
                             ("propose", {"slot": "x|20300101T100000Z"})]:
            assert client.post(f"/schedule/requests/{req.pk}/{action}/", data).status_code == 404
        req.refresh_from_db()
        assert req.status == VisitRequest.Status.NEW
    page = client.get("/schedule/requests/").content
    assert rows["reqs"][1].patient.full_name.encode() not in page
    assert rows["reqs"][2].patient.full_name.encode() not in page


def test_booking_for_another_programs_or_tenants_patient_is_404(login, world):
    client = login(world.clinician)
    for patient in (world.metabolic_patients[0], world.foreign_patients[0]):
        assert client.get(f"/schedule/book/?patient={patient.pk}").status_code == 404
        r = client.post("/schedule/book/", {"patient": str(patient.pk), "staff": str(staff(world.clinician).pk),
                                            "custom_date": "2030-01-01", "custom_time": "10:00", "duration": 30,
                                            "visit_type": "OTHER", "mode": "IN_PERSON"})
        assert r.status_code == 404
    assert not Visit.objects.exists()
    hits = client.get("/schedule/book/?q=" + world.metabolic_patients[0].last_name).content
    assert str(world.metabolic_patients[0].pk).encode() not in hits


def test_a_colleagues_calendar_masks_patients_outside_my_scope(login, world, rows):
    from mahalo.models import ProgramAssignment

    # The metabolic clinician also works in cardiac, so the cardiac clinician may open
    # their calendar: their metabolic patient's visit shows as anonymous busy time.
    colleague = staff(world.other_clinician)
    ProgramAssignment.objects.create(staff=colleague, program=world.cardiac)
    met = rows["metabolic"]
    local_day = met.starts_at.astimezone(world.cardiac.tz).date()
    r = login(world.clinician).get(f"/schedule/?staff={colleague.pk}&date={local_day}")
    assert r.status_code == 200
    assert met.patient.full_name.encode() not in r.content and str(met.pk).encode() not in r.content
    assert b"sched-busy" in r.content
    # Another tenant's staff member's calendar isn't even selectable.
    assert login(world.clinician).get(f"/schedule/?staff={staff(world.outsider).pk}").status_code == 404


def test_a_patient_reaches_only_their_own_visits_and_requests(login, world, rows):
    other = book(world.cardiac_patients[1], world.clinician, future(3, 9))
    other_req = services.request_create(patient=world.cardiac_patients[1], actor=world.clinician, reason="R")
    client = login(world.patient_user)
    for v in (other, rows["metabolic"], rows["foreign"]):
        for url in (f"/portal/visits/{v.pk}/", f"/portal/visits/{v.pk}/waiting-room/"):
            assert client.get(url).status_code == 404
        assert client.post(f"/portal/visits/{v.pk}/cancel/", {"reason": "x"}).status_code == 404
        assert client.post(f"/portal/visits/{v.pk}/join/").status_code == 404
        v.refresh_from_db()
        assert v.status == Visit.Status.PLANNED
    for req in (other_req, rows["reqs"][1]):
        for action in ("confirm", "decline", "cancel"):
            assert client.post(f"/portal/requests/{req.pk}/{action}/").status_code == 404
    # Staff pages are not for patients.
    for url in STAFF_PAGES + visit_urls(rows["cardiac"]):
        assert client.get(url).status_code == 404, url


def test_staff_get_404_on_portal_pages(login, world):
    client = login(world.clinician)
    for url in PORTAL_PAGES:
        assert client.get(url).status_code == 404


def test_another_patients_calendar_event_is_404(login, world):
    other_user = world.outsider
    cal = calendars.default_calendar(user=world.lead)
    event = calendars.event_create(calendar=cal, actor=world.lead, title="Lead's", starts_at=timezone.now(),
                                   duration_minutes=10)
    client = login(world.patient_user)
    assert client.post(f"/portal/calendar/events/{event.pk}/delete/").status_code == 404
    assert client.post(f"/portal/calendar/events/{event.pk}/skip/", {"occurrence": "x"}).status_code == 404
    assert other_user.is_active


@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_ids_and_params_never_500(login, world, bad):
    # A bad id in a page's address names nothing (404); a bad filter is ignored by the page
    # (200) and refused by the API with field errors (400); a bad slot goes back to the picker.
    client = login(world.clinician)
    for url, expected in [(f"/schedule/?date={bad}", 404), (f"/schedule/?staff={bad}", 404),
                          (f"/schedule/book/?patient={bad}", 404), (f"/schedule/book/?q={bad}", 200),
                          (f"/schedule/availability/?staff={bad}", 404), (f"/schedule/requests/?show={bad}", 200)]:
        assert client.get(url).status_code == expected, url
    api = login(world.clinician)
    days = 200 if bad.isdigit() else 400  # a number of days is clamped to 1..31; words are refused
    for url, expected in [(f"/api/v1/scheduling/slots/?from={bad}", 400),
                          (f"/api/v1/scheduling/slots/?days={bad}", days),
                          (f"/api/v1/scheduling/slots/?patient={bad}", 400),
                          (f"/api/v1/scheduling/visits/?from={bad}", 400),
                          (f"/api/v1/scheduling/visits/?status={bad}", 400),
                          (f"/api/v1/scheduling/visits/?patient={bad}", 400),
                          (f"/api/v1/scheduling/visits/{bad}/", 404)]:
        assert api.get(url).status_code == expected, url
    patient = login(world.patient_user)
    for url, expected in [(f"/portal/visits/book/?from={bad}", 302), (f"/portal/calendar/?date={bad}", 200)]:
        assert patient.get(url).status_code == expected, url
    assert patient.post("/portal/visits/book/", {"slot": bad}).status_code == 302


def test_slot_keys_cant_book_another_tenants_clinician(login, world):
    set_policy(world.cardiac, "self_book")
    outsider_staff = staff(world.outsider)
    AvailabilityFactory(program=world.other_program, staff=outsider_staff)
    start = (timezone.now() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    key = f"{outsider_staff.pk}|{start:%Y%m%dT%H%M%SZ}"
    r = login(world.patient_user).post("/portal/visits/book/", {"slot": key, "visit_type": "FOLLOW_UP"})
    assert r.status_code == 400
    assert not Visit.objects.exists()


def test_availability_of_someone_else_cant_be_changed_by_a_program_clinician(login, world):
    avail = AvailabilityFactory(program=world.cardiac, staff=staff(world.lead))
    client = login(world.clinician)
    for action in ("pause", "delete", "skip"):
        assert client.post(f"/schedule/availability/{avail.pk}/{action}/", {"date": "2030-01-01"}).status_code == 404
    assert Availability.objects.get(pk=avail.pk).status == "ACTIVE"
    foreign = AvailabilityFactory(program=world.other_program, staff=staff(world.outsider))
    assert login(world.lead).post(f"/schedule/availability/{foreign.pk}/pause/").status_code == 404
    assert client.post("/schedule/availability/block/", {"staff": str(staff(world.outsider).pk), "date": "2030-01-01",
                                                         "start": "09:00", "end": "10:00"}).status_code == 404


def test_api_patient_sees_only_own_visits_and_cant_book_for_others(api_login, world, rows):
    other = book(world.cardiac_patients[1], world.clinician, future(3, 11))
    api = api_login(world.patient_user)
    ids = {v["id"] for v in api.get("/api/v1/scheduling/visits/").json()["results"]}
    assert ids == {str(rows["cardiac"].pk)}
    for v in (other, rows["metabolic"], rows["foreign"]):
        assert api.get(f"/api/v1/scheduling/visits/{v.pk}/").status_code == 404
        assert api.post(f"/api/v1/scheduling/visits/{v.pk}/cancel/", {"reason": "x"}, format="json").status_code == 404
    r = api.post("/api/v1/scheduling/visits/", {"patient": str(other.patient_id), "staff": str(other.staff_id),
                                                "starts_at": future(5).isoformat()}, format="json")
    assert r.status_code == 404
    r = api.post("/api/v1/scheduling/visit-requests/", {"patient": str(world.cardiac_patients[1].pk),
                                                        "reason": "x"}, format="json")
    assert r.status_code == 404
    assert api.post(f"/api/v1/scheduling/visits/{rows['cardiac'].pk}/status/", {"to": "CHECKED_IN"},
                    format="json").status_code == 403


def test_api_staff_cross_program_and_tenant_is_404(api_login, world, rows):
    api = api_login(world.clinician)
    ids = {v["id"] for v in api.get("/api/v1/scheduling/visits/").json()["results"]}
    assert ids == {str(rows["cardiac"].pk)}
    for v in (rows["metabolic"], rows["foreign"]):
        assert api.get(f"/api/v1/scheduling/visits/{v.pk}/").status_code == 404
        assert api.post(f"/api/v1/scheduling/visits/{v.pk}/cancel/", {"reason": "x"}, format="json").status_code == 404
        assert api.post(f"/api/v1/scheduling/visits/{v.pk}/reschedule/", {"reason": "x", "starts_at":
                        future(6).isoformat()}, format="json").status_code == 404
    for p in (world.metabolic_patients[0], world.foreign_patients[0]):
        r = api.post("/api/v1/scheduling/visits/", {"patient": str(p.pk), "staff": str(staff(world.clinician).pk),
                                                    "starts_at": future(6).isoformat(),
                                                    "ends_at": (future(6) + timedelta(minutes=30)).isoformat()},
                     format="json")
        assert r.status_code == 404
        assert api.get(f"/api/v1/scheduling/slots/?patient={p.pk}").status_code == 404
    for req in rows["reqs"][1:]:
        assert api.post(f"/api/v1/scheduling/visit-requests/{req.pk}/triage/", {"severity": "RED"},
                        format="json").status_code == 404
    assert api.get(f"/api/v1/scheduling/visits/{uuid.uuid4()}/").status_code == 404
