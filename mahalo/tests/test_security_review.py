"""Security review of the core app: home, program switch, API authentication,
the audit log, the admin of tenants' staff, roles and settings, and tenant
deactivation. Concrete attacks through HTTP; see `mahalo/tests/security.py`.
Patients', messaging's and other apps' routes have their own review beside their tests.
"""

import pytest

from mahalo.tests.factories import staff
from mahalo.tests.security import NUL_500

pytestmark = pytest.mark.django_db

# --- Registry, export, filters --------------------------------------------------------------

def test_home_counts_only_in_scope(world, login):
    r = login(world.clinician).get("/")
    assert r.status_code == 200
    names = {row["program__name"] for row in r.context["by_program"]}
    assert names == {world.cardiac.name}


def test_switch_program_to_foreign_program_does_not_widen(world, login):
    client = login(world.clinician)
    r = client.post("/program/switch/", {"program": str(world.metabolic.pk), "next": "/patients/"})
    assert (r.status_code, r["Location"]) == (302, "/patients/")
    body = client.get("/patients/").content.decode()
    assert all(str(p.pk) in body for p in world.cardiac_patients)  # still the clinician's own program
    assert all(str(p.pk) not in body for p in world.metabolic_patients)


def test_switch_program_with_garbage_id_never_500(world, login):
    r = login(world.clinician).post("/program/switch/", {"program": "not-a-uuid"})
    assert r.status_code == 302  # ignored: back where the user came from


def test_switch_program_open_redirect_refused(world, login):
    r = login(world.clinician).post("/program/switch/", {"program": "", "next": "https://evil.test/"})
    assert r.status_code == 302 and "evil.test" not in r["Location"]


# --- API ---------------------------------------------------------------------------------------

def test_api_anonymous_is_refused(client, world):
    for url in ("/api/v1/patients/", f"/api/v1/patients/{world.me.pk}/", "/api/v1/me/",
                f"/api/v1/patients/{world.me.pk}/threads/"):
        assert client.get(url).status_code == 401, url  # token auth comes first: it asks for credentials


def test_api_token_refresh_garbage_never_500(client, db):
    url = "/api/v1/auth/token/refresh/"
    for body, expected in (({"refresh": "garbage"}, 401), ({}, 400), ({"refresh": "a.b.c"}, 401)):
        assert client.post(url, body, content_type="application/json").status_code == expected, body
    assert client.post("/api/v1/auth/token/", "not json", content_type="application/json").status_code == 400


# --- Audit log ------------------------------------------------------------------------------------

def test_audit_log_is_tenant_scoped(world, login):
    login(world.outsider).get(f"/patients/{world.foreign_patients[0].pk}/")
    login(world.clinician).get(f"/patients/{world.me.pk}/")  # a read in the lead's own tenant
    r = login(world.lead).get("/audit/")
    assert r.status_code == 200
    assert world.clinician.email.encode() in r.content
    assert world.outsider.email.encode() not in r.content
    csv = b"".join(login(world.lead).get("/audit/export.csv").streaming_content)
    assert world.clinician.email.encode() in csv
    assert world.outsider.email.encode() not in csv


def test_audit_log_forbidden_for_clinician(world, login):
    assert login(world.clinician).get("/audit/").status_code == 403
    assert login(world.clinician).get("/audit/export.csv").status_code == 403


def test_audit_log_garbage_params_never_500(world, login):
    client = login(world.lead)
    for params in ({"start": "x"}, {"end": "2026-99-99"}, {"patient": "a" * 300}, {"page": "zz"}):
        assert client.get("/audit/", params).status_code in (200, 400)


# --- Admin ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/admin/mahalo/staffmember/", "/admin/mahalo/role/", "/admin/patients/program/",
                                 "/admin/mahalo/featureflag/", "/admin/mahalo/projectsetting/",
                                 "/admin/mahalo/programassignment/", "/admin/mahalo/programsetting/",
                                 "/admin/messaging/notificationtemplate/"])
def test_admin_project_list_filter_does_not_leak_other_tenants(world, login, url):
    r = login(world.outsider).get(url)
    assert r.status_code == 200
    body = r.content.decode()
    assert world.project.name not in body and world.cardiac.name not in body and world.metabolic.name not in body


def test_admin_outsider_cannot_add_staff_into_other_tenant(world, login):
    r = login(world.outsider).get("/admin/mahalo/staffmember/add/")
    assert r.status_code == 200
    form = r.context["adminform"].form
    assert set(form.fields["project"].queryset) == {world.other_project}
    assert all(role.project_id == world.other_project.pk for role in form.fields["role"].queryset)


def test_admin_user_and_grants_are_superuser_only(world, login):
    client = login(world.outsider)
    assert client.get("/admin/mahalo/user/").status_code == 403
    assert client.get("/admin/patients/patientuserobjectpermission/").status_code == 403
    assert client.get("/admin/account/emailaddress/").status_code == 403


# --- NUL bytes (PostgreSQL refuses them in text) ----------------------------------------------------

@NUL_500
def test_audit_filter_with_nul_byte_never_500(world, login):
    client = login(world.lead)
    assert client.get("/audit/", {"patient": "a\x00", "actor": "b\x00", "action": "c\x00"}).status_code in (200, 400)


# --- More scope checks ------------------------------------------------------------------------------

def test_inactive_tenant_staff_loses_access(world, login):
    assert login(world.lead).get(f"/patients/{world.me.pk}/").status_code == 200
    world.project.is_active = False
    world.project.save(update_fields=["is_active"])
    assert login(world.lead).get(f"/patients/{world.me.pk}/").status_code == 404


# --- Type confusion in JSON bodies --------------------------------------------------------------------

@pytest.mark.parametrize("payload", [["x"], {"email": ["a"], "password": {"b": 1}}, "null"])
def test_api_token_with_bad_json_never_500(db, client, payload):
    import json

    body = payload if isinstance(payload, str) else json.dumps(payload)
    r = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert r.status_code == 400


# --- Admin writes with foreign ids ---------------------------------------------------------------------

def test_admin_outsider_cannot_assign_own_staff_to_tenant_program(world, login):
    from mahalo.models import ProgramAssignment

    r = login(world.outsider).post("/admin/mahalo/programassignment/add/", {
        "staff": str(staff(world.outsider).pk), "program": str(world.cardiac.pk)})
    assert r.status_code == 200 and "program" in r.context["adminform"].form.errors
    assert not ProgramAssignment.objects.filter(program=world.cardiac, staff=staff(world.outsider)).exists()


def test_admin_outsider_cannot_attach_tenant_user_or_role_to_staff(world, login):
    member = staff(world.outsider)
    r = login(world.outsider).post(f"/admin/mahalo/staffmember/{member.pk}/change/", {
        "user": str(world.clinician.pk), "project": str(world.project.pk), "role": str(staff(world.lead).role_id),
        "title": "", "specialties": "[]", "license_number": "", "is_active": "on",
        "assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0"})
    assert r.status_code == 200
    errors = r.context["adminform"].form.errors
    assert {"user", "project", "role"} <= set(errors)
    member.refresh_from_db()
    assert member.project_id == world.other_project.pk and member.user_id == world.outsider.pk

