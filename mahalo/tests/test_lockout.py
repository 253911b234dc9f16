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
