"""Issue 12's findings outside admin, each through HTTP: the 500s, the account oracle, tokens after MFA
and password changes, bounded JSON. Each test failed before its fix."""

import json

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.security_fixed]

DEEP = "[" * 20000


def test_deeply_nested_json_to_the_token_endpoint_is_a_400(client, db):
    r = client.post("/api/v1/auth/token/", DEEP, content_type="application/json")
    assert r.status_code == 400


@pytest.mark.parametrize("body", [DEEP, '{"a":' * 5000 + "1" + "}" * 5000])
def test_deeply_nested_json_to_an_api_endpoint_is_a_400_with_the_reason(world, api_login, body):
    r = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/observations/", body,
                                   content_type="application/json")
    assert r.status_code == 400
    assert "nested deeper" in r.json()["detail"]


def test_nesting_inside_strings_is_not_counted(world, api_login):
    # Brackets in a string value are text, not structure: the body parses and validation answers.
    body = json.dumps({"metric": "[" * 100, "value": "{" * 100})
    r = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/observations/", body,
                                   content_type="application/json")
    assert r.status_code == 400
    assert "nested" not in r.content.decode()


def test_oversized_json_is_refused_before_parsing(world, api_login, settings):
    settings.API_JSON_MAX_BYTES = 1000
    body = json.dumps({"metric": "heart_rate", "note": "x" * 5000})
    r = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/observations/", body,
                                   content_type="application/json")
    assert r.status_code == 400
    assert "larger than" in r.json()["detail"]


def test_archive_with_a_format_suffix_never_500(world, api_login):
    r = api_login(world.lead).post(f"/api/v1/patients/{world.me.pk}/archive.json/", {}, format="json")
    assert r.status_code < 500


@pytest.mark.parametrize("nxt", ["-1", "patient_list", "//evil.example/", "https://evil.example/", ""])
def test_program_switch_follows_only_local_paths(world, login, nxt):
    r = login(world.lead).post("/program/switch/", {"program": "", "next": nxt})
    assert r.status_code == 302
    assert r["Location"] == "/"


def test_program_switch_keeps_a_local_path(world, login):
    r = login(world.lead).post("/program/switch/", {"program": "", "next": "/patients/?q=x"})
    assert r["Location"] == "/patients/?q=x"
