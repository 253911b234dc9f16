"""The calls API (/api/v1/scheduling/calls/): the same service as the pages, the same gate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduling.models import VirtualVisitSession
from scheduling.tests.factories import call_thread, start_call

pytestmark = pytest.mark.django_db
URL = "/api/v1/scheduling/calls/"


@pytest.fixture(autouse=True)
def _jitsi(settings):
    settings.DAILY_API_KEY = ""
    settings.TELEHEALTH_JITSI_BASE_URL = "https://video.example.test"
    settings.TELEHEALTH_JITSI_APP_ID = settings.TELEHEALTH_JITSI_APP_SECRET = ""


def test_start_answer_end_through_the_api(world, api_login):
    thread = call_thread(world.me, world.clinician)
    staff = api_login(world.clinician)
    created = staff.post(URL, {"thread": str(thread.pk)}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "ringing" and body["thread"] == str(thread.pk)
    assert body["started_by"] == str(world.clinician.pk)

    patient = api_login(world.patient_user)
    mine = patient.get(URL).json()["results"]
    assert [c["id"] for c in mine] == [body["id"]]
    joined = patient.post(f"{URL}{body['id']}/join/")
    assert joined.status_code == 200 and joined.json()["url"].startswith("https://video.example.test/mahalo-")
    VirtualVisitSession.objects.filter(pk=body["id"]).update(started_at=timezone.now() - timedelta(minutes=3))
    ended = staff.post(f"{URL}{body['id']}/end/")
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert 179 <= ended.json()["duration_seconds"] <= 185
    assert staff.get(f"{URL}?thread={thread.pk}&status=ended").json()["count"] == 1


def test_schedule_and_cancel(world, api_login):
    thread = call_thread(world.me, world.clinician)
    staff = api_login(world.clinician)
    when = (timezone.now() + timedelta(days=1)).isoformat()
    created = staff.post(URL, {"thread": str(thread.pk), "scheduled_for": when}, format="json").json()
    assert created["status"] == "scheduled"
    assert staff.post(f"{URL}{created['id']}/cancel/").json()["status"] == "canceled"
    again = staff.post(f"{URL}{created['id']}/cancel/")
    assert again.status_code == 400 and "can't be cancelled" in again.json()["detail"]


@pytest.mark.parametrize("payload", [{}, {"thread": "nope"}, {"thread": "THREAD", "scheduled_for": "tomorrow"},
                                     {"thread": "THREAD", "scheduled_for": "2020-01-01T10:00:00Z"}])
def test_bad_input_is_400(world, api_login, payload):
    thread = call_thread(world.me, world.clinician)
    payload = {k: (str(thread.pk) if v == "THREAD" else v) for k, v in payload.items()}
    response = api_login(world.clinician).post(URL, payload, format="json")
    assert response.status_code == 400
    assert not VirtualVisitSession.objects.filter(thread=thread).exists()


def test_bad_filters_are_400(world, api_login):
    staff = api_login(world.clinician)
    assert staff.get(f"{URL}?status=ringingish").status_code == 400
    assert staff.get(f"{URL}?thread=x").status_code == 400


def test_gate(world, api_login, client):
    call = start_call(world.me, world.clinician)
    assert client.get(f"{URL}{call.pk}/").status_code in (401, 403)
    for outsider in (world.other_clinician, world.outsider):
        api = api_login(outsider)
        assert api.get(f"{URL}{call.pk}/").status_code == 404
        assert api.post(f"{URL}{call.pk}/join/").status_code == 404
        assert api.post(f"{URL}{call.pk}/cancel/").status_code == 404
        assert api.post(URL, {"thread": str(call.thread_id)}, format="json").status_code == 404
        assert api.get(URL).json()["count"] == 0
    lead = api_login(world.lead)  # in scope, not a participant
    assert lead.get(f"{URL}{call.pk}/").status_code == 200
    assert lead.post(f"{URL}{call.pk}/join/").status_code == 403
    patient = api_login(world.patient_user)
    assert patient.post(URL, {"thread": str(call.thread_id)}, format="json").status_code == 400
    assert patient.post(f"{URL}{call.pk}/cancel/").status_code == 400
    call.refresh_from_db()
    assert call.call_status == "ringing"


def test_visit_rooms_are_not_calls_here(world, api_login):
    from scheduling import telehealth
    from scheduling.models import Mode
    from scheduling.tests.factories import book

    visit = book(world.me, world.clinician, timezone.now() + timedelta(minutes=5), mode=Mode.VIRTUAL)
    session = telehealth.session_for(visit)
    api = api_login(world.clinician)
    assert api.get(f"{URL}{session.pk}/").status_code == 404
    assert api.get(URL).json()["count"] == 0
