import pytest

pytestmark = pytest.mark.django_db


def test_schema_lists_the_patients_endpoint(login, world):
    response = login(world.clinician).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/v1/patients/{id}/" in response.json()["paths"]


def test_swagger_ui_is_served_from_our_own_static_files(login, world):
    response = login(world.clinician).get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in body
    assert "cdn" not in body.lower()
    # The init script is a separate file so the strict CSP (script-src 'self') allows it.
    script = login(world.clinician).get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
