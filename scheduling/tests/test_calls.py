"""Video calls from a message thread (issue 19), through HTTP: start, ring, answer, end; missed by
timeout (task and sweeper, idempotent); cancel; a provider error → failed with its reason; join
links only for the two participants; every route gated (another program's or tenant's patient
404) and audited; bad input answers 400 and keeps what was typed."""

import threading
from datetime import timedelta
from http.server import ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from mahalo.models import AuditEvent, ProgramSetting
from messaging.models import Message, Notification
from scheduling import calls
from scheduling.models import VirtualVisitSession
from scheduling.tests.factories import call_thread, start_call
from scheduling.tests.test_telehealth import API_KEY, DailyStub

pytestmark = pytest.mark.django_db
JITSI = "https://video.example.test"


@pytest.fixture(autouse=True)
def _jitsi(settings):
    settings.DAILY_API_KEY = ""
    settings.TELEHEALTH_JITSI_BASE_URL = JITSI
    settings.TELEHEALTH_JITSI_APP_ID = settings.TELEHEALTH_JITSI_APP_SECRET = ""


@pytest.fixture
def daily(settings):
    DailyStub.calls, DailyStub.fail_rooms = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), DailyStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.DAILY_API_KEY = API_KEY
    settings.DAILY_API_BASE = f"http://127.0.0.1:{server.server_port}/v1"
    yield DailyStub
    server.shutdown()
    server.server_close()


def _system_lines(thread):
    return list(Message.objects.filter(thread=thread, sender_role="system").order_by("created_at")
                .values_list("body", flat=True))


def test_clinician_calls_patient_answers_and_the_thread_shows_the_duration(world, client):
    thread = call_thread(world.me, world.clinician)
    client.force_login(world.clinician)
    page = client.get(reverse("message_thread", args=[thread.pk]))
    assert page.status_code == 200 and b"Call Kai now" in page.content

    response = client.post(reverse("call_new", args=[thread.pk]), {"when": "now"})
    assert response.status_code == 302 and response["Location"].endswith(f"/messages/{thread.pk}/#calls")
    call = VirtualVisitSession.objects.get(thread=thread)
    assert call.call_status == "ringing" and call.started_by == world.clinician and call.visit is None
    assert call.room_url == f"{JITSI}/{call.room_name}" and call.ring_deadline > timezone.now()
    ring = Notification.objects.filter(recipient=world.patient_user, event_type="call_ringing")
    assert {n.channel for n in ring} == {"in_app"} and ring[0].urgent  # push only with a subscription
    assert ring[0].link == reverse("portal_call", args=[call.pk])
    assert AuditEvent.objects.filter(object_id=str(call.pk), metadata__what="call_ringing").exists()

    client.force_login(world.patient_user)
    portal = client.get(reverse("portal_call", args=[call.pk]))
    assert portal.status_code == 200 and b"is calling you" in portal.content
    assert b"is calling you" in client.get(reverse("portal_message_thread", args=[thread.pk])).content
    joined = client.post(reverse("call_act", args=[call.pk, "join"]))
    assert joined.status_code == 200 and joined.context["room_url"] == f"{JITSI}/{call.room_name}"
    assert joined["Cache-Control"] == "no-store"
    call.refresh_from_db()
    assert call.call_status == "active" and call.started_at and call.patient_joined_at

    VirtualVisitSession.objects.filter(pk=call.pk).update(started_at=timezone.now() - timedelta(minutes=12, seconds=5))
    client.force_login(world.clinician)
    assert client.post(reverse("call_act", args=[call.pk, "end"])).status_code == 302
    call.refresh_from_db()
    assert call.call_status == "ended" and call.ended_by == world.clinician
    lines = _system_lines(thread)
    assert lines[0].endswith("started a video call.") and "joined the video call" in lines[1]
    assert lines[-1] == "Video call ended · 12 min 05 s."
    assert b"Video call ended" in client.get(reverse("message_thread", args=[thread.pk])).content


def test_join_link_only_for_the_two_participants(world, client):
    call = start_call(world.me, world.clinician)
    client.force_login(world.lead)  # sees the patient, is not in the call
    response = client.post(reverse("call_act", args=[call.pk, "join"]))
    assert response.status_code == 302 and JITSI not in response["Location"]
    assert b"Only the clinician who started this call" in client.get(response["Location"], follow=True).content
    call.refresh_from_db()
    assert call.call_status == "ringing" and call.patient_joined_at is None
    client.force_login(world.clinician)
    assert client.post(reverse("call_act", args=[call.pk, "join"])).context["room_url"].startswith(JITSI)
    call.refresh_from_db()
    assert call.call_status == "ringing"  # the caller opening the room doesn't answer it


def test_unanswered_call_is_missed_once_by_the_task_or_the_sweeper(world):
    call = start_call(world.me, world.clinician)
    assert calls.call_expire(call.pk) == "not_yet"  # an early (eager) countdown changes nothing
    later = call.ring_deadline + timedelta(seconds=1)
    assert calls.sweep_unanswered(later) == 1
    assert calls.call_expire(call.pk, later) == "missed" and calls.sweep_unanswered(later) == 0
    call.refresh_from_db()
    assert call.call_status == "missed" and call.ended_at
    assert _system_lines(call.thread).count("Missed video call: no answer.") == 1
    assert Notification.objects.filter(recipient=world.clinician, event_type="call_missed").count() == 1


def test_ring_timeout_is_a_program_setting(world):
    ProgramSetting.objects.create(program=world.cardiac, key="telehealth_ring_timeout_seconds", value="90")
    now = timezone.now()
    call = start_call(world.me, world.clinician, now=now)
    assert call.ring_deadline == now + timedelta(seconds=90)


def test_caller_cancels_before_the_answer_and_nobody_else_can(world, client):
    call = start_call(world.me, world.clinician)
    client.force_login(world.patient_user)
    client.post(reverse("call_act", args=[call.pk, "cancel"]))
    call.refresh_from_db()
    assert call.call_status == "ringing"
    client.force_login(world.clinician)
    client.post(reverse("call_act", args=[call.pk, "cancel"]))
    call.refresh_from_db()
    assert call.call_status == "canceled" and call.ring_deadline is None
    assert calls.sweep_unanswered(timezone.now() + timedelta(hours=1)) == 0
    assert "Video call cancelled." in _system_lines(call.thread)
    assert Notification.objects.filter(recipient=world.patient_user, event_type="call_cancelled").exists()
    client.force_login(world.patient_user)
    response = client.post(reverse("call_act", args=[call.pk, "join"]))
    assert response["Location"] == reverse("portal_call", args=[call.pk])
    assert b"Call cancelled" in client.get(response["Location"]).content


def test_provider_error_fails_the_call_with_the_reason(world, daily, client):
    daily.fail_rooms = True
    thread = call_thread(world.me, world.clinician)
    client.force_login(world.clinician)
    client.post(reverse("call_new", args=[thread.pk]), {"when": "now"})
    call = VirtualVisitSession.objects.get(thread=thread)
    assert call.call_status == "failed" and "Daily answered 500" in call.last_error and call.ended_at
    assert not Notification.objects.filter(event_type="call_ringing").exists()
    assert "couldn't connect" in _system_lines(thread)[-1]
    assert b"Daily answered 500" in client.get(reverse("call_detail", args=[call.pk])).content


def test_daily_call_lifecycle_against_the_stub(world, daily, client):
    call = start_call(world.me, world.clinician)
    room = next(c for c in daily.calls if c["path"] == "/v1/rooms")
    assert room["body"]["privacy"] == "private" and room["body"]["name"] == call.room_name
    assert "enable_recording" not in room["body"]["properties"]
    client.force_login(world.patient_user)
    url = client.post(reverse("call_act", args=[call.pk, "join"])).context["room_url"]
    assert url.startswith(f"https://mahalo.daily.co/{call.room_name}?t=tok-")
    token = [c for c in daily.calls if c["path"] == "/v1/meeting-tokens"][-1]["body"]["properties"]
    assert token["is_owner"] is False and token["user_id"] == str(world.patient_user.pk)
    client.post(reverse("call_act", args=[call.pk, "end"]))
    call.refresh_from_db()
    assert call.call_status == "ended"


def test_schedule_a_call_then_start_it(world, client):
    thread = call_thread(world.me, world.clinician)
    client.force_login(world.clinician)
    day = (timezone.localdate(timezone=world.me.tz) + timedelta(days=2)).isoformat()
    client.post(reverse("call_new", args=[thread.pk]), {"when": "later", "date": day, "time": "14:30"})
    call = VirtualVisitSession.objects.get(thread=thread)
    assert call.call_status == "scheduled" and call.room_url == ""
    assert timezone.localtime(call.scheduled_for, world.me.tz).strftime("%Y-%m-%d %H:%M") == f"{day} 14:30"
    assert Notification.objects.filter(recipient=world.patient_user, event_type="call_scheduled").exists()
    client.post(reverse("call_act", args=[call.pk, "ring"]))
    call.refresh_from_db()
    assert call.call_status == "ringing" and call.room_url


@pytest.mark.parametrize("data, error", [
    ({"when": "later", "date": "", "time": "10:00"}, b"Enter a date."),
    ({"when": "later", "date": "2026-13-40", "time": "10:00"}, b"Enter a date."),
    ({"when": "later", "date": "2020-01-01", "time": "nope"}, b"Enter a time"),
    ({"when": "later", "date": "2020-01-01", "time": "10:00"}, b"Pick a time in the future"),
    ({"when": "later", "date": "2099-01-01", "time": "10:00"}, b"up to 60 days ahead"),
])
def test_bad_schedule_answers_400_and_keeps_the_input(world, client, data, error):
    thread = call_thread(world.me, world.clinician)
    client.force_login(world.clinician)
    response = client.post(reverse("call_new", args=[thread.pk]), data)
    assert response.status_code == 400 and error in response.content
    assert f'value="{data["time"]}"'.encode() in response.content
    assert not VirtualVisitSession.objects.filter(thread=thread).exists()


def test_one_ringing_call_per_thread(world, client):
    call = start_call(world.me, world.clinician)
    client.force_login(world.clinician)
    response = client.post(reverse("call_new", args=[call.thread_id]), {"when": "now"})
    assert response.status_code == 400 and b"already ringing" in response.content
    assert VirtualVisitSession.objects.filter(thread=call.thread).count() == 1


def test_patient_without_portal_login_cannot_be_called(world, client):
    patient = world.cardiac_patients[1]
    thread = call_thread(patient, world.clinician)
    client.force_login(world.clinician)
    assert b"has no portal login" in client.get(reverse("message_thread", args=[thread.pk])).content
    assert client.post(reverse("call_new", args=[thread.pk]), {"when": "now"}).status_code == 400


def test_every_route_is_gated(world, client):
    call = start_call(world.me, world.clinician)
    thread = call.thread
    routes = [("get", reverse("call_new", args=[thread.pk])), ("post", reverse("call_new", args=[thread.pk])),
              ("get", reverse("call_thread_panel", args=[thread.pk])), ("get", reverse("call_detail", args=[call.pk])),
              *[("post", reverse("call_act", args=[call.pk, a])) for a in ("join", "ring", "cancel", "end")],
              ("get", reverse("portal_call", args=[call.pk]))]
    for method, url in routes:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for outsider in (world.other_clinician, world.outsider):  # another program; another tenant
        client.force_login(outsider)
        for method, url in routes:
            assert getattr(client, method)(url).status_code == 404, (outsider, url)
    assert AuditEvent.objects.filter(action="denied", object_id=str(call.pk)).exists()
    other_patient_user = world.metabolic_patients[0]
    other_patient_user.user = type(world.patient_user).objects.create_user(email="other@p.test", password="x")
    other_patient_user.save()
    client.force_login(other_patient_user.user)
    for method, url in routes:
        assert getattr(client, method)(url).status_code == 404, url
    client.force_login(world.clinician)
    assert client.post(reverse("call_act", args=[call.pk, "dance"])).status_code == 404
    call.refresh_from_db()
    assert call.call_status == "ringing"


def test_staff_cannot_use_the_portal_page_and_patients_not_the_staff_pages(world, client):
    call = start_call(world.me, world.clinician)
    client.force_login(world.clinician)
    assert client.get(reverse("portal_call", args=[call.pk])).status_code == 404
    client.force_login(world.patient_user)
    assert client.get(reverse("call_detail", args=[call.pk])).status_code == 404
    assert client.post(reverse("call_new", args=[call.thread_id]), {"when": "now"}).status_code == 404


def test_visit_sessions_keep_working_and_name_who_started_them(world):
    from scheduling import telehealth
    from scheduling.models import Mode
    from scheduling.tests.factories import book

    visit = book(world.me, world.clinician, timezone.now() + timedelta(minutes=5), mode=Mode.VIRTUAL)
    session = telehealth.session_for(visit)
    assert session.started_by == world.clinician and session.thread is None
    assert session.scheduled_for == visit.starts_at


def test_calls_on_the_chart_timeline(world, client):
    answered = start_call(world.me, world.clinician)
    calls.call_join(call=answered, user=world.patient_user)
    answered.refresh_from_db()
    calls.call_end(call=answered, user=world.clinician, now=answered.started_at + timedelta(minutes=7))
    client.force_login(world.clinician)
    page = client.get(reverse("patient_timeline", args=[world.me.pk])).content.decode()
    assert "Video call ended after 7 min 00 s" in page
    client.force_login(world.other_clinician)
    assert client.get(reverse("patient_timeline", args=[world.me.pk])).status_code == 404


def test_demo_calls_are_seeded_once(world):
    from mahalo.models import User
    from scheduling.demo import on_demo_seeded_calls

    User.objects.create_superuser(email="admin@demo.mahalo.health", password="x")
    for _ in range(2):
        on_demo_seeded_calls(None, demo=world.project, kai=world.me, cardio=world.clinician)
    rows = VirtualVisitSession.objects.filter(thread__patient=world.me)
    assert sorted(rows.values_list("call_status", flat=True)) == ["ended", "missed", "scheduled"]
    assert rows.get(call_status="ended").duration == timedelta(minutes=14)
    from mahalo.models import StaffMember

    member = StaffMember.objects.get(user=world.clinician)
    assert member.is_verified and "simulated" in member.verification_note
