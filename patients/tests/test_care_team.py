"""Care-team links: the state machine, the access an active link gives, and who
may move a link (through HTTP), with the service checked directly where the
state machine itself is the subject."""

import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from mahalo.models import AuditEvent
from mahalo.tests.factories import UserFactory
from patients import care_team
from patients.models import CareTeamLink, PatientUserObjectPermission
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

S = CareTeamLink.Status
ALL_ACTIONS = ["approve", "decline", "end", "block"]
ALLOWED = {("requested", "approve"): "active", ("requested", "decline"): "ended", ("active", "end"): "ended",
           ("requested", "block"): "blocked", ("active", "block"): "blocked"}


def chart(patient):
    return f"/patients/{patient.pk}/"


def act_url(link, action):
    return f"/patients/{link.patient_id}/care-team/{link.pk}/{action}/"


def respond_url(link, action):
    return f"/care-team/requests/{link.pk}/{action}/"


def make_link(patient, staff_user, status="requested", actor=None):
    """A link in `status`, reached through the services as it would be in real life."""
    actor = actor or staff_user
    link = care_team.care_team_request(patient=patient, staff=staff_user.staff, actor=actor)
    if status == "active":
        care_team.care_team_transition(link=link, to=S.ACTIVE, actor=actor)
    elif status == "ended":
        care_team.care_team_transition(link=link, to=S.ENDED, actor=actor)
    elif status == "blocked":
        care_team.care_team_transition(link=link, to=S.BLOCKED, actor=actor)
    link.refresh_from_db()
    assert link.status == status
    return link


def granted(user, patient) -> bool:
    return PatientUserObjectPermission.objects.filter(user=user, content_object=patient,
                                                      permission__codename="view_patient").exists()


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def _plain_names(world):
    # Faker names may carry apostrophes, which HTML escapes; these tests look for names in pages.
    for user, name in ((world.lead, "Lee Lead"), (world.clinician, "Casey Cardio"),
                       (world.other_clinician, "Mel Metabolic"), (world.dietitian, "Dee Dietitian"),
                       (world.outsider, "Otto Outsider")):
        user.full_name = name
        user.save(update_fields=["full_name"])


@pytest.fixture
def target(world):
    """A Metabolic Health patient: outside the cardiac clinician's program."""
    return world.metabolic_patients[0]


# --- The state machine (service) ------------------------------------------------

@pytest.mark.parametrize("start", ["requested", "active", "ended", "blocked"])
@pytest.mark.parametrize("to", ["requested", "active", "ended", "blocked"])
def test_every_transition_is_allowed_or_refused_as_specified(world, target, start, to):
    link = make_link(target, world.clinician, start, actor=world.lead)
    allowed = {("requested", "active"), ("requested", "ended"), ("requested", "blocked"),
               ("active", "ended"), ("active", "blocked")}
    if (start, to) in allowed:
        care_team.care_team_transition(link=link, to=to, actor=world.lead)
        link.refresh_from_db()
        assert link.status == to
    else:
        with pytest.raises(care_team.TransitionError) as exc:
            care_team.care_team_transition(link=link, to=to, actor=world.lead)
        assert str(exc.value)  # a sentence for the user, not an empty error
        link.refresh_from_db()
        assert link.status == start
    # The grant exists exactly while the link is active.
    assert granted(world.clinician, target) == (link.status == S.ACTIVE)


def test_unknown_state_is_a_transition_error(world, target):
    link = make_link(target, world.clinician)
    with pytest.raises(care_team.TransitionError):
        care_team.care_team_transition(link=link, to="deleted", actor=world.lead)


def test_timestamps_follow_the_state(world, target):
    link = make_link(target, world.clinician, "active", actor=world.lead)
    assert link.activated_at is not None and link.ended_at is None
    care_team.care_team_transition(link=link, to=S.ENDED, actor=world.lead)
    link.refresh_from_db()
    assert link.ended_at is not None


def test_requesting_twice_returns_the_same_link(world, target):
    first = care_team.care_team_request(patient=target, staff=world.clinician.staff, actor=world.lead)
    again = care_team.care_team_request(patient=target, staff=world.clinician.staff, actor=world.lead)
    assert first.pk == again.pk and again.status == S.REQUESTED
    care_team.care_team_transition(link=first, to=S.ACTIVE, actor=world.lead)
    still = care_team.care_team_request(patient=target, staff=world.clinician.staff, actor=world.lead)
    assert still.pk == first.pk and still.status == S.ACTIVE
    assert CareTeamLink.objects.filter(patient=target).count() == 1


def test_ended_link_can_be_requested_again_on_the_same_row(world, target):
    link = make_link(target, world.clinician, "ended", actor=world.lead)
    again = care_team.care_team_request(patient=target, staff=world.clinician.staff, actor=world.lead, note="Back")
    assert again.pk == link.pk and again.status == S.REQUESTED and again.ended_at is None and again.note == "Back"
    assert AuditEvent.objects.filter(patient=target, metadata__care_team__from="ended",
                                     metadata__care_team__to="requested").exists()


def test_blocked_pair_cannot_be_requested_again(world, target):
    make_link(target, world.clinician, "blocked", actor=world.lead)
    with pytest.raises(ValidationError, match="blocked"):
        care_team.care_team_request(patient=target, staff=world.clinician.staff, actor=world.lead)


def test_staff_of_another_tenant_or_inactive_staff_is_refused(world, target):
    with pytest.raises(ValidationError, match="another organisation"):
        care_team.care_team_request(patient=target, staff=world.outsider.staff, actor=world.lead)
    staff = world.other_clinician.staff
    staff.is_active = False
    staff.save()
    with pytest.raises(ValidationError, match="no longer active"):
        care_team.care_team_request(patient=target, staff=staff, actor=world.lead)
    assert not CareTeamLink.objects.exists()


def test_every_change_is_audited(world, target):
    link = make_link(target, world.clinician, "active", actor=world.lead)
    care_team.care_team_transition(link=link, to=S.BLOCKED, actor=world.lead)
    events = AuditEvent.objects.filter(patient=target, resource="patients", metadata__has_key="care_team")
    steps = sorted((e.action, e.metadata["care_team"]["from"] or "", e.metadata["care_team"]["to"]) for e in events)
    assert steps == [("update", "active", "blocked"), ("update", "requested", "active"), ("write", "", "requested")]
    assert all(e.metadata["care_team"]["staff"] == world.clinician.email for e in events)
    assert all(e.actor == world.lead for e in events)


def test_care_team_for_is_one_query_however_big_the_team(world, target, django_assert_num_queries):
    for user in (world.clinician, world.other_clinician, world.dietitian, world.lead):
        make_link(target, user, "active", actor=world.lead)
    with django_assert_num_queries(1):
        names = [(x.staff.user.email, x.staff.role.name) for x in care_team.care_team_for(target)]
    assert len(names) == 4


# --- Staff actions through HTTP ---------------------------------------------------

@pytest.mark.parametrize("start", ["requested", "active", "ended", "blocked"])
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_lead_moves_links_through_http_or_gets_a_clear_refusal(login, world, target, start, action):
    link = make_link(target, world.clinician, start, actor=world.lead)
    response = login(world.lead).post(act_url(link, action))
    assert response.status_code == 302 and response["Location"] == chart(target)
    link.refresh_from_db()
    expected = ALLOWED.get((start, action))
    notes = messages_of(response)
    assert len(notes) == 1
    if expected:
        assert link.status == expected
        assert care_team.DONE[action] in notes[0]
    else:
        assert link.status == start
        assert any(word in notes[0] for word in ("can't", "already", "instead")), notes[0]
    assert granted(world.clinician, target) == (link.status == S.ACTIVE)


def test_refusal_in_htmx_renders_the_card_with_the_message(login, world, target):
    link = make_link(target, world.clinician, "ended", actor=world.lead)
    response = login(world.lead).post(act_url(link, "approve"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="care-team"' in body and "has ended" in body and 'role="alert"' in body
    assert "HX-Request" in response["Vary"]


def test_approve_in_htmx_re_renders_the_card(login, world, target):
    link = make_link(target, world.clinician, actor=world.lead)
    response = login(world.lead).post(act_url(link, "approve"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert world.clinician.full_name in body and "1 active" in body


def test_access_is_gained_on_approve_and_lost_at_once_on_end(login, world, target):
    link = make_link(target, world.clinician, actor=world.lead)
    assert login(world.clinician).get(chart(target)).status_code == 404
    login(world.lead).post(act_url(link, "approve"))
    assert login(world.clinician).get(chart(target)).status_code == 200
    # Only that patient: the rest of the program stays out of reach.
    assert login(world.clinician).get(chart(world.metabolic_patients[1])).status_code == 404
    login(world.lead).post(act_url(link, "end"))
    assert login(world.clinician).get(chart(target)).status_code == 404
    assert not granted(world.clinician, target)


def test_access_is_lost_at_once_on_block(login, world, target):
    link = make_link(target, world.clinician, "active", actor=world.lead)
    assert login(world.clinician).get(chart(target)).status_code == 200
    login(world.lead).post(act_url(link, "block"))
    assert login(world.clinician).get(chart(target)).status_code == 404
    link.refresh_from_db()
    assert link.status == S.BLOCKED


def test_staff_add_puts_a_colleague_on_the_team_at_once(login, world, target):
    response = login(world.lead).post(f"/patients/{target.pk}/care-team/add/", {"staff": world.clinician.staff.pk})
    assert response.status_code == 302
    link = CareTeamLink.objects.get(patient=target, staff=world.clinician.staff)
    assert link.status == S.ACTIVE and granted(world.clinician, target)
    assert login(world.clinician).get(chart(target)).status_code == 200
    # Adding again neither duplicates nor errors out: they're no longer offered.
    again = login(world.lead).post(f"/patients/{target.pk}/care-team/add/", {"staff": world.clinician.staff.pk})
    assert again.status_code == 302 and messages_of(again)
    assert CareTeamLink.objects.filter(patient=target).count() == 1


def test_staff_add_refuses_other_tenants_staff(login, world, target):
    response = login(world.lead).post(f"/patients/{target.pk}/care-team/add/", {"staff": world.outsider.staff.pk})
    assert response.status_code == 302
    assert "Choose a colleague" in messages_of(response)[0]
    assert not CareTeamLink.objects.exists()


def test_staff_add_refuses_a_blocked_pair(login, world, target):
    make_link(target, world.clinician, "blocked", actor=world.lead)
    login(world.lead).post(f"/patients/{target.pk}/care-team/add/", {"staff": world.clinician.staff.pk})
    assert CareTeamLink.objects.get(patient=target).status == S.BLOCKED
    assert not granted(world.clinician, target)


def test_role_without_patients_update_cannot_manage(login, world, target):
    link = make_link(target, world.clinician, actor=world.lead)
    client = login(world.dietitian)  # Dietitian: patients:read only, and target is in her program
    assert client.post(f"/patients/{target.pk}/care-team/add/", {"staff": world.clinician.staff.pk}).status_code \
        == 403
    for action in ALL_ACTIONS:
        # The patient is in her scope (readable), so not 404: the role lacks patients:update.
        assert client.post(act_url(link, action)).status_code == 403, action
    assert client.post(f"/patients/{target.pk}/invite/").status_code == 403
    link.refresh_from_db()
    assert link.status == S.REQUESTED


def test_clinician_cannot_manage_a_patient_outside_their_scope(login, world, target):
    link = make_link(target, world.other_clinician, actor=world.lead)
    client = login(world.clinician)
    assert client.post(act_url(link, "approve")).status_code == 404
    assert client.post(f"/patients/{target.pk}/care-team/add/", {"staff": world.clinician.staff.pk}).status_code \
        == 404
    link.refresh_from_db()
    assert link.status == S.REQUESTED and not CareTeamLink.objects.filter(staff=world.clinician.staff).exists()


def test_link_of_another_patient_is_404_even_with_scope(login, world, target):
    link = make_link(target, world.other_clinician, actor=world.lead)
    other = world.metabolic_patients[1]
    response = login(world.lead).post(f"/patients/{other.pk}/care-team/{link.pk}/approve/")
    assert response.status_code == 404
    assert login(world.lead).post(f"/patients/{target.pk}/care-team/{uuid.uuid4()}/approve/").status_code == 404
    assert login(world.lead).post(f"/patients/{target.pk}/care-team/{link.pk}/delete/").status_code == 404


def test_other_tenant_staff_cannot_act_on_links(login, world, target):
    link = make_link(target, world.clinician, actor=world.lead)
    client = login(world.outsider)  # Administrator of the other tenant: every permission, wrong tenant
    for action in ALL_ACTIONS:
        assert client.post(act_url(link, action)).status_code == 404
    assert client.post(respond_url(link, "approve")).status_code == 404
    assert client.post(f"/patients/{target.pk}/care-team/add/", {"staff": world.outsider.staff.pk}).status_code \
        == 404
    link.refresh_from_db()
    assert link.status == S.REQUESTED


# --- The requested staff member answers ----------------------------------------

@pytest.fixture
def asking_patient(world):
    """A metabolic patient with a portal login who asked for the cardiac clinician."""
    user = UserFactory(email="ana@p.test")
    patient = PatientFactory(program=world.metabolic, user=user, first_name="Ana", last_name="Asks")
    link = care_team.care_team_request(patient=patient, staff=world.clinician.staff, actor=user, via="portal")
    return patient, link


def test_requested_clinician_accepts_outside_their_programs(login, world, asking_patient):
    patient, link = asking_patient
    client = login(world.clinician)
    assert client.get(chart(patient)).status_code == 404
    page = client.get("/care-team/requests/")
    assert page.status_code == 200 and "Ana Asks" in page.content.decode()
    response = client.post(respond_url(link, "approve"))
    assert response.status_code == 302 and response["Location"] == "/care-team/requests/"
    link.refresh_from_db()
    assert link.status == S.ACTIVE
    assert client.get(chart(patient)).status_code == 200
    assert AuditEvent.objects.filter(actor=world.clinician, patient=patient, metadata__care_team__to="active").exists()


def test_requested_clinician_declines(login, world, asking_patient):
    patient, link = asking_patient
    response = login(world.clinician).post(respond_url(link, "decline"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "declined" in response.content.decode()
    link.refresh_from_db()
    assert link.status == S.ENDED and not granted(world.clinician, patient)


def test_dietitian_may_accept_a_request_addressed_to_her(login, world):
    # No patients:update, but the patient asked for her: answering is hers to do.
    user = UserFactory(email="cardio-patient@p.test")
    patient = PatientFactory(program=world.cardiac, user=user)
    link = care_team.care_team_request(patient=patient, staff=world.dietitian.staff, actor=user)
    client = login(world.dietitian)
    assert client.get(chart(patient)).status_code == 404
    assert client.post(respond_url(link, "approve")).status_code == 302
    assert client.get(chart(patient)).status_code == 200


def test_answering_is_limited_to_own_requested_links(login, world, asking_patient):
    patient, link = asking_patient
    # Someone else's request: 404, whoever asks.
    for user in (world.other_clinician, world.dietitian, world.lead, world.outsider):
        assert login(user).post(respond_url(link, "approve")).status_code == 404
    # End and block are not answers.
    for action in ("end", "block", "delete"):
        assert login(world.clinician).post(respond_url(link, action)).status_code == 404
    link.refresh_from_db()
    assert link.status == S.REQUESTED
    # An answered request can't be answered again (a message, not a 500).
    client = login(world.clinician)
    client.post(respond_url(link, "approve"))
    again = client.post(respond_url(link, "decline"))
    assert again.status_code == 302 and "already answered" in messages_of(again)[-1]
    link.refresh_from_db()
    assert link.status == S.ACTIVE


def test_patient_cannot_use_staff_endpoints(login, world, asking_patient):
    patient, link = asking_patient
    client = login(patient.user)
    assert client.post(respond_url(link, "approve")).status_code == 404
    assert client.post(act_url(link, "approve")).status_code == 404
    assert client.get("/care-team/requests/").status_code == 404


def test_requests_page_lists_only_my_requests(login, world, asking_patient):
    patient, _ = asking_patient
    other = make_link(world.metabolic_patients[1], world.other_clinician, actor=world.lead)
    body = login(world.clinician).get("/care-team/requests/").content.decode()
    assert "Ana Asks" in body and other.patient.full_name not in body
    body = login(world.other_clinician).get("/care-team/requests/").content.decode()
    assert "Ana Asks" not in body and other.patient.full_name in body
    assert AuditEvent.objects.filter(action="list", actor=world.clinician, metadata__care_team_requests=1).exists()


def test_requests_page_fragment_for_htmx(login, world, asking_patient):
    response = login(world.clinician).get("/care-team/requests/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="requests"' in body and "<html" not in body
    assert "HX-Request" in response["Vary"]


# --- Login required and the chart card ------------------------------------------------

def test_every_staff_endpoint_requires_login(client, world, target):
    link = make_link(target, world.clinician, actor=world.lead)
    urls = [f"/patients/{target.pk}/care-team/add/", act_url(link, "approve"), respond_url(link, "approve"),
            f"/patients/{target.pk}/invite/"]
    for url in urls:
        response = client.post(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    response = client.get("/care-team/requests/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    link.refresh_from_db()
    assert link.status == S.REQUESTED


def test_card_context_shows_the_right_buttons(rf, world, target):
    from django.template.loader import render_to_string

    make_link(target, world.clinician, "active", actor=world.lead)
    pending = make_link(target, world.other_clinician, actor=world.lead)
    make_link(target, world.dietitian, "blocked", actor=world.lead)

    def card(user):
        request = rf.get(chart(target))
        request.user, request.session = user, {}
        return render_to_string("patients/_care_team.html", care_team.care_team_context(request, target),
                                request=request)

    lead = card(world.lead)
    assert f"/care-team/{pending.pk}/approve/" in lead and "Add to care team" in lead
    assert "Ended and blocked (1)" in lead
    # The requested clinician (metabolic program: can read, can update) manages through the chart.
    # The dietitian reads the card but gets no buttons and no add form.
    dietitian = card(world.dietitian)
    assert "/approve/" not in dietitian and "Add to care team" not in dietitian and "/end/" not in dietitian
    assert world.clinician.full_name in dietitian


def test_card_offers_only_this_projects_active_staff(rf, world, target):
    from django.template.loader import render_to_string

    request = rf.get(chart(target))
    request.user, request.session = world.lead, {}
    body = render_to_string("patients/_care_team.html", care_team.care_team_context(request, target), request=request)
    assert world.clinician.full_name in body and world.outsider.full_name not in body


def test_card_context_queries_do_not_grow_with_the_team(rf, world, target, django_assert_max_num_queries):
    def fresh_request():
        request = rf.get(chart(target))
        request.user = type(world.lead).objects.get(pk=world.lead.pk)  # no gate caches
        return request

    make_link(target, world.clinician, "active", actor=world.lead)
    request = fresh_request()
    with django_assert_max_num_queries(10) as small:
        care_team.care_team_context(request, target)
    for user in (world.other_clinician, world.dietitian):
        make_link(target, user, "active", actor=world.lead)
    make_link(world.metabolic_patients[1], world.clinician, "ended", actor=world.lead)
    request = fresh_request()
    with django_assert_max_num_queries(len(small.captured_queries)):
        context = care_team.care_team_context(request, target)
    assert len(context["care_team"]["active"]) == 3


# --- In a real browser ---------------------------------------------------------------

@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_lead_approves_from_the_chart_card_without_a_page_load(live_server, browser_page, world, client):
    from playwright.sync_api import expect

    from conftest import axe_violations

    target = world.metabolic_patients[0]
    link = make_link(target, world.clinician, actor=world.lead)
    client.force_login(world.lead, backend="django.contrib.auth.backends.ModelBackend")
    page = browser_page
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.goto(f"{live_server.url}/patients/{target.pk}/")
    card = page.locator("#care-team")
    expect(card).to_contain_text("Pending requests")
    assert axe_violations(page) == []
    page.evaluate("window.__marker = 1")  # survives only if the page isn't reloaded
    card.get_by_role("button", name="Approve Casey Cardio").click()
    expect(page.locator("#care-team")).to_contain_text("1 active")
    assert page.evaluate("window.__marker") == 1
    link.refresh_from_db()
    assert link.status == S.ACTIVE and granted(world.clinician, target)
    assert axe_violations(page) == []


def test_a_patients_request_notifies_the_staff_member(world):
    from mahalo.models import StaffMember
    from messaging.models import Notification
    from patients import care_team

    staff = StaffMember.objects.get(user=world.dietitian)
    care_team.care_team_request(patient=world.me, staff=staff, actor=world.patient_user)
    rows = Notification.objects.filter(recipient=world.dietitian, event_type="care_team_request")
    assert rows.filter(channel="in_app").count() == 1
    # Asking again while pending changes nothing (the same link, no second notification).
    care_team.care_team_request(patient=world.me, staff=staff, actor=world.patient_user)
    assert rows.filter(channel="in_app").count() == 1
    # Staff adding a colleague themselves notify no one.
    other = StaffMember.objects.get(user=world.other_clinician)
    care_team.care_team_add(patient=world.me, staff=other, actor=world.lead)
    assert not Notification.objects.filter(recipient=world.other_clinician).exists()
