import pytest

from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def attempt(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR="10.9.8.7")


def test_account_locks_after_five_failures(client, world):
    email = world.patient_user.email
    for _ in range(4):
        assert attempt(client, email, "nope-nope").status_code == 200
    assert attempt(client, email, "nope-nope").status_code == 429
    # Even the right password is refused while locked.
    locked = attempt(client, email, world.password)
    assert locked.status_code == 429
    assert b"locked" in locked.content.lower()
    assert client.get("/portal/").status_code == 302
    assert AuditEvent.objects.filter(action="login_failed").count() >= 5
    assert AuditEvent.objects.filter(action="locked_out").exists()


def test_other_accounts_are_not_locked(client, world):
    for _ in range(5):
        attempt(client, world.patient_user.email, "nope-nope")
    assert attempt(client, world.clinician.email, world.password).status_code == 302


def test_limit_is_configurable(client, world, settings):
    settings.AXES_FAILURE_LIMIT = 2
    attempt(client, world.patient_user.email, "nope-nope")
    assert attempt(client, world.patient_user.email, "nope-nope").status_code == 429


def test_success_before_the_limit_resets_the_count(client, world):
    email = world.patient_user.email
    for _ in range(4):
        attempt(client, email, "nope-nope")
    assert attempt(client, email, world.password).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, email, "nope-nope").status_code == 200


def test_a_lockout_from_one_address_does_not_lock_the_owner_elsewhere(client, world):
    """Issue 12: locking by username alone let anyone lock any account; now the failing address only."""
    email = world.patient_user.email
    for _ in range(5):
        attempt(client, email, "nope-nope")
    assert attempt(client, email, world.password).status_code == 429
    owner = client.post("/accounts/login/", {"login": email, "password": world.password}, REMOTE_ADDR="10.1.1.1")
    assert owner.status_code == 302


def test_token_endpoint_is_throttled_per_address(db, settings):
    from rest_framework.test import APIClient

    from mahalo.api_auth import AuthRateThrottle

    AuthRateThrottle.THROTTLE_RATES = {"auth": "3/min"}
    try:
        api = APIClient()
        codes = [api.post("/api/v1/auth/token/", {"email": f"a{n}@x.test", "password": "x"}, format="json",
                          REMOTE_ADDR="10.3.3.3").status_code for n in range(4)]
    finally:
        AuthRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert codes[:3] == [401, 401, 401] and codes[3] == 429


def test_one_address_trying_many_logins_is_throttled(client, world, settings):
    """Issue 12 item 12: password spraying (one address, many logins) is throttled per address,
    while the same login from another address still works."""
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "6/10m/ip"}
    for n in range(6):
        attempt(client, f"nobody{n}@example.org", "nope-nope")
    blocked = attempt(client, world.patient_user.email, world.password)
    assert "_auth_user_id" not in client.session
    assert b"Too many failed login attempts" in blocked.content
    other = client.post("/accounts/login/", {"login": world.patient_user.email, "password": world.password},
                        REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 302 and "_auth_user_id" in client.session
