import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

from conftest import enrol_totp
from mahalo.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


@pytest.fixture
def mfa_on(settings):
    settings.MAHALO_REQUIRE_STAFF_MFA = True


def test_staff_without_mfa_are_sent_to_enrol(login, world, mfa_on):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    client = login(world.clinician)
    for path in ("/", "/patients/", f"/patients/{world.cardiac_patients[1].pk}/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/accounts/2fa/", path
    assert client.get("/accounts/2fa/").status_code == 200
    assert client.get("/api/v1/patients/").status_code == 403


def test_htmx_requests_get_a_full_page_redirect(login, world, mfa_on):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    response = login(world.clinician).get("/patients/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/accounts/2fa/"


def test_staff_with_mfa_pass(login, world, mfa_on):
    assert login(world.clinician).get("/patients/").status_code == 200


def test_patients_are_not_forced(login, world, mfa_on):
    assert login(world.patient_user).get("/portal/").status_code == 200


def test_switch_off(login, world, settings):
    from allauth.mfa.models import Authenticator

    settings.MAHALO_REQUIRE_STAFF_MFA = False
    Authenticator.objects.filter(user=world.clinician).delete()
    assert login(world.clinician).get("/patients/").status_code == 200


def test_full_login_with_totp_code(client, world, mfa_on):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    response = client.post("/accounts/login/", {"login": world.clinician.email, "password": PASSWORD})
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert client.get("/patients/").status_code == 302  # not signed in until the code is given
    bad = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert bad.status_code == 200
    ok = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert ok.status_code == 302
    assert client.get("/patients/").status_code == 200


def test_staff_member_enrols_totp_and_then_gets_in(client, world, mfa_on):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    client.post("/accounts/login/", {"login": world.clinician.email, "password": PASSWORD})
    assert client.get("/patients/")["Location"] == "/accounts/2fa/"
    # allauth asks for the password again before a security change.
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauthenticate/")
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    done = client.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=world.clinician, type="totp").exists()
    assert Authenticator.objects.filter(user=world.clinician, type="recovery_codes").exists()
    assert client.get("/patients/").status_code == 200
