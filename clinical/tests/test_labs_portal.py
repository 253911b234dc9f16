"""Lab results in the portal (issue 16): a clinician releases results from the Labs tab; the patient
sees released results only, with the reference range and plain words for in or out of range."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinical import labs
from clinical.models import BloodTest
from mahalo.models import AuditEvent
from messaging.models import Notification

pytestmark = pytest.mark.django_db


def _result(name, value, unit, low, high, hours=2):
    return labs.ResultIn(test_name=name, value=value, unit=unit, reference_low=low, reference_high=high,
                         recorded_at=timezone.now() - timedelta(hours=hours))


def test_only_released_results_reach_the_portal(world, login):
    me = world.me
    labs.lab_results_enter(patient=me, actor=world.clinician, results=[_result("Potassium", 3.1, "mmol/L", 3.5, 5.1)])
    p = login(world.patient_user)
    page = p.get("/portal/labs/")
    assert page.status_code == 200 and "Potassium" not in page.content.decode()  # not released yet
    c = login(world.clinician)
    tab = c.get(f"/patients/{me.pk}/labs/").content.decode()
    assert "Release 1 new result to the patient" in tab and "Not released" in tab
    assert c.post(f"/patients/{me.pk}/labs/", {"action": "release"}).status_code == 302
    row = BloodTest.objects.get()
    assert row.released_by == world.clinician and row.released_at is not None
    assert AuditEvent.objects.filter(metadata__event="lab_results_release", patient=me).exists()
    assert Notification.objects.filter(recipient=world.patient_user, event_type="lab_results_released").exists()
    # A result entered later is not shown until it is released too.
    labs.lab_results_enter(patient=me, actor=world.clinician, results=[_result("Sodium", 140, "mmol/L", 135, 145, 1)])
    body = login(world.patient_user).get("/portal/labs/").content.decode()
    assert "Potassium" in body and "3.1" in body and "Below the reference range" in body and "3.5 to 5.1" in body
    assert "Sodium" not in body
    assert AuditEvent.objects.filter(actor=world.patient_user, metadata__page="labs").exists()


def test_releasing_is_staff_only_and_gated(world, login, client):
    patient = world.cardiac_patients[1]
    labs.lab_results_enter(patient=patient, actor=world.clinician, results=[_result("TSH", 2.0, "mIU/L", 0.4, 4.0)])
    assert login(world.other_clinician).post(f"/patients/{patient.pk}/labs/", {"action": "release"}).status_code \
        == 404
    assert login(world.dietitian).post(f"/patients/{patient.pk}/labs/", {"action": "release"}).status_code in (403,
                                                                                                              404)
    assert BloodTest.objects.get().released_at is None
    # Another patient's released result never shows in my portal.
    login(world.clinician).post(f"/patients/{patient.pk}/labs/", {"action": "release"})
    assert BloodTest.objects.get().released_at is not None
    assert "TSH" not in login(world.patient_user).get("/portal/labs/").content.decode()
    assert login(world.clinician).get("/portal/labs/").status_code == 404  # staff: not a portal user
    client.logout()
    assert client.get("/portal/labs/").status_code == 302
