"""Video rooms: Jitsi (with and without JWT) and Daily's REST API against a local stub
server speaking its protocol; join links only for the visit's two participants and
only inside the join window."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from django.utils import timezone

from scheduling import telehealth
from scheduling.models import Mode, VirtualVisitSession, Visit
from scheduling.tests.factories import book

pytestmark = pytest.mark.django_db
API_KEY = "test-daily-key-123"


class DailyStub(BaseHTTPRequestHandler):
    """POST /rooms and POST /meeting-tokens as Daily answers them (docs.daily.co/reference/rest-api)."""

    calls: list = []
    fail_rooms = False

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        DailyStub.calls.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body,
                                "content_type": self.headers.get("Content-Type")})
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._send(401, {"error": "authentication-error", "info": "bad API key"})
        if self.path == "/v1/rooms":
            if DailyStub.fail_rooms:
                return self._send(500, {"error": "server-error"})
            name = body["name"]
            return self._send(200, {"id": "5e3cf703-5547-47d6-a371-37b1f0b4427f", "name": name, "api_created": True,
                                    "privacy": body.get("privacy", "public"),
                                    "url": f"https://mahalo.daily.co/{name}", "created_at": "2026-01-25T23:49:42.000Z",
                                    "config": body.get("properties", {})})
        if self.path == "/v1/meeting-tokens":
            return self._send(200, {"token": "tok-" + body["properties"]["user_id"][:8]})
        if self.path.startswith("/v1/rooms/"):
            return self._send(200, {"name": self.path.rsplit("/", 1)[-1], "config": body.get("properties", {})})
        return self._send(404, {"error": "not-found"})

    def _send(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def daily(settings):
    DailyStub.calls, DailyStub.fail_rooms = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), DailyStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.DAILY_API_KEY = API_KEY
    settings.DAILY_API_BASE = f"http://127.0.0.1:{server.server_port}/v1"
    yield DailyStub
    server.shutdown()
    server.server_close()


_CAPTURE: dict = {}


@pytest.fixture(autouse=True)
def _commit_hooks(django_capture_on_commit_callbacks):
    # The room is made after the booking commits: run those hooks as a real commit would.
    _CAPTURE["fn"] = django_capture_on_commit_callbacks
    yield
    _CAPTURE.clear()


def _virtual(world, starts_in=timedelta(minutes=5), **kw):
    with _CAPTURE["fn"](execute=True):
        return book(world.me, world.clinician, timezone.now() + starts_in, mode=Mode.VIRTUAL, **kw)


def test_daily_room_is_made_with_the_api_key_and_a_private_room(world, daily):
    visit = _virtual(world)
    session = VirtualVisitSession.objects.get(visit=visit)
    assert session.provider == "daily"
    assert session.room_url == f"https://mahalo.daily.co/{session.room_name}"  # made on commit by the task
    room_call = next(c for c in daily.calls if c["path"] == "/v1/rooms")
    assert room_call["auth"] == f"Bearer {API_KEY}" and room_call["content_type"] == "application/json"
    assert room_call["body"]["name"] == session.room_name and room_call["body"]["privacy"] == "private"
    props = room_call["body"]["properties"]
    assert props["exp"] == int((visit.ends_at + timedelta(minutes=30)).timestamp())
    assert props["nbf"] == int((visit.starts_at - timedelta(minutes=15)).timestamp())
    assert "enable_recording" not in props


def test_daily_join_gets_a_meeting_token_per_participant(world, daily):
    visit = _virtual(world)
    url = telehealth.join(visit=visit, user=world.patient_user)
    token_call = [c for c in daily.calls if c["path"] == "/v1/meeting-tokens"][-1]
    props = token_call["body"]["properties"]
    session = VirtualVisitSession.objects.get(visit=visit)
    assert props["room_name"] == session.room_name and props["is_owner"] is False
    assert props["user_id"] == str(world.patient_user.pk)
    assert parse_qs(urlparse(url).query)["t"] == ["tok-" + str(world.patient_user.pk)[:8]]
    telehealth.join(visit=visit, user=world.clinician)
    assert [c for c in daily.calls if c["path"] == "/v1/meeting-tokens"][-1]["body"]["properties"]["is_owner"]


def test_daily_failure_is_recorded_and_retried_on_join(world, daily):
    daily.fail_rooms = True
    visit = _virtual(world)
    session = VirtualVisitSession.objects.get(visit=visit)
    assert session.room_url == "" and session.call_status == "failed" and "500" in session.last_error
    with pytest.raises(telehealth.TelehealthError):
        telehealth.join(visit=visit, user=world.patient_user)
    daily.fail_rooms = False
    assert telehealth.join(visit=visit, user=world.patient_user).startswith("https://mahalo.daily.co/")
    session.refresh_from_db()
    assert session.room_url and session.last_error == ""


def test_recording_flag_reaches_daily(world, daily):
    visit = _virtual(world, starts_in=timedelta(hours=2))
    telehealth.set_recording(visit=visit, enabled=True, actor=world.clinician)
    update = daily.calls[-1]
    assert update["path"].startswith("/v1/rooms/") and update["body"]["properties"]["enable_recording"] == "cloud"
    assert VirtualVisitSession.objects.get(visit=visit).recording_enabled


def test_jitsi_is_the_no_key_default(world, settings):
    settings.DAILY_API_KEY = ""
    visit = _virtual(world)
    session = VirtualVisitSession.objects.get(visit=visit)
    assert session.provider == "jitsi"
    assert session.room_url == f"https://meet.jit.si/{session.room_name}"
    assert len(session.room_name) > 20  # unguessable
    assert telehealth.join(visit=visit, user=world.patient_user) == session.room_url


def test_jitsi_jwt_for_self_hosted_servers(world, settings):
    settings.DAILY_API_KEY = ""
    settings.TELEHEALTH_JITSI_BASE_URL = "https://video.example.org"
    settings.TELEHEALTH_JITSI_APP_ID = "mahalo"
    settings.TELEHEALTH_JITSI_APP_SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret"
    visit = _virtual(world)
    url = telehealth.join(visit=visit, user=world.clinician)
    token = parse_qs(urlparse(url).query)["jwt"][0]
    claims = jwt.decode(token, "s3cret-s3cret-s3cret-s3cret-s3cret", algorithms=["HS256"], audience="jitsi")
    session = VirtualVisitSession.objects.get(visit=visit)
    assert claims["iss"] == "mahalo" and claims["sub"] == "video.example.org" and claims["room"] == session.room_name
    assert claims["context"]["user"]["moderator"] is True
    assert claims["exp"] == int((visit.ends_at + timedelta(minutes=30)).timestamp())


def test_only_the_two_participants_join_and_only_in_the_window(world, settings):
    settings.DAILY_API_KEY = ""
    soon = _virtual(world, starts_in=timedelta(minutes=10))
    for outsider in (world.lead, world.other_clinician, world.outsider):
        with pytest.raises(PermissionError, match="Only the patient and the clinician"):
            telehealth.join(visit=soon, user=outsider)
    later = book(world.cardiac_patients[1], world.clinician, timezone.now() + timedelta(hours=3), mode=Mode.VIRTUAL)
    with pytest.raises(PermissionError, match="opens"):
        telehealth.join(visit=later, user=world.clinician)
    long_ago = timezone.now() - timedelta(hours=2)
    with pytest.raises(PermissionError, match="closed"):
        telehealth.join(visit=later, user=world.clinician, now=later.ends_at + timedelta(minutes=31))
    assert telehealth.join_state(world.clinician, later, now=later.starts_at - timedelta(minutes=14))[0]
    assert not telehealth.join_state(world.clinician, later, now=long_ago)[0]


def test_joining_moves_the_session_and_the_visit(world, settings):
    settings.DAILY_API_KEY = ""
    visit = _virtual(world)
    telehealth.join(visit=visit, user=world.patient_user)
    session = VirtualVisitSession.objects.get(visit=visit)
    visit.refresh_from_db()
    assert (session.status, session.call_status) == ("WAITING", "ringing") and session.patient_joined_at
    assert visit.status == Visit.Status.CHECKED_IN
    telehealth.join(visit=visit, user=world.clinician)
    session.refresh_from_db()
    visit.refresh_from_db()
    assert (session.status, session.call_status) == ("ACTIVE", "active") and session.started_at
    assert visit.status == Visit.Status.IN_PROGRESS
    from scheduling import services

    services.visit_transition(visit=visit, to=Visit.Status.COMPLETED, actor=world.clinician)
    session.refresh_from_db()
    assert (session.status, session.call_status) == ("ENDED", "ended") and session.ended_at


@pytest.mark.parametrize("end_as, call_status", [("CANCELLED", "canceled"), ("NO_SHOW", "missed")])
def test_call_outcome_follows_a_visit_that_never_happened(world, settings, end_as, call_status):
    from scheduling import services

    settings.DAILY_API_KEY = ""
    visit = _virtual(world, starts_in=timedelta(minutes=-1))
    services.visit_transition(visit=visit, to=end_as, actor=world.clinician, reason="No answer")
    session = VirtualVisitSession.objects.get(visit=visit)
    assert (session.status, session.call_status) == ("ENDED", call_status)
    with pytest.raises(PermissionError):
        telehealth.join(visit=visit, user=world.patient_user)


def test_in_person_visits_have_no_room(world):
    visit = book(world.me, world.clinician, timezone.now() + timedelta(minutes=5))
    assert not VirtualVisitSession.objects.filter(visit=visit).exists()
    with pytest.raises(PermissionError, match="in-person"):
        telehealth.join(visit=visit, user=world.patient_user)
