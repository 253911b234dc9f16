"""Issue 21 item 11: confirm before destroying. Each destructive POST without confirm=yes
changes nothing and answers a page naming the thing; the pages offer the confirmation in
place (naming the thing); undo where cheap (reinstate a recommendation, restore a record)."""

from datetime import date, time

import pytest
from django.urls import reverse

from clinical.models import Recommendation
from clinical.recommendations import recommendation_add
from messaging import threads
from messaging.models import Message
from messaging.tests.factories import default_thread
from patients import care_team
from patients.models import CareTeamLink, Patient
from scheduling.models import Availability

pytestmark = pytest.mark.django_db


def _asks(response, *words):
    html = response.content.decode()
    assert response.status_code == 200 and 'name="confirm" value="yes"' in html
    for word in words:
        assert word in html, word
    return html


def test_retire_a_recommendation_asks_names_it_and_can_be_undone(login, world):
    rec = recommendation_add(patient=world.me, domain="stress", content="Box breathing twice a day",
                             actor=world.clinician)
    client = login(world.clinician)
    url = f"/patients/{world.me.pk}/recommendations/{rec.pk}/retire/"
    _asks(client.post(url), "Retire this recommendation?", "Box breathing twice a day")
    assert Recommendation.objects.get(pk=rec.pk).is_active
    tab = client.get(f"/patients/{world.me.pk}/recommendations/").content.decode()
    assert "Yes, retire “Box breathing" in tab
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert not Recommendation.objects.get(pk=rec.pk).is_active
    assert "Reinstate" in client.get(f"/patients/{world.me.pk}/recommendations/").content.decode()
    client.post(f"/patients/{world.me.pk}/recommendations/{rec.pk}/reinstate/")
    assert Recommendation.objects.get(pk=rec.pk).is_active
    assert login(world.other_clinician).post(f"/patients/{world.me.pk}/recommendations/{rec.pk}/reinstate/"
                                             ).status_code == 404


def test_archive_asks_names_the_patient_and_restore_undoes(login, world):
    target = world.cardiac_patients[1]
    client = login(world.clinician)
    url = f"/patients/{target.pk}/status/"
    _asks(client.post(url, {"action": "archive"}), target.full_name, "Restore record")
    assert Patient.objects.get(pk=target.pk).status != "archived"
    assert f"Yes, archive {target.full_name}" in client.get(f"/patients/{target.pk}/").content.decode()
    client.post(url, {"action": "archive", "confirm": "yes"})
    assert Patient.objects.get(pk=target.pk).status == "archived"
    client.post(url, {"action": "restore"})
    assert Patient.objects.get(pk=target.pk).status == "active"


def test_remove_availability_asks_and_names_the_block(login, world):
    staff = world.clinician.staff
    block = Availability.objects.create(project=world.project, program=world.cardiac, staff=staff,
                                        starts_on=date(2026, 1, 5), start_time=time(9), end_time=time(12),
                                        rrule="FREQ=WEEKLY;BYDAY=MO,WE", slot_minutes=30)
    client = login(world.clinician)
    url = reverse("schedule_availability_act", args=[block.pk, "delete"])
    _asks(client.post(url), "Remove this availability?", block.describe(), "pause it")
    assert Availability.objects.filter(pk=block.pk).exists()
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert not Availability.objects.filter(pk=block.pk).exists()


def test_delete_a_message_asks_and_quotes_it(login, world):
    thread = default_thread(world.me, world.clinician)
    message = threads.message_send(thread=thread, sender=world.patient_user, body="Please ignore my last note")
    client = login(world.patient_user)
    _asks(client.post(reverse("message_delete", args=[message.pk])), "Delete this message?",
          "Please ignore my last note")
    assert Message.objects.get(pk=message.pk).deleted_at is None


def test_withdraw_a_care_team_request_asks_and_names_the_clinician(login, world):
    link = care_team.care_team_request(patient=world.me, staff=world.clinician.staff, actor=world.patient_user)
    client = login(world.patient_user)
    _asks(client.post(f"/portal/care-team/{link.pk}/withdraw/"), "Withdraw your request?",
          world.clinician.get_full_name())
    assert CareTeamLink.objects.get(pk=link.pk).status == "requested"


def test_patient_withdrawing_a_visit_request_asks_first(login, world):
    from scheduling.models import VisitRequest

    client = login(world.patient_user)
    assert client.post("/portal/visits/request/", {"request_type": "SCHEDULED", "mode": "VIRTUAL",
                                                   "reason": "Palpitations"}).status_code == 302
    req = VisitRequest.objects.get(patient=world.me)
    page = client.get("/portal/visits/").content.decode()
    assert "Yes, withdraw the request of" in page  # offered in place, naming it
    url = f"/portal/requests/{req.pk}/cancel/"
    _asks(client.post(url), "Withdraw this request?", "Yes, withdraw it")
    req.refresh_from_db()
    assert req.status != "CANCELLED"
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    req.refresh_from_db()
    assert req.status == "CANCELLED"
