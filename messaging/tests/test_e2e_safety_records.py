"""In a real browser (issue 21 item 4): the patient's message, once the clinician has read
and answered it, can no longer be edited or deleted; an unread one that the patient
retracts stays openable for staff (audited). Axe clean. Screenshots in var/e2e/."""

import os

import pytest
from playwright.sync_api import expect

from conftest import axe_violations, enrol_totp
from mahalo.models import AuditEvent, StaffMember
from messaging import threads
from patients.tests.test_e2e_chart import sign_in
from scheduling.tests.test_e2e_booking import portal_sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "var", "e2e")


def test_read_messages_are_records(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    convo = threads.thread_default_for(patient=world.me, staff=StaffMember.objects.get(user=world.clinician),
                                       actor=world.clinician)
    read = threads.message_send(thread=convo, sender=world.patient_user, body="BP 188/126 with a headache")
    threads.mark_read(thread=convo, user=world.clinician)
    threads.message_send(thread=convo, sender=world.clinician, body="Please call 911 if the headache is severe.")
    unread = threads.message_send(thread=convo, sender=world.patient_user, body="Sorry, wrong number typed")
    page = browser_page
    portal_sign_in(page, live_server, world.patient_user, world.password)
    page.goto(f"{live_server.url}/portal/messages/{convo.pk}/")
    expect(page.locator(f"#m-{read.pk}")).to_contain_text("part of the record")
    expect(page.locator(f"#m-{read.pk}").get_by_text("Edit or delete")).to_have_count(0)
    mine = page.locator(f"#m-{unread.pk}")
    mine.get_by_text("Edit or delete").click()
    page.once("dialog", lambda d: d.accept())
    mine.get_by_role("button", name="Yes, delete this message").click()
    expect(page.locator(f"#m-{unread.pk}")).to_contain_text("deleted by its author")
    assert axe_violations(page) == []
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "messages-portal-1440.png"), full_page=True)

    page.context.clear_cookies()
    Authenticator.objects.filter(user=world.clinician).delete()
    sign_in(page, live_server, world.clinician, world.password, enrol_totp(world.clinician))
    page.goto(f"{live_server.url}/messages/{convo.pk}/")
    expect(page.locator(f"#m-{read.pk}")).to_contain_text("BP 188/126")
    page.get_by_role("link", name="View the retracted text").click()
    expect(page.locator("main")).to_contain_text("Sorry, wrong number typed")
    assert AuditEvent.objects.filter(actor=world.clinician, metadata__event="message_record_read").exists()
    assert axe_violations(page) == []
    page.screenshot(path=os.path.join(SHOTS, "messages-record-1440.png"), full_page=True)
