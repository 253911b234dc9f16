"""Sign in with email and password, password reset, email verification (console backend)."""

import re

import pytest
from django.core import mail

from mahalo.models import AuditEvent
from mahalo.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="login"' in response.content and b"Forgot your password?" in response.content


def test_patient_signs_in_and_lands_on_the_portal(client, world):
    response = sign_in(client, world.patient_user.email)
    assert response.status_code == 302
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/portal/"
    assert AuditEvent.objects.filter(action="login", actor=world.patient_user).exists()


def test_staff_with_mfa_are_asked_for_their_code(client, world):
    response = sign_in(client, world.clinician.email)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")


def test_wrong_password_is_refused_and_audited(client, world):
    response = sign_in(client, world.patient_user.email, "wrong-password")
    assert response.status_code == 200
    assert b"not correct" in response.content or b"incorrect" in response.content.lower()
    event = AuditEvent.objects.get(action="login_failed")
    assert event.metadata["login"] == world.patient_user.email and event.actor is None


def test_logout_is_audited(client, world):
    sign_in(client, world.patient_user.email)
    client.post("/accounts/logout/")
    assert AuditEvent.objects.filter(action="logout", actor=world.patient_user).exists()


def test_signup_is_closed(client):
    response = client.get("/accounts/signup/")
    assert b"closed" in response.content.lower()


def test_password_reset_by_email(client, world):
    response = client.post("/accounts/password/reset/", {"email": world.patient_user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0] if form.redirect_chain else link
    done = client.post(set_url, {"password1": "a-brand-new-pass-9", "password2": "a-brand-new-pass-9"})
    assert done.status_code == 302
    client.logout()
    assert sign_in(client, world.patient_user.email, "a-brand-new-pass-9").status_code == 302
    assert client.get("/portal/").status_code == 200


def test_unverified_email_gets_a_verification_mail_and_can_then_sign_in(client, world):
    from patients.tests.factories import PatientFactory

    user = UserFactory(email="new@p.test", verified=False)
    PatientFactory(program=world.cardiac, user=user)
    response = sign_in(client, user.email)
    assert "confirm-email" in response["Location"] or "verification" in response["Location"]
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+)", mail.outbox[0].body).group(1)
    assert client.post(link).status_code == 302
    assert sign_in(client, user.email).status_code == 302
    assert client.get("/portal/").status_code == 200
