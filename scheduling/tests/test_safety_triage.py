"""Issue 21 item 3: untriaged is not routine. A new request has no severity, shows as
Untriaged and sorts first (oldest first); the triage form pre-selects nothing; words
that often signal urgency flag it for immediate review (a program setting; decision
support, shown as such)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mahalo.models import AuditEvent, ProgramSetting, ProjectSetting
from scheduling import services
from scheduling.models import VisitRequest

pytestmark = pytest.mark.django_db

REQUEST = "/portal/visits/request/"


def ask(client, reason):
    r = client.post(REQUEST, {"request_type": "SCHEDULED", "mode": "VIRTUAL", "reason": reason})
    assert r.status_code == 302, r.content
    return VisitRequest.objects.order_by("-created_at").first()


def test_a_new_request_is_untriaged_not_green(world, login):
    req = ask(login(world.patient_user), "Would like to review my walking plan")
    assert req.severity is None and req.is_untriaged and not req.urgent_review
    staff = login(world.clinician)
    queue = staff.get("/schedule/requests/").content.decode()
    assert "Untriaged" in queue and "sev-green" not in queue
    page = staff.get(f"/schedule/requests/{req.pk}/").content.decode()
    assert 'name="severity"' in page and " checked" not in page.split('class="sev-choices"')[1].split("</fieldset>")[0]
    api = staff.get(f"/api/v1/scheduling/visit-requests/{req.pk}/").json()
    assert api["severity"] is None and api["urgent_review"] is False


def test_triage_needs_a_choice_and_keeps_the_request_untriaged_until_then(world, login):
    req = ask(login(world.patient_user), "Question about my rehab schedule")
    staff = login(world.clinician)
    r = staff.post(f"/schedule/requests/{req.pk}/triage/", {"note": "looked"})
    assert r.status_code == 400 and "stays untriaged until you do" in r.content.decode()
    req.refresh_from_db()
    assert req.severity is None and req.status == "NEW"
    staff.post(f"/schedule/requests/{req.pk}/triage/", {"severity": "GREEN"})
    req.refresh_from_db()
    assert req.severity == "GREEN" and req.status == "TRIAGED"


def test_urgency_words_flag_the_request_for_immediate_review(world, login):
    client = login(world.patient_user)
    r = client.post(REQUEST, {"request_type": "SCHEDULED", "mode": "VIRTUAL",
                              "reason": "My chest feels tight when walking uphill"}, follow=True)
    assert "call 911" in r.content.decode()
    req = VisitRequest.objects.get()
    assert req.urgent_review and req.urgency_terms == ["chest tight"]
    assert AuditEvent.objects.filter(object_id=str(req.pk), metadata__urgency_terms=["chest tight"]).exists()
    staff = login(world.clinician)
    page = staff.get(f"/schedule/requests/{req.pk}/").content.decode()
    assert "Review now: the request mentions chest tight" in page and "Decision support" in page
    queue = staff.get("/schedule/requests/").content.decode()
    assert "Review now" in queue and "decision support" in queue


def test_queue_order_untriaged_first_flagged_on_top_then_by_age(world, login):
    patient = world.me
    now = timezone.now()
    routine_old = services.request_create(patient=patient, actor=world.patient_user, reason="Refill question")
    red = services.request_create(patient=patient, actor=world.patient_user, reason="Follow-up")
    services.request_triage(req=red, actor=world.clinician, severity="RED")
    routine_new = services.request_create(patient=patient, actor=world.patient_user, reason="Diet question")
    flagged = services.request_create(patient=patient, actor=world.patient_user, reason="I fainted twice")
    for req, minutes in ((routine_old, 300), (red, 200), (routine_new, 100), (flagged, 10)):
        VisitRequest.objects.filter(pk=req.pk).update(created_at=now - timedelta(minutes=minutes))
    queue = login(world.clinician).get("/schedule/requests/").content.decode()
    order = [queue.index(f"/schedule/requests/{r.pk}/") for r in (flagged, routine_old, routine_new, red)]
    assert order == sorted(order)


@pytest.mark.parametrize("text,expected", [
    ("chest pain since this morning", ["chest pain"]),
    ("Pressure in my chest at night", ["pressure chest"]),
    ("I get short of breath on the stairs", ["short breath"]),
    ("shortness of breath", ["short breath"]),
    ("nosebleed", []),
    ("Bleeding from the incision", ["bleeding"]),
    ("I nearly passed out", ["passed out"]),
    ("Questions about my diet", []),
])
def test_urgency_matching(world, text, expected):
    assert services.urgency_matches(text, program=world.cardiac) == expected


def test_the_list_is_a_program_or_project_setting(world, login):
    ProjectSetting.objects.create(project=world.project, key="scheduling.urgency_terms", value="swelling\nfever")
    assert services.urgency_matches("Ankle swelling since Monday", program=world.metabolic) == ["swelling"]
    ProgramSetting.objects.create(program=world.cardiac, key="scheduling.urgency_terms", value="wound, fever")
    assert services.urgency_matches("Ankle swelling and a fever", program=world.cardiac) == ["fever"]
    assert services.urgency_matches("chest pain", program=world.cardiac) == []
