"""Issue 12 item 10: an archived patient keeps reading their record (portal and app) but changes
nothing: the gate grants read only, the portal says so, every write (page, session API, token
API, function views and viewsets alike) is refused with the reason, and signing out still works."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clinical.models import Observation
from patients import services

pytestmark = pytest.mark.django_db

ME_OBS = "/api/v1/me/observations/"


@pytest.fixture
def archived(world):
    services.patient_archive(patient=world.me, actor=world.lead, reason="Moved away")
    world.me.refresh_from_db()
    return world.me


def _reading():
    when = (timezone.now() - timedelta(minutes=5)).isoformat()
    return {"metric": "weight", "value": 80, "unit": "kg", "effective_at": when}


def test_portal_reads_with_a_notice_and_refuses_writes(world, archived, login):
    client = login(world.patient_user)
    page = client.get("/portal/")
    assert page.status_code == 200 and "is archived" in page.content.decode()
    local = (timezone.now() - timedelta(minutes=3)).astimezone(archived.program.tz)
    refused = client.post("/portal/vitals/", {"metric": "weight", "value": "80", "unit": "kg",
                                              "effective_at": local.strftime("%Y-%m-%dT%H:%M")})
    assert refused.status_code == 403 and "archived" in refused.content.decode()
    assert not Observation.objects.filter(patient=archived).exists()
    assert client.post("/accounts/logout/").status_code == 302  # signing out stays open


def test_api_reads_and_refuses_writes_session_and_token(world, archived, api_login, settings):
    session = api_login(world.patient_user)
    assert session.get(ME_OBS).status_code == 200
    r = session.post(ME_OBS, _reading(), format="json")
    assert r.status_code == 403 and "archived" in r.json()["detail"]
    me = session.get("/api/v1/me/").json()
    assert me["permissions"] and all(p.endswith(":read") for p in me["permissions"])
    tokens = APIClient().post("/api/v1/auth/token/", {"email": world.patient_user.email,
                                                      "password": world.password}, format="json")
    assert tokens.status_code == 200
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert bearer.get(ME_OBS).status_code == 200
    r = bearer.post(ME_OBS, _reading(), format="json")
    assert r.status_code == 403 and "archived" in r.json()["detail"]
    # A function view (not the gated viewset) is refused the same way.
    r = bearer.post("/api/v1/me/exercise-logs/", {"duration_min": 20}, format="json")
    assert r.status_code == 403 and "archived" in r.json()["detail"]
    assert not Observation.objects.filter(patient=archived).exists()


def test_an_active_patient_still_writes(world, api_login):
    r = api_login(world.patient_user).post(ME_OBS, _reading(), format="json")
    assert r.status_code == 201
