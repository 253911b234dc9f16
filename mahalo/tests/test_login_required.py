"""Every page and endpoint asks for a login first."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/patients/", "/portal/", "/audit/", "/audit/export.csv", "/admin/", "/admin/patients/patient/",
         "/accounts/2fa/", "/accounts/password/change/"]
API = ["/api/v1/", "/api/v1/patients/", "/api/v1/me/", "/api/schema/", "/api/docs/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("path", API)
def test_api_refuses_anonymous(client, path):
    assert client.get(path).status_code == 401  # token auth comes first: it asks for credentials


def test_patient_pages_redirect_with_a_real_id(client, world):
    response = client.get(f"/patients/{world.me.pk}/")
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.get(f"/api/v1/patients/{world.me.pk}/").status_code == 401


def test_switch_program_requires_login(client):
    response = client.post("/program/switch/", {"program": ""})
    assert response.status_code == 302 and "login" in response["Location"]


def test_healthz_is_public(client):
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("query", [
    {"page": "abc"}, {"page": "99999"}, {"program": "not-a-uuid"}, {"status": "<script>"}, {"sort": "password"},
    {"q": "' OR 1=1 --"}, {"q": "%_%"},
])
def test_odd_query_strings_never_500(login, world, query):
    client = login(world.lead)
    assert client.get("/patients/", query).status_code == 200
    assert client.get("/audit/", {**query, "start": "2026-13-45"}).status_code == 200
    assert client.get("/api/v1/patients/", query).status_code in (200, 404)
