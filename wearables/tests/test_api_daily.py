"""/api/v1/patients/<uuid>/wearables/connections/, /daily-metrics/ and their /me/ twins, through HTTP."""

from datetime import timedelta

import pytest

from wearables.tests.factories import ConnectionFactory, DailyMetricFactory

pytestmark = pytest.mark.django_db


def test_login_required(client, world):
    for url in (f"/api/v1/patients/{world.me.pk}/wearables/connections/", "/api/v1/me/daily-metrics/",
                f"/api/v1/patients/{world.me.pk}/daily-metrics/", "/api/v1/me/wearables/connections/"):
        assert client.get(url).status_code in (401, 403), url


def test_connections_never_show_tokens(api_login, world):
    ConnectionFactory(patient=world.me, provider="oura")
    ConnectionFactory(patient=world.cardiac_patients[1], provider="whoop")
    body = api_login(world.clinician).get(f"/api/v1/patients/{world.me.pk}/wearables/connections/").json()
    assert [r["provider"] for r in body["results"]] == ["oura"]
    assert not any("token" in key for key in body["results"][0])
    mine = api_login(world.patient_user).get("/api/v1/me/wearables/connections/").json()
    assert [r["provider"] for r in mine["results"]] == ["oura"]


def test_daily_metrics_range(api_login, world):
    today = world.me.today
    for days in (1, 5, 40):
        DailyMetricFactory(patient=world.me, date=today - timedelta(days=days), resting_hr=60 + days)
    DailyMetricFactory(patient=world.cardiac_patients[1], date=today - timedelta(days=1))
    url = f"/api/v1/patients/{world.me.pk}/daily-metrics/"
    api = api_login(world.clinician)
    assert api.get(url).json()["count"] == 2  # the last 30 days by default
    body = api.get(url, {"from": str(today - timedelta(days=60)), "to": str(today - timedelta(days=2))}).json()
    assert [r["resting_hr"] for r in body["results"]] == [100.0, 65.0]
    mine = api_login(world.patient_user).get("/api/v1/me/daily-metrics/").json()
    assert mine["count"] == 2


def test_bad_range_is_400(api_login, world):
    api = api_login(world.clinician)
    url = f"/api/v1/patients/{world.me.pk}/daily-metrics/"
    assert "from" in api.get(url, {"from": "yesterday"}).json()
    assert api.get(url, {"from": "2026-03-10", "to": "2026-03-01"}).status_code == 400
    assert api.get(url, {"from": "2020-01-01", "to": "2026-03-01"}).status_code == 400


def test_other_program_and_tenant_are_404(api_login, world):
    for url in (f"/api/v1/patients/{world.metabolic_patients[0].pk}/daily-metrics/",
                f"/api/v1/patients/{world.metabolic_patients[0].pk}/wearables/connections/"):
        assert api_login(world.clinician).get(url).status_code == 404
    assert api_login(world.outsider).get(f"/api/v1/patients/{world.me.pk}/daily-metrics/").status_code == 404
    assert api_login(world.clinician).get("/api/v1/me/daily-metrics/").status_code == 404
    assert api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/daily-metrics/", {}).status_code in (403, 405)
