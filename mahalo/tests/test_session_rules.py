import pytest

from mahalo.middleware import IDLE_KEY

pytestmark = pytest.mark.django_db


def test_staff_are_signed_out_after_idle_timeout(login, world, settings):
    settings.MAHALO_STAFF_IDLE_TIMEOUT = 60
    client = login(world.clinician)
    assert client.get("/patients/").status_code == 200
    session = client.session
    session[IDLE_KEY] = session[IDLE_KEY] - 61
    session.save()
    response = client.get("/patients/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert client.get("/patients/").status_code == 302


def test_activity_keeps_the_session(login, world, settings):
    import time

    settings.MAHALO_STAFF_IDLE_TIMEOUT = 100
    settings.MAHALO_IDLE_WRITE_SECONDS = 60
    client = login(world.clinician)
    client.get("/")
    session = client.session
    session[IDLE_KEY] = session[IDLE_KEY] - 70
    session.save()
    assert client.get("/patients/").status_code == 200
    # The request refreshed the clock, so another 70 s later the session still lives.
    assert client.session[IDLE_KEY] >= int(time.time()) - 1


def test_patients_have_no_staff_idle_timeout(login, world, settings):
    settings.MAHALO_STAFF_IDLE_TIMEOUT = 1
    client = login(world.patient_user)
    client.get("/portal/")
    assert IDLE_KEY not in client.session
