"""In a real browser (Debian's Chromium): a clinician calls a patient from the thread at 1440 px,
the patient sees it ring on a 375 px phone and answers (into a local stand-in for the Jitsi room),
the clinician sees it answered and hangs up, and both threads show the call's duration.
axe-core (0 serious/critical) and no sideways scroll on the phone."""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from patients.tests.test_e2e_chart import sign_in
from scheduling.models import VirtualVisitSession
from scheduling.tests.factories import call_thread

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class JitsiRoom(BaseHTTPRequestHandler):
    """A Jitsi Meet server answers GET /<room> with the meeting page; this one says which room."""

    rooms: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        JitsiRoom.rooms.append(self.path)
        body = (f"<!doctype html><html lang='en'><head><title>Video room</title></head><body><main>"
                f"<h1>Video room {self.path.strip('/')}</h1></main></body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def jitsi(settings):
    JitsiRoom.rooms = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), JitsiRoom)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.DAILY_API_KEY = ""
    settings.TELEHEALTH_JITSI_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.TELEHEALTH_JITSI_APP_ID = settings.TELEHEALTH_JITSI_APP_SECRET = ""
    yield JitsiRoom
    server.shutdown()
    server.server_close()


def shot(page, name):
    folder = os.environ.get("E2E_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def test_call_from_the_thread_rings_on_the_phone_and_ends_with_its_duration(live_server, browser_page, world, jitsi):
    from allauth.mfa.models import Authenticator

    thread = call_thread(world.me, world.clinician)
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    staff_page = browser_page
    staff_page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(staff_page, live_server, world.clinician, world.password, secret)
    staff_page.goto(f"{live_server.url}/messages/{thread.pk}/")
    assert axe_violations(staff_page) == []
    staff_page.get_by_role("button", name="Call Kai now").click()
    expect(staff_page.get_by_text("Ringing Kai…")).to_be_visible()
    expect(staff_page.locator(".msg-system").last).to_contain_text("started a video call")
    assert axe_violations(staff_page) == []
    shot(staff_page, "calls-staff-1440-ringing.png")

    phone = staff_page.context.browser.new_context(viewport={"width": 375, "height": 812})
    patient_page = phone.new_page()
    patient_page.set_default_timeout(20_000)
    try:
        patient_page.goto(f"{live_server.url}/portal/messages/{thread.pk}/")
        patient_page.get_by_label("Email").fill(world.patient_user.email)
        patient_page.get_by_label("Password").fill(world.password)
        patient_page.get_by_role("button", name="Sign in").click()
        patient_page.wait_for_url(f"{live_server.url}/portal/messages/{thread.pk}/")
        expect(patient_page.locator("#calls")).to_contain_text("is calling you")
        assert patient_page.evaluate("document.documentElement.scrollWidth") <= 375
        assert axe_violations(patient_page) == []
        shot(patient_page, "calls-portal-375-ringing.png")
        patient_page.get_by_role("button", name="Answer: join video call").click()
        expect(patient_page.get_by_role("heading", name="Video room")).to_be_visible()
        call = VirtualVisitSession.objects.get(thread=thread)
        assert f"/{call.room_name}" in jitsi.rooms
        assert call.call_status == "active" and call.started_at

        # The clinician's panel polls: the call shows as answered without a reload.
        expect(staff_page.get_by_text("In progress")).to_be_visible()
        shot(staff_page, "calls-staff-1440-active.png")
        staff_page.get_by_role("button", name="End call").click()
        expect(staff_page.locator(".msg-system").last).to_contain_text("Video call ended ·")
        call.refresh_from_db()
        assert call.call_status == "ended" and call.duration is not None
        assert axe_violations(staff_page) == []
        shot(staff_page, "calls-staff-1440-ended.png")

        patient_page.goto(f"{live_server.url}/portal/messages/{thread.pk}/")
        expect(patient_page.locator(".msg-system").last).to_contain_text("Video call ended ·")
        assert patient_page.evaluate("document.documentElement.scrollWidth") <= 375
        assert axe_violations(patient_page) == []
        shot(patient_page, "calls-portal-375-ended.png")
    finally:
        phone.close()
