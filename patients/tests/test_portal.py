import uuid

import pytest

from mahalo.models import AuditEvent
from patients import care_team
from patients.models import CareTeamLink

pytestmark = pytest.mark.django_db


def test_it_requires_login(client, world):
    assert client.get("/portal/").status_code == 302


def test_patient_sees_only_themselves(login, world):
    response = login(world.patient_user).get("/portal/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Kai" in body
    for other in world.cardiac_patients[1:]:
        assert other.email not in body
    assert AuditEvent.objects.filter(action="read", patient=world.me, metadata__via="portal").exists()


def test_patient_lands_on_portal_from_home(login, world):
    response = login(world.patient_user).get("/")
    assert response.status_code == 302 and response["Location"] == "/portal/"


def test_staff_have_no_portal(login, world):
    assert login(world.clinician).get("/portal/").status_code == 404


# --- The portal pages -------------------------------------------------------------

PAGES = ["/portal/", "/portal/profile/", "/portal/care-team/", "/portal/notifications/"]


@pytest.fixture
def lani(world):
    """A second patient with a portal login, in the same program as Kai."""
    from mahalo.tests.factories import UserFactory
    from patients.tests.factories import PatientFactory

    user = UserFactory(email="lani@p.test")
    return PatientFactory(program=world.cardiac, user=user, first_name="Lani", last_name="Second",
                          email="lani@p.test", phone="+18085550199", city="Hilo", preferred_name="Lulu")


@pytest.fixture(autouse=True)
def _plain_names(world):
    for user, name in ((world.lead, "Lee Lead"), (world.clinician, "Casey Cardio"),
                       (world.other_clinician, "Mel Metabolic"), (world.dietitian, "Dee Dietitian"),
                       (world.outsider, "Otto Outsider")):
        user.full_name = name
        user.save(update_fields=["full_name"])


def profile_data(**overrides):
    data = {
        "preferred_name": "Kai", "phone": "(808) 555-0142", "phone_type": "mobile", "alternate_phone": "",
        "preferred_contact_method": "text", "preferred_contact_time": "morning",
        "street_address": "1 Kapiolani Blvd", "city": "Honolulu", "state": "HI", "postal_code": "96814",
        "emergency_contact_1_name": "Noe Portal", "emergency_contact_1_relationship": "Sister",
        "emergency_contact_1_phone": "808-555-0100",
        "emergency_contact_2_name": "", "emergency_contact_2_relationship": "", "emergency_contact_2_phone": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("url", PAGES)
def test_every_portal_page_requires_login(client, world, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_portal_posts_require_login(client, world):
    link = care_team.care_team_request(patient=world.me, staff=world.clinician.staff, actor=world.patient_user)
    for url, data in (("/portal/profile/", profile_data()), ("/portal/care-team/", {"staff": world.lead.staff.pk}),
                      (f"/portal/care-team/{link.pk}/withdraw/", {})):
        response = client.post(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    link.refresh_from_db()
    assert link.status == CareTeamLink.Status.REQUESTED


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("who", ["clinician", "lead", "outsider", "dietitian"])
def test_staff_get_404_on_every_portal_page(login, world, url, who):
    assert login(getattr(world, who)).get(url).status_code == 404


def test_login_without_patient_record_gets_404(login, world):
    from mahalo.tests.factories import UserFactory

    nobody = UserFactory(email="nobody@p.test")
    for url in PAGES:
        assert login(nobody).get(url).status_code == 404


@pytest.mark.parametrize("url", PAGES)
def test_each_patient_sees_only_themselves_on_every_page(login, world, lani, url):
    care_team.care_team_request(patient=lani, staff=world.lead.staff, actor=lani.user, note="Lani's note")
    kai = login(world.patient_user).get(url).content.decode()
    assert "Lani" not in kai and "Lulu" not in kai and "lani@p.test" not in kai and "Hilo" not in kai
    assert "0199" not in kai and "Lani&#x27;s note" not in kai
    lani_body = login(lani.user).get(url).content.decode()
    assert "Kai" not in lani_body and world.patient_user.email not in lani_body


def test_home_shows_program_team_pending_and_links(login, world):
    care_team.care_team_add(patient=world.me, staff=world.clinician.staff, actor=world.lead)
    care_team.care_team_request(patient=world.me, staff=world.lead.staff, actor=world.patient_user)
    body = login(world.patient_user).get("/portal/").content.decode()
    assert "Hello, Kai" in body and "Cardiac Rehab" in body
    assert "Casey Cardio" in body and "Lee Lead" in body and "Waiting for a reply" in body
    for url in ("/portal/profile/", "/portal/care-team/", "/portal/notifications/"):
        assert f'href="{url}"' in body
    # Staff emails are not shown to patients.
    assert world.clinician.email not in body


def test_portal_page_reads_are_audited(login, world):
    client = login(world.patient_user)
    for url in ("/portal/", "/portal/profile/", "/portal/care-team/"):
        client.get(url)
    pages = set(AuditEvent.objects.filter(action="read", patient=world.me, metadata__via="portal")
                .values_list("metadata__page", flat=True))
    assert pages == {"home", "profile", "care_team"}


# --- Profile ----------------------------------------------------------------------

def test_profile_shows_the_form_with_current_values(login, world):
    body = login(world.patient_user).get("/portal/profile/").content.decode()
    assert 'name="phone"' in body and 'type="tel"' in body and 'autocomplete="street-address"' in body
    assert "emergency_contact_2_phone" in body


def test_profile_saves_normalised_phones_through_the_service(login, world):
    response = login(world.patient_user).post("/portal/profile/", profile_data())
    assert response.status_code == 302 and response["Location"] == "/portal/profile/"
    world.me.refresh_from_db()
    assert str(world.me.phone) == "+18085550142"
    assert str(world.me.emergency_contact_1_phone) == "+18085550100"
    assert world.me.city == "Honolulu" and world.me.preferred_contact_method == "text"
    event = AuditEvent.objects.get(action="update", patient=world.me, metadata__via="portal")
    assert event.actor == world.patient_user and "phone" in event.metadata["fields"]
    assert world.me.history.first().history_user == world.patient_user


def test_profile_accepts_international_numbers(login, world):
    login(world.patient_user).post("/portal/profile/", profile_data(alternate_phone="+44 20 7946 0958"))
    world.me.refresh_from_db()
    assert str(world.me.alternate_phone) == "+442079460958"


def test_profile_errors_are_inline_and_keep_what_was_typed(login, world):
    before = str(world.me.phone)
    data = profile_data(phone="12345", city="Kailua", emergency_contact_2_relationship="Neighbour")
    response = login(world.patient_user).post("/portal/profile/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="id_phone_error"' in body and 'aria-invalid="true"' in body
    assert 'value="12345"' in body and 'value="Kailua"' in body and 'value="Neighbour"' in body
    assert "Add the contact&#x27;s name." in body
    world.me.refresh_from_db()
    assert str(world.me.phone) == before and world.me.city != "Kailua"
    assert not AuditEvent.objects.filter(action="update", patient=world.me).exists()


def test_profile_requires_a_phone_for_text_and_a_mobile(login, world):
    client = login(world.patient_user)
    body = client.post("/portal/profile/", profile_data(phone="")).content.decode()
    assert "Add a phone number, or choose another way" in body
    body = client.post("/portal/profile/", profile_data(phone_type="home")).content.decode()
    assert "Text messages need a mobile phone." in body


def test_profile_cannot_touch_other_fields_or_other_patients(login, world, lani):
    data = profile_data(first_name="Hacker", email="evil@x.test", program=str(world.metabolic.pk),
                        user=str(lani.user.pk), id=str(lani.pk), patient=str(lani.pk))
    login(world.patient_user).post("/portal/profile/", data)
    world.me.refresh_from_db()
    lani.refresh_from_db()
    assert world.me.first_name == "Kai" and world.me.email != "evil@x.test"
    assert world.me.program == world.cardiac and world.me.user == world.patient_user
    assert lani.city == "Hilo" and str(lani.phone) == "+18085550199"


def test_unchanged_profile_says_so_and_audits_no_write(login, world):
    client = login(world.patient_user)
    client.post("/portal/profile/", profile_data())
    response = client.post("/portal/profile/", profile_data(), follow=True)
    assert "Nothing changed" in response.content.decode()
    assert AuditEvent.objects.filter(action="update", patient=world.me).count() == 1


# --- Care team ----------------------------------------------------------------------

def test_care_team_offers_only_staff_of_my_program_and_project(login, world):
    body = login(world.patient_user).get("/portal/care-team/").content.decode()
    assert "Casey Cardio" in body  # assigned to Cardiac Rehab
    assert "Lee Lead" in body  # whole-project role
    assert "Mel Metabolic" not in body and "Dee Dietitian" not in body  # another program
    assert "Otto Outsider" not in body  # another tenant


def test_patient_requests_a_clinician(login, world):
    response = login(world.patient_user).post("/portal/care-team/",
                                              {"staff": world.clinician.staff.pk, "note": "After my surgery"})
    assert response.status_code == 302
    link = CareTeamLink.objects.get(patient=world.me)
    assert link.staff == world.clinician.staff and link.status == "requested" and link.note == "After my surgery"
    assert link.requested_by == world.patient_user
    event = AuditEvent.objects.get(action="write", patient=world.me, metadata__has_key="care_team")
    assert event.metadata["via"] == "portal" and event.actor == world.patient_user
    # No access until the clinician accepts.
    assert not CareTeamLink.objects.filter(status="active").exists()
    body = login(world.patient_user).get("/portal/care-team/").content.decode()
    assert "Waiting for a reply" in body and "After my surgery" in body


def test_requesting_twice_does_not_duplicate(login, world):
    client = login(world.patient_user)
    client.post("/portal/care-team/", {"staff": world.clinician.staff.pk})
    response = client.post("/portal/care-team/", {"staff": world.clinician.staff.pk})
    assert response.status_code == 200 and "isn&#x27;t available" in response.content.decode()
    assert CareTeamLink.objects.filter(patient=world.me).count() == 1


def test_patient_cannot_request_another_tenants_or_programs_staff(login, world):
    client = login(world.patient_user)
    for staff in (world.outsider.staff, world.other_clinician.staff):
        response = client.post("/portal/care-team/", {"staff": staff.pk, "note": "kept"})
        assert response.status_code == 200
        body = response.content.decode()
        assert "isn&#x27;t available" in body and "kept" in body
    response = client.post("/portal/care-team/", {"staff": str(uuid.uuid4())})
    assert response.status_code == 200
    response = client.post("/portal/care-team/", {})
    assert "Choose who you would like" in response.content.decode()
    assert not CareTeamLink.objects.exists()


def test_patient_withdraws_own_request_only(login, world, lani):
    mine = care_team.care_team_request(patient=world.me, staff=world.clinician.staff, actor=world.patient_user)
    theirs = care_team.care_team_request(patient=lani, staff=world.clinician.staff, actor=lani.user)
    client = login(world.patient_user)
    assert client.post(f"/portal/care-team/{theirs.pk}/withdraw/").status_code == 404
    assert client.post(f"/portal/care-team/{uuid.uuid4()}/withdraw/").status_code == 404
    assert client.get(f"/portal/care-team/{mine.pk}/withdraw/").status_code == 405
    assert client.post(f"/portal/care-team/{mine.pk}/withdraw/", {"confirm": "yes"}).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == "ended" and theirs.status == "requested"
    # An accepted request can't be withdrawn from the portal (ending is the care team's).
    care_team.care_team_add(patient=world.me, staff=world.lead.staff, actor=world.lead)
    active = CareTeamLink.objects.get(patient=world.me, staff=world.lead.staff)
    response = client.post(f"/portal/care-team/{active.pk}/withdraw/", {"confirm": "yes"}, follow=True)
    assert "can&#x27;t be withdrawn" in response.content.decode()
    active.refresh_from_db()
    assert active.status == "active"


def test_post_as_one_patient_never_writes_to_another(login, world, lani):
    login(lani.user).post("/portal/care-team/", {"staff": world.clinician.staff.pk})
    login(lani.user).post("/portal/profile/", profile_data(city="Hilo Town", preferred_name="Lulu"))
    assert CareTeamLink.objects.get().patient == lani
    world.me.refresh_from_db()
    assert world.me.city != "Hilo Town"


def test_notifications_page_offers_settings(login, world):
    body = login(world.patient_user).get("/portal/notifications/").content.decode()
    assert "/settings/notifications/" in body

def test_patient_uses_the_portal_on_a_phone(live_server, browser_page, world):
    from conftest import axe_violations

    page = browser_page
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/portal/")
    page.get_by_label("Email").fill(world.patient_user.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/")
    for path in PAGES:
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        assert axe_violations(page) == [], path

    # Edit contact details: an error keeps what was typed, then the fix saves.
    page.goto(f"{live_server.url}/portal/profile/")
    page.get_by_label("Phone", exact=True).fill("12345")
    page.get_by_label("City").fill("Kailua")
    page.get_by_role("button", name="Save my details").click()
    assert page.locator("#id_phone_error").is_visible()
    assert page.get_by_label("City").input_value() == "Kailua"
    page.get_by_label("Phone", exact=True).fill("(808) 555-0142")
    page.get_by_role("button", name="Save my details").click()
    page.wait_for_url(f"{live_server.url}/portal/profile/")
    assert "saved" in page.locator(".messages").inner_text()
    world.me.refresh_from_db()
    assert world.me.city == "Kailua" and str(world.me.phone) == "+18085550142"

    # Ask a clinician to join.
    page.goto(f"{live_server.url}/portal/care-team/")
    page.get_by_label(world.clinician.full_name, exact=False).check()
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(f"{live_server.url}/portal/care-team/")
    assert "Waiting for a reply" in page.content()
    assert CareTeamLink.objects.get(patient=world.me).status == "requested"


def test_one_navigation_item_is_current(login, world):
    body = login(world.patient_user).get("/portal/messages/").content.decode()
    nav = body.split('aria-label="Main"')[1].split("</nav>")[0]
    assert nav.count('aria-current="page"') == 1
    assert 'href="/portal/messages/" aria-current="page"' in nav
