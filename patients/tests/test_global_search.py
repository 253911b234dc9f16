"""The top bar's patient search (issue 21 item 13): the registry's one search service, in the
user's scope only, over HTTP; audited like a registry search."""

import datetime

import pytest

from mahalo.models import AuditEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/patients/search/"
HX = {"HTTP_HX_REQUEST": "true"}


def test_login_required(client):
    response = client.get(URL, {"q": "a"}, **HX)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_patient_login_gets_404(login, world):
    assert login(world.patient_user).get(URL, {"q": "Portal"}, **HX).status_code == 404


def test_top_bar_shows_the_search_to_staff_only(login, world):
    page = login(world.clinician).get("/patients/").content.decode()
    assert 'id="gsearch-q"' in page and 'hx-get="/patients/search/"' in page
    portal = login(world.patient_user).get("/portal/").content.decode()
    assert 'id="gsearch-q"' not in portal


def test_matches_name_within_scope_only(login, world):
    mine = world.cardiac_patients[1]
    theirs = PatientFactory(program=world.metabolic, last_name=mine.last_name, first_name="Other")
    foreign = PatientFactory(program=world.other_program, last_name=mine.last_name)
    body = login(world.clinician).get(URL, {"q": mine.last_name}, **HX).content.decode()
    assert f"/patients/{mine.pk}/" in body
    assert f"/patients/{theirs.pk}/" not in body
    assert f"/patients/{foreign.pk}/" not in body
    # The lead sees the whole tenant, never the other one.
    body = login(world.lead).get(URL, {"q": mine.last_name}, **HX).content.decode()
    assert f"/patients/{theirs.pk}/" in body and f"/patients/{foreign.pk}/" not in body


def test_matches_mrn_date_of_birth_and_phone_as_typed(login, world):
    target = PatientFactory(program=world.cardiac, last_name="Kealoha", date_of_birth=datetime.date(1956, 3, 14),
                            phone="+18085550199")
    PatientFactory(program=world.cardiac, last_name="Kealoha", date_of_birth=datetime.date(1961, 7, 2),
                   phone="+18085550123")
    client = login(world.clinician)
    for q in (target.mrn, target.mrn.lower(), "1956-03-14", "3/14/1956", "kealoha 03/14/1956",
              "(808) 555-0199", "808-555-0199", "8085550199"):
        body = client.get(URL, {"q": q}, **HX).content.decode()
        assert body.count('role="option"') == 1, q
        assert f"/patients/{target.pk}/" in body, q


def test_registry_uses_the_same_search(login, world):
    target = PatientFactory(program=world.cardiac, date_of_birth=datetime.date(1949, 12, 1))
    body = login(world.clinician).get("/patients/", {"q": "12/01/1949"}).content.decode()
    assert f"/patients/{target.pk}/" in body
    others = [p for p in world.cardiac_patients if p.date_of_birth != target.date_of_birth]
    assert others and all(f"/patients/{p.pk}/" not in body for p in others)


def test_archived_patients_are_found_and_labelled(login, world):
    target = PatientFactory(program=world.cardiac, last_name="Archivedperson", status="archived")
    body = login(world.clinician).get(URL, {"q": "archivedperson"}, **HX).content.decode()
    assert f"/patients/{target.pk}/" in body and "Archived" in body


def test_no_match_says_so(login, world):
    body = login(world.clinician).get(URL, {"q": "zzzznobody"}, **HX).content.decode()
    assert "No patient you can see matches" in body and 'role="option"' not in body


def test_more_results_link_to_the_registry(login, world):
    for i in range(10):
        PatientFactory(program=world.cardiac, last_name=f"Manyname{i:02d}")
    body = login(world.clinician).get(URL, {"q": "manyname"}, **HX).content.decode()
    assert body.count('role="option"') == 8
    assert "8 of 10 patients" in body and "/patients/?q=manyname&amp;status=all" in body


def test_too_long_is_a_clear_400(login, world):
    response = login(world.clinician).get(URL, {"q": "x" * 101}, **HX)
    assert response.status_code == 400
    assert "at most 100 letters" in response.content.decode()


def test_without_htmx_the_search_lands_on_the_registry(login, world):
    response = login(world.clinician).get(URL, {"q": "Smith Jo"})
    assert response.status_code == 302
    assert response["Location"] == "/patients/?q=Smith+Jo&status=all"


def test_audited_like_a_registry_search(login, world):
    target = world.cardiac_patients[2]
    login(world.clinician).get(URL, {"q": target.last_name}, **HX)
    event = AuditEvent.objects.filter(actor=world.clinician, action="list", resource="patients").latest("id")
    assert event.metadata["filters"]["q"] == target.last_name
    assert event.metadata["via"] == "top_bar_search"
    assert event.metadata["count"] >= 1


def test_empty_query_answers_nothing_and_audits_nothing(login, world):
    before = AuditEvent.objects.filter(action="list").count()
    response = login(world.clinician).get(URL, {"q": "  "}, **HX)
    assert response.status_code == 200 and 'role="option"' not in response.content.decode()
    assert AuditEvent.objects.filter(action="list").count() == before
