"""Portal invitations: staff invite → email with a set-password link → the
patient sets a password, signs in, and lands in their own portal."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core import mail

from mahalo.models import AuditEvent, User
from mahalo.tests.factories import UserFactory
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-portal-pass-42"


def invite_url(patient):
    return f"/patients/{patient.pk}/invite/"


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def newcomer(world):
    """A cardiac patient without a portal login yet."""
    return PatientFactory(program=world.cardiac, first_name="Nalu", last_name="Newcomer", email="Nalu@P.test")


def link_in(message) -> str:
    found = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", message.body)
    assert found, message.body
    return found.group(1)


def test_the_whole_invitation_flow(client, login, world, newcomer):
    response = login(world.clinician).post(invite_url(newcomer))
    assert response.status_code == 302 and response["Location"] == f"/patients/{newcomer.pk}/"
    assert "Invitation sent to nalu@p.test" in messages_of(response)[0]

    newcomer.refresh_from_db()
    user = newcomer.user
    assert user is not None and user.email == "nalu@p.test" and user.full_name == "Nalu Newcomer"
    assert not user.has_usable_password()
    address = EmailAddress.objects.get(user=user)
    assert address.primary and not address.verified

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nalu@p.test"] and "portal" in message.subject
    assert message.alternatives and link_in(message) in message.alternatives[0][0]
    assert AuditEvent.objects.filter(action="write", patient=newcomer, actor=world.clinician,
                                     metadata__portal_invite__email="nalu@p.test").exists()

    # The patient follows the link in a fresh browser.
    client.logout()
    form = client.get(link_in(message), follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0]
    assert "set-password" in set_url
    done = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    address.refresh_from_db()
    assert address.verified  # the link reached that address: no second verification round-trip

    signed_in = client.post("/accounts/login/", {"login": "nalu@p.test", "password": NEW_PASSWORD}, follow=True)
    assert signed_in.redirect_chain[-1][0] == "/portal/"
    portal = client.get("/portal/")
    body = portal.content.decode()
    assert portal.status_code == 200 and "Hello, Nalu" in body
    for other in world.cardiac_patients:
        assert other.full_name not in body and other.email not in body

    # Nothing of the staff side, and no one else's record.
    assert client.get("/patients/").status_code == 404
    assert client.get(f"/patients/{newcomer.pk}/").status_code == 404
    assert client.get(f"/patients/{world.me.pk}/").status_code == 404
    assert client.get("/care-team/requests/").status_code == 404
    assert client.post(invite_url(world.me)).status_code == 404
    # The link works once.
    client.logout()
    reused = client.get(link_in(message), follow=True)
    assert reused.status_code == 200 and b"password1" not in reused.content


def test_reinviting_resends_to_the_same_login(login, world, newcomer):
    client = login(world.clinician)
    client.post(invite_url(newcomer))
    client.post(invite_url(newcomer))
    assert len(mail.outbox) == 2
    assert User.objects.filter(email="nalu@p.test").count() == 1
    assert EmailAddress.objects.filter(email__iexact="nalu@p.test").count() == 1
    # Both links lead to the set-password form until one is used.
    assert link_in(mail.outbox[1])


def test_patient_without_email_is_refused_clearly(login, world):
    patient = PatientFactory(program=world.cardiac, email="")
    response = login(world.clinician).post(invite_url(patient))
    assert response.status_code == 302
    assert "no email address" in messages_of(response)[0]
    patient.refresh_from_db()
    assert patient.user is None and not mail.outbox


@pytest.mark.parametrize("owner", ["staff", "other_patient"])
def test_email_of_someone_elses_login_is_refused(login, world, owner):
    taken = world.lead.email if owner == "staff" else world.patient_user.email
    patient = PatientFactory(program=world.cardiac, email=taken.upper())
    response = login(world.clinician).post(invite_url(patient))
    note = messages_of(response)[0]
    assert ("staff login" if owner == "staff" else "another patient") in note
    patient.refresh_from_db()
    assert patient.user is None and not mail.outbox


def test_unlinked_existing_login_is_not_taken_over(login, world):
    UserFactory(email="loose@p.test")
    patient = PatientFactory(program=world.cardiac, email="loose@p.test")
    response = login(world.clinician).post(invite_url(patient))
    assert "can't be used for this patient's portal login" in messages_of(response)[0]
    patient.refresh_from_db()
    assert patient.user is None and not mail.outbox


def test_login_whose_email_differs_from_the_record_is_refused(login, world):
    world.me.email = "kai.new@p.test"
    world.me.save()
    response = login(world.clinician).post(invite_url(world.me))
    assert "portal login is kai@p.test" in messages_of(response)[0]
    assert not mail.outbox


def test_existing_portal_user_gets_a_fresh_link(login, world):
    world.me.email = world.patient_user.email
    world.me.save()
    response = login(world.clinician).post(invite_url(world.me))
    assert "Invitation sent" in messages_of(response)[0]
    assert mail.outbox[0].to == [world.patient_user.email]
    world.patient_user.refresh_from_db()
    assert world.patient_user.check_password(world.password)  # re-inviting never locks anyone out


def test_htmx_invite_re_renders_the_card(login, world, newcomer):
    response = login(world.clinician).post(invite_url(newcomer), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="care-team"' in body and "Invitation sent" in body
    assert "Re-send invitation" in body and "HX-Request" in response["Vary"]


def test_who_may_invite(client, login, world, newcomer):
    metabolic = world.metabolic_patients[0]
    assert client.post(invite_url(newcomer)).status_code == 302  # anonymous → login
    assert login(world.dietitian).post(invite_url(metabolic)).status_code == 403  # no patients:update
    assert login(world.other_clinician).post(invite_url(newcomer)).status_code == 404  # other program
    assert login(world.outsider).post(invite_url(newcomer)).status_code == 404  # other tenant
    assert login(world.patient_user).post(invite_url(newcomer)).status_code == 404  # patients aren't staff
    assert login(world.clinician).get(invite_url(newcomer)).status_code == 405
    newcomer.refresh_from_db()
    assert newcomer.user is None and not mail.outbox
    assert login(world.lead).post(invite_url(newcomer)).status_code == 302
    assert len(mail.outbox) == 1


def test_reset_does_not_verify_when_the_login_has_several_addresses(client, rf, world, newcomer, login):
    login(world.clinician).post(invite_url(newcomer))
    newcomer.refresh_from_db()
    EmailAddress.objects.create(user=newcomer.user, email="second@p.test", verified=False, primary=False)
    client.logout()
    # A new link (the token covers the login's addresses).
    from patients.invitations import invite_url as make_link

    url = make_link(rf.get("/"), newcomer.user).removeprefix("http://testserver")
    form = client.get(url, follow=True)
    client.post(form.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    newcomer.user.refresh_from_db()
    assert newcomer.user.check_password(NEW_PASSWORD)
    assert not EmailAddress.objects.filter(user=newcomer.user, verified=True).exists()
