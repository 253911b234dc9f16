"""In a real browser: a patient sends a message with an attachment from the portal,
and the clinician, with the thread open, sees it arrive without reloading."""

import io

import pytest
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from mahalo.models import StaffMember
from messaging import threads
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def test_patient_message_with_attachment_appears_for_clinician(live_server, browser_page, world, settings, tmp_path):
    from allauth.mfa.models import Authenticator

    settings.MEDIA_ROOT = str(tmp_path)
    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    thread = threads.thread_default_for(patient=world.me, staff=StaffMember.objects.get(user=world.clinician),
                                        actor=world.clinician)
    threads.message_send(thread=thread, sender=world.clinician, body="How are you feeling today?")

    # The clinician opens the thread and keeps it open.
    clinician = browser_page
    sign_in(clinician, live_server, world.clinician, world.password, secret)
    clinician.goto(f"{live_server.url}/messages/{thread.pk}/")
    expect(clinician.locator(".msg-body", has_text="How are you feeling today?")).to_be_visible()

    # The patient, in another browser context, replies with a photo.
    context = clinician.context.browser.new_context(viewport={"width": 390, "height": 844})
    patient = context.new_page()
    try:
        patient.goto(f"{live_server.url}/accounts/login/")
        patient.get_by_label("Email").fill(world.patient_user.email)
        patient.get_by_label("Password").fill(world.password)
        patient.get_by_role("button", name="Sign in").click()
        patient.wait_for_url(lambda url: "/accounts/login/" not in url)
        patient.goto(f"{live_server.url}/portal/messages/")
        patient.get_by_role("link", name=world.clinician.get_full_name()).click()
        patient.wait_for_url(f"{live_server.url}/portal/messages/{thread.pk}/")
        patient.get_by_role("textbox", name="Your message").fill("Much better, here is my wound photo")
        patient.locator("#id_files").set_input_files(
            files=[{"name": "wound.png", "mimeType": "image/png", "buffer": png_bytes()}])
        patient.get_by_role("button", name="Send").click()
        patient.wait_for_url(f"{live_server.url}/portal/messages/{thread.pk}/**")
        expect(patient.locator(".msg-body", has_text="Much better, here is my wound photo")).to_be_visible()
    finally:
        context.close()

    # No reload on the clinician's side: the poller brings it in.
    url_before = clinician.url
    expect(clinician.locator(".msg-body", has_text="Much better, here is my wound photo")).to_be_visible(
        timeout=10_000)
    expect(clinician.get_by_role("link", name="wound.png")).to_be_visible()
    assert clinician.url == url_before
    assert axe_violations(clinician) == []
    # The patient's message shows as read for the clinician's open thread.
    from messaging.models import Message

    sent = Message.objects.get(body="Much better, here is my wound photo")
    assert sent.kind == "mixed" and sent.attachments.count() == 1
