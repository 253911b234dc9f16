import pytest

pytestmark = pytest.mark.django_db


def test_reports_database_cache_and_broker(client, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["cache"] == "ok" and body["broker"] == "eager"


def test_reports_an_unreachable_broker_without_failing(client, settings):
    from mahalo.celery import app

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = None
    assert response.status_code == 200
    assert response.json()["broker"].startswith("error")
    assert response.json()["status"] == "degraded"


def test_reports_a_live_broker_when_one_is_configured(client, settings):
    import os

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL not set (CI sets it)")
    from mahalo.celery import app

    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    try:
        assert client.get("/healthz").json()["broker"] == "ok"
    finally:
        app.conf.broker_url = None
