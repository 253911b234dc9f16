"""The registry's "Sodium over target (7 days)" column, filter and CSV."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nutrition import services
from nutrition.tests.factories import SOUP, TOAST, log

pytestmark = pytest.mark.django_db


def at_local(patient, days_back: int, hour: int = 12):
    day = services.today_for(patient) - timedelta(days=days_back)
    return min(datetime.combine(day, time(hour), tzinfo=services.tz_of(patient)),
               timezone.now() - timedelta(minutes=1))


def salty_days(patient, actor, days_back):
    for back in days_back:
        log(patient, actor, [(SOUP, 2, "serving 1 cup"), (TOAST, 2, "slice")], meal_type="lunch",
            at=at_local(patient, back))


@pytest.fixture
def salty(nw):
    kai, other = nw.me, nw.cardiac_patients[1]
    for p in (kai, other):
        services.target_set(patient=p, actor=nw.clinician, values={"sodium_mg": 500}, via="test")
    salty_days(kai, nw.clinician, [0, 1, 2, 3])
    salty_days(kai, nw.clinician, [9])  # outside the 7 days: doesn't count
    salty_days(other, nw.clinician, [2])
    return nw


def values(response):
    return {r["url"]: r["values"]["sodium_over"] for r in response.context["rows"]}


def test_column_counts_days_over_the_target_in_the_last_7_local_days(login, salty):
    nw = salty
    response = login(nw.lead).get("/patients/")
    got = values(response)
    assert got[f"/patients/{nw.me.pk}/"] == 4
    assert got[f"/patients/{nw.cardiac_patients[1].pk}/"] == 1
    assert got[f"/patients/{nw.cardiac_patients[2].pk}/"] is None  # no target: not 0
    html = response.content.decode()
    assert "Sodium over target (7 days)" in html and "4/7" in html


def test_filter_and_csv(login, salty):
    nw = salty
    client = login(nw.lead)
    urls = {r["url"] for r in client.get("/patients/?sodium_over=3").context["rows"]}
    assert urls == {f"/patients/{nw.me.pk}/"}
    urls = {r["url"] for r in client.get("/patients/?sodium_over=1").context["rows"]}
    assert urls == {f"/patients/{nw.me.pk}/", f"/patients/{nw.cardiac_patients[1].pk}/"}
    bad = client.get("/patients/?sodium_over=many")
    assert bad.status_code == 200 and bad.context["errors"]["sodium_over"]
    csv = b"".join(client.get("/patients/export.csv?sodium_over=3").streaming_content).decode().splitlines()
    import csv as csvlib

    header, *rows = list(csvlib.reader(csv))
    assert len(rows) == 1 and rows[0][header.index("Sodium over target (7 days)")] == "4"
    api = client.get("/api/v1/patients/?sodium_over=3")
    assert api.status_code == 200
    assert [p["id"] for p in api.json()["results"]] == [str(nw.me.pk)]


def test_scope_and_flag(login, salty):
    nw = salty
    # the metabolic clinician's registry never lists cardiac patients, filtered or not
    assert login(nw.other_clinician).get("/patients/?sodium_over=1").context["rows"] == []
    from nutrition.tests.factories import flag

    flag(nw.project, False)
    got = values(login(nw.lead).get("/patients/"))
    assert got[f"/patients/{nw.me.pk}/"] is None


def test_query_count_is_constant(login, nw):
    client = login(nw.lead)
    client.get("/patients/")
    with CaptureQueriesContext(connection) as few:
        client.get("/patients/")
    for p in nw.cardiac_patients:
        services.target_set(patient=p, actor=nw.clinician, values={"sodium_mg": 500}, via="test")
        salty_days(p, nw.clinician, [0, 1])
    with CaptureQueriesContext(connection) as many:
        client.get("/patients/")
    assert len(many.captured_queries) == len(few.captured_queries) + 1  # the meals query once targets exist
