"""Mobile app sign-in: short-lived access tokens, rotating refresh tokens, same rules as the web."""

import pytest
from rest_framework.test import APIClient

from conftest import enrol_totp
from mahalo.models import AuditEvent
from mahalo.tests.test_mfa import current_code

pytestmark = pytest.mark.django_db
TOKEN, REFRESH, REVOKE = "/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/token/revoke/"


def obtain(email, password, **extra):
    return APIClient().post(TOKEN, {"email": email, "password": password, **extra}, format="json")


def bearer(access):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def test_patient_gets_tokens_and_sees_only_themselves(world):
    response = obtain(world.patient_user.email, world.password)
    assert response.status_code == 200
    api = bearer(response.json()["access"])
    assert api.get("/api/v1/me/").json()["patient_id"] == str(world.me.pk)
    ids = {row["id"] for row in api.get("/api/v1/patients/").json()["results"]}
    assert ids == {str(world.me.pk)}
    assert api.get(f"/api/v1/patients/{world.cardiac_patients[1].pk}/").status_code == 404
    assert AuditEvent.objects.filter(action="login", actor=world.patient_user, metadata__via="api-token").exists()


def test_refresh_rotates_and_the_old_refresh_token_stops_working(world):
    first = obtain(world.patient_user.email, world.password).json()
    rotated = APIClient().post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200 and rotated.json()["refresh"] != first["refresh"]
    assert bearer(rotated.json()["access"]).get("/api/v1/me/").status_code == 200
    assert APIClient().post(REFRESH, {"refresh": first["refresh"]}, format="json").status_code == 401
    # Signing out revokes the current refresh token.
    assert APIClient().post(REVOKE, {"refresh": rotated.json()["refresh"]}, format="json").status_code == 205
    assert APIClient().post(REFRESH, {"refresh": rotated.json()["refresh"]}, format="json").status_code == 401


def test_wrong_password_and_garbage_tokens(world):
    assert obtain(world.patient_user.email, "nope-nope").status_code == 401
    assert AuditEvent.objects.filter(action="login_failed").exists()
    assert obtain("not-an-email", "x").status_code == 400
    assert bearer("garbage").get("/api/v1/me/").status_code == 401
    assert APIClient().post(REFRESH, {"refresh": "garbage"}, format="json").status_code == 401


def test_lockout_applies_to_the_app_too(world):
    for _ in range(5):
        obtain(world.patient_user.email, "nope-nope")
    locked = obtain(world.patient_user.email, world.password)
    assert locked.status_code == 429 and "locked" in locked.json()["detail"]


def test_staff_need_their_authenticator_code(world, settings):
    from allauth.mfa.models import Authenticator

    settings.MAHALO_REQUIRE_STAFF_MFA = True
    Authenticator.objects.filter(user=world.clinician).delete()
    # No two-factor yet: refused until they enrol on the web.
    assert obtain(world.clinician.email, world.password).status_code == 403
    secret = enrol_totp(world.clinician)
    assert obtain(world.clinician.email, world.password).status_code == 403  # code missing
    assert obtain(world.clinician.email, world.password, otp="000000").status_code == 401
    response = obtain(world.clinician.email, world.password, otp=current_code(secret))
    assert response.status_code == 200
    api = bearer(response.json()["access"])
    ids = {row["id"] for row in api.get("/api/v1/patients/").json()["results"]}
    assert ids == {str(p.pk) for p in world.cardiac_patients}


def test_unverified_email_is_refused(world):
    from mahalo.tests.factories import UserFactory
    from patients.tests.factories import PatientFactory

    user = UserFactory(email="unverified@p.test", verified=False)
    PatientFactory(program=world.cardiac, user=user)
    assert obtain(user.email, world.password).status_code == 403
