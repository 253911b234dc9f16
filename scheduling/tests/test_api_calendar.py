"""/api/v1/calendar/events/: the login's own events only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduling import calendars

pytestmark = pytest.mark.django_db


def _event(user, title, patient=None):
    calendar = calendars.default_calendar(user=user, patient=patient)
    return calendars.event_create(calendar=calendar, actor=user, title=title,
                                  starts_at=timezone.now() + timedelta(days=1), duration_minutes=30)


def test_login_required(client):
    assert client.get("/api/v1/calendar/events/").status_code in (401, 403)


def test_own_events_only(api_login, world):
    mine = _event(world.clinician, "Team huddle")
    theirs = _event(world.patient_user, "Walk", patient=world.me)
    api = api_login(world.clinician)
    body = api.get("/api/v1/calendar/events/").json()
    assert [r["title"] for r in body["results"]] == ["Team huddle"]
    assert api.get(f"/api/v1/calendar/events/{mine.pk}/").json()["title"] == "Team huddle"
    assert api.get(f"/api/v1/calendar/events/{theirs.pk}/").status_code == 404
    assert [r["title"] for r in api_login(world.patient_user).get("/api/v1/calendar/events/").json()["results"]] \
        == ["Walk"]
    assert api.post("/api/v1/calendar/events/", {"title": "x"}, format="json").status_code == 405
