"""The portal home (issue 21 item 10): what matters today, assembled from the cards other apps
register (`patients.shell.register_portal_section`): next visit, latest readings with their
meaning, unread messages, recommendations. Only the patient's own data, over HTTP."""

from datetime import timedelta

import pytest
from django.template import Template
from django.utils import timezone

from clinical.tests.factories import RecommendationFactory
from mahalo.models import AuditEvent, StaffMember
from messaging.tests.factories import default_thread
from patients import shell
from patients.care_team import care_team_add
from scheduling.tests.factories import book, future

pytestmark = pytest.mark.django_db


def reading(patient, **overrides):
    local = (timezone.now() - timedelta(minutes=3)).astimezone(patient.program.tz)
    data = {"metric": "blood_pressure", "value": "128", "value2": "78", "unit": "mmHg", "setting": "home",
            "glucose_context": "fasting", "effective_at": local.strftime("%Y-%m-%dT%H:%M"), "note": ""}
    data.update(overrides)
    return data


def test_login_required_and_staff_get_404(client, login, world):
    assert client.get("/portal/").status_code == 302
    assert login(world.clinician).get("/portal/").status_code == 404


def test_empty_home_says_what_to_do(login, world):
    body = login(world.patient_user).get("/portal/").content.decode()
    assert "Your next visit" in body and "No visit booked." in body and "Book or request a visit" in body
    assert "Your latest readings" in body and "No readings yet." in body
    assert "No unread messages." in body
    assert "From your care team" not in body  # no recommendations: the card is left out


def test_home_shows_today_from_every_registered_card(login, world):
    me = world.me
    care_team_add(patient=me, staff=StaffMember.objects.get(user=world.clinician), actor=world.lead)
    visit = book(me, world.clinician, future(days=2, hour=10, tz=me.program.tz))
    client = login(world.patient_user)
    assert client.post("/portal/vitals/", reading(me)).status_code == 302
    weight = reading(me, metric="weight", value="81.5", value2="", unit="kg")
    assert client.post("/portal/vitals/", weight).status_code == 302
    default_thread(me, world.clinician, body="Your readings look steady this week.")
    RecommendationFactory(patient=me, content="Walk 20 minutes after lunch.", created_by=world.clinician)

    body = client.get("/portal/").content.decode()
    assert f"/portal/visits/{visit.pk}/" in body and world.clinician.get_full_name() in body
    assert "128/78" in body and "81.5" in body
    assert "vt-chip" in body  # each reading says what it means
    assert "1 unread message" in body and "Your readings look steady this week." in body
    assert "Walk 20 minutes after lunch." in body
    # In the order the apps registered them: visit, readings, messages, recommendations.
    order = [body.index(h) for h in ("Your next visit", "Your latest readings", "ph-msg-h", "From your care team")]
    assert order == sorted(order)


def test_home_shows_only_my_own_data(login, world):
    other = world.cardiac_patients[1]
    RecommendationFactory(patient=other, content="Someone else's advice.")
    book(other, world.clinician, future(days=1, hour=9, tz=other.program.tz))
    body = login(world.patient_user).get("/portal/").content.decode()
    assert "Someone else" not in body and "No visit booked." in body


def test_reading_reads_on_home_are_audited(login, world):
    login(world.patient_user).get("/portal/")
    assert AuditEvent.objects.filter(actor=world.patient_user, resource="clinical", action="read",
                                     metadata__page="home").exists()


def test_a_later_app_adds_a_card_through_the_registry(login, world):
    card = Template("<section class='card'><h2>Today's doses</h2>{{ section.n }} left</section>")
    shell.register_portal_section(shell.PortalSection("doses", 15, card, lambda request, patient: {"n": 2}))
    hidden = shell.register_portal_section(shell.PortalSection("nothing", 16, card, lambda r, p: None))
    try:
        body = login(world.patient_user).get("/portal/").content.decode()
    finally:
        shell.PORTAL_HOME.pop("doses")
        shell.PORTAL_HOME.pop(hidden.key)
    assert "Today's doses" in body and "2 left" in body and body.count("Today's doses") == 1
