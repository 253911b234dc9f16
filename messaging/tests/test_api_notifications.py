"""/api/v1/me/notifications/: the login's own rows; mark one or all read."""

import pytest

from messaging.tests.factories import in_app_notification

pytestmark = pytest.mark.django_db


def test_login_required(client):
    assert client.get("/api/v1/me/notifications/").status_code in (401, 403)
    assert client.post("/api/v1/me/notifications/read-all/").status_code in (401, 403)


def test_own_notifications_only_and_mark_read(api_login, world):
    mine = in_app_notification(world.patient_user, "api-n1")
    in_app_notification(world.patient_user, "api-n2")
    theirs = in_app_notification(world.clinician, "api-n3")
    api = api_login(world.patient_user)
    body = api.get("/api/v1/me/notifications/").json()
    assert body["count"] == 2 and str(theirs.pk) not in {r["id"] for r in body["results"]}
    read = api.post(f"/api/v1/me/notifications/{mine.pk}/read/")
    assert read.status_code == 200 and read.json()["read"] is True
    assert api.get("/api/v1/me/notifications/", {"unread": "1"}).json()["count"] == 1
    assert api.post(f"/api/v1/me/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.seen_at is None
    assert api.post("/api/v1/me/notifications/read-all/").json() == {"marked": 1}
    assert api.get("/api/v1/me/notifications/", {"unread": "1"}).json()["count"] == 0
    assert api_login(world.clinician).get("/api/v1/me/notifications/").json()["count"] == 1
