"""Issue 12's findings outside admin, each through HTTP: the 500s, the account oracle, tokens after MFA
and password changes, bounded JSON. Each test failed before its fix."""

import json

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.security_fixed]

DEEP = "[" * 20000


def test_deeply_nested_json_to_the_token_endpoint_is_a_400(client, db):
    r = client.post("/api/v1/auth/token/", DEEP, content_type="application/json")
    assert r.status_code == 400


@pytest.mark.parametrize("body", [DEEP, '{"a":' * 5000 + "1" + "}" * 5000])
def test_deeply_nested_json_to_an_api_endpoint_is_a_400_with_the_reason(world, api_login, body):
    r = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/observations/", body,
                                   content_type="application/json")
    assert r.status_code == 400
    assert "nested deeper" in r.json()["detail"]


def test_nesting_inside_strings_is_not_counted(world, api_login):
    # Brackets in a string value are text, not structure: the body parses and validation answers.
    body = json.dumps({"metric": "[" * 100, "value": "{" * 100})
    r = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/observations/", body,
                                   content_type="application/json")
    assert r.status_code == 400
    assert "nested" not in r.content.decode()


def test_oversized_json_is_refused_before_parsing(world, api_login, settings):
    settings.API_JSON_MAX_BYTES = 1000
    body = json.dumps({"metric": "heart_rate", "note": "x" * 5000})
    r = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/observations/", body,
                                   content_type="application/json")
    assert r.status_code == 400
    assert "larger than" in r.json()["detail"]


def test_archive_with_a_format_suffix_never_500(world, api_login):
    r = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/archive.json/", {}, format="json")
    assert r.status_code < 500


@pytest.mark.parametrize("nxt", ["-1", "patient_list", "//evil.example/", "https://evil.example/", ""])
def test_program_switch_follows_only_local_paths(world, login, nxt):
    r = login(world.lead).post("/program/switch/", {"program": "", "next": nxt})
    assert r.status_code == 302
    assert r["Location"] == "/"


def test_program_switch_keeps_a_local_path(world, login):
    r = login(world.lead).post("/program/switch/", {"program": "", "next": "/patients/?q=x"})
    assert r["Location"] == "/patients/?q=x"


# --- Sessions and tokens end when a credential changes (item 11) ---------------------------------------

def _tokens(user, password, **extra):
    from rest_framework.test import APIClient

    r = APIClient().post("/api/v1/auth/token/", {"email": user.email, "password": password, **extra}, format="json")
    assert r.status_code == 200, r.content
    return r.json()


def _bearer(access):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def _refresh(refresh):
    from rest_framework.test import APIClient

    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")


def test_removing_totp_ends_the_staff_members_tokens_and_other_sessions(world, client, login):
    from allauth.mfa.models import Authenticator

    user = world.clinician
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    pair = _tokens(user, world.password, otp=_code(user))
    api = _bearer(pair["access"])
    assert api.get(f"/api/v1/patients/{world.me.pk}/").status_code == 200
    other_browser = login(user)
    assert other_browser.get("/patients/").status_code == 200

    totp.delete()  # what /accounts/2fa/totp/deactivate/ or an operator's reset does

    assert api.get(f"/api/v1/patients/{world.me.pk}/").status_code == 401
    assert _refresh(pair["refresh"]).status_code == 401
    assert other_browser.get("/patients/").status_code == 302  # signed out


@pytest.mark.parametrize("change", ["password", "deactivate", "end_role", "add_totp"])
def test_credential_changes_end_tokens(world, change):
    from conftest import enrol_totp

    user = world.patient_user
    pair = _tokens(user, world.password)
    api = _bearer(pair["access"])
    assert api.get("/api/v1/me/").status_code == 200
    if change == "password":
        user.set_password("a-new-long-password-1")
        user.save()
    elif change == "deactivate":
        user.is_active = False
        user.save()
    elif change == "add_totp":
        enrol_totp(user)
    else:
        user = world.lead
        pair = _tokens(user, world.password, otp=_code(user))
        api = _bearer(pair["access"])
        assert api.get("/api/v1/me/").status_code == 200
        user.staff.is_active = False
        user.staff.save()
    assert api.get("/api/v1/me/").status_code == 401
    assert _refresh(pair["refresh"]).status_code == 401


def _code(user):
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    from mahalo.tests.test_mfa import current_code

    auth = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return current_code(get_adapter().decrypt(auth.data["secret"]))


def test_unchanged_credentials_keep_working(world):
    pair = _tokens(world.patient_user, world.password)
    assert _bearer(pair["access"]).get("/api/v1/me/").status_code == 200
    assert _refresh(pair["refresh"]).status_code == 200


def test_deactivating_totp_in_the_web_keeps_that_session_and_blacklists_refresh_tokens(world, login, settings):
    from allauth.mfa.models import Authenticator
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    settings.MAHALO_REQUIRE_STAFF_MFA = False
    user = world.patient_user
    from conftest import enrol_totp

    enrol_totp(user)
    pair = _tokens(user, world.password, otp=_code(user))
    browser = login(user)
    r = browser.post("/accounts/2fa/totp/deactivate/", {})
    assert r.status_code in (200, 302)
    if Authenticator.objects.filter(user=user, type="totp").exists():
        pytest.skip("allauth asked to reauthenticate first; the signal path is covered by the model test")
    assert browser.get("/portal/").status_code == 200
    assert _refresh(pair["refresh"]).status_code == 401
    assert all(hasattr(t, "blacklistedtoken") for t in OutstandingToken.objects.filter(user=user))


# --- No account oracle across tenants (item 7) -----------------------------------------------------------

@pytest.mark.parametrize("whose", ["patient", "staff", "superuser", "orphan"])
def test_inviting_with_another_tenants_login_email_says_the_same_whoever_owns_it(world, login, whose):
    from django.contrib.messages import get_messages

    from mahalo.tests.factories import UserFactory
    from patients.tests.factories import PatientFactory

    email = {"patient": world.patient_user.email, "staff": world.lead.email,
             "superuser": UserFactory(is_superuser=True).email, "orphan": UserFactory().email}[whose]
    theirs = PatientFactory(program=world.other_program, email=email)
    response = login(world.outsider).post(f"/patients/{theirs.pk}/invite/")
    [note] = [str(m) for m in get_messages(response.wsgi_request)]
    assert note == f"{email} can't be used for this patient's portal login. " \
                   "Ask the patient for another email address, or ask support to check it."
    theirs.refresh_from_db()
    assert theirs.user is None


# --- Extreme dates are a 400 (or the page's 404 for a date in the URL), never a 500 (item 15) -----------

def test_extreme_dates_never_500(world, login, api_login):
    patient = login(world.patient_user)
    assert patient.get("/portal/calendar/", {"date": "9999-12-31"}).status_code in (200, 404)
    lead = login(world.lead)
    assert lead.get("/audit/", {"end": "9999-12-31", "start": "0001-01-01"}).status_code == 200
    api = api_login(world.lead)
    assert api.get("/api/v1/scheduling/visits/", {"to": "9999-12-31"}).status_code == 400
    assert api.get("/api/v1/scheduling/slots/", {"from": "9999-12-31"}).status_code == 400
    r = api.get(f"/api/v1/patients/{world.me.pk}/observations/", {"since": "0001-01-01T00:00:00+14:00"})
    assert r.status_code == 400 and "between" in r.content.decode()
    me = api_login(world.patient_user)
    r = me.post("/api/v1/me/device-readings/", {"readings": [
        {"metric": "heart_rate", "value": 70, "unit": "/min", "effective_at": "0001-01-01T00:00:00+14:00"}]},
        format="json")
    assert r.status_code == 400, r.content
