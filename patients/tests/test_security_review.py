"""Security review of patients' routes: the chart, the registry and its export,
care teams, the portal shell, imports, the patients API and the patient admin.
Concrete attacks through HTTP by a clinician of another program, another
tenant's admin, a role without the permission, or another patient; see
`mahalo/tests/security.py`. Tests marked security_fixed document findings the
app now fixes.
"""

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from mahalo.tests.factories import staff
from mahalo.tests.security import NUL_500, TYPE_500, tmp_media  # noqa: F401 (tmp_media: a fixture, found by name)
from patients import care_team
from patients.models import CareTeamLink, Patient, PatientImport
from patients.tests.factories import PatientFactory, PatientImportFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tmp_media")]

# --- Patient records (chart, edit, status) -----------------------------------------------

@pytest.mark.parametrize("suffix", ["", "timeline/", "edit/", "messages/"])
def test_chart_pages_of_other_program_and_other_tenant_are_404(world, login, suffix):
    client = login(world.clinician)
    for patient in (world.metabolic_patients[0], world.foreign_patients[0]):
        r = client.get(f"/patients/{patient.pk}/{suffix}")
        assert r.status_code == 404, (suffix, patient)
        # The full name and the MRN, not the surname alone: the page names the signed-in
        # clinician, whose random surname may be the patient's.
        assert patient.mrn and patient.mrn.encode() not in r.content
        assert f"{patient.first_name} {patient.last_name}".encode() not in r.content
        assert f"{patient.last_name}, {patient.first_name}".encode() not in r.content


def test_chart_htmx_fragment_of_other_program_is_404(world, login):
    client = login(world.clinician)
    r = client.get(f"/patients/{world.metabolic_patients[0].pk}/", HTTP_HX_REQUEST="true",
                   HTTP_HX_TARGET="chart-main")
    assert r.status_code == 404
    r = client.get(f"/patients/{world.metabolic_patients[0].pk}/timeline/", HTTP_HX_REQUEST="true",
                   HTTP_HX_TARGET="timeline-more")
    assert r.status_code == 404


def test_outsider_cannot_reach_any_patient_of_the_tenant(world, login):
    client = login(world.outsider)
    for patient in world.cardiac_patients[:2] + world.metabolic_patients[:1]:
        assert client.get(f"/patients/{patient.pk}/").status_code == 404
        assert client.post(f"/patients/{patient.pk}/status/", {"action": "archive"}).status_code == 404
        assert client.post(f"/patients/{patient.pk}/edit/", {"first_name": "Pwned"}).status_code == 404
    assert not Patient.objects.filter(first_name="Pwned").exists()
    assert not Patient.objects.filter(project=world.project, status="archived").exists()


def test_status_change_on_other_program_patient_is_404_and_unchanged(world, login):
    target = world.metabolic_patients[0]
    r = login(world.clinician).post(f"/patients/{target.pk}/status/", {"action": "archive"})
    assert r.status_code == 404
    target.refresh_from_db()
    assert target.status == "active"


def test_dietitian_cannot_write_patients(world, login):
    client = login(world.dietitian)
    target = world.metabolic_patients[0]
    assert client.get(f"/patients/{target.pk}/").status_code == 200  # in scope, read-only role
    assert client.get("/patients/new/").status_code == 403
    assert client.post(f"/patients/{target.pk}/edit/", {"first_name": "X"}).status_code == 403
    assert client.post(f"/patients/{target.pk}/status/", {"action": "archive"}).status_code == 403
    assert client.get("/patients/import/").status_code == 403
    assert client.post(f"/patients/{target.pk}/invite/").status_code == 403
    target.refresh_from_db()
    assert target.status == "active" and target.first_name != "X"


def test_create_patient_with_other_program_or_foreign_program_is_refused(world, login):
    client = login(world.clinician)
    before = Patient.objects.count()
    for program in (world.metabolic, world.other_program):
        r = client.post("/patients/new/", {"program": program.pk, "first_name": "Evil", "last_name": "Twin",
                                           "country": "US"})
        assert r.status_code == 200  # the form again, with an error on program
        assert "program" in r.context["form"].errors
    assert Patient.objects.count() == before


def test_create_form_offers_only_own_programs(world, login):
    r = login(world.clinician).get("/patients/new/")
    choices = {str(pk) for pk, _ in r.context["form"].fields["program"].choices}
    assert str(world.cardiac.pk) in choices
    assert str(world.metabolic.pk) not in choices and str(world.other_program.pk) not in choices


def test_edit_cannot_move_patient_into_other_program_or_tenant(world, login):
    target = world.cardiac_patients[1]
    client = login(world.clinician)
    for program in (world.metabolic, world.other_program):
        r = client.post(f"/patients/{target.pk}/edit/", {"program": program.pk, "first_name": target.first_name,
                                                         "last_name": target.last_name, "country": "US"})
        assert r.status_code == 200 and "program" in r.context["form"].errors
    target.refresh_from_db()
    assert target.program_id == world.cardiac.pk and target.project_id == world.project.pk


# --- Registry, export, filters --------------------------------------------------------------

def _export(client, params) -> list[dict]:
    response = client.get("/patients/export.csv", params)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_registry_and_export_only_show_scope_even_with_tampered_program(world, login):
    client = login(world.clinician)
    own = {p.mrn for p in world.cardiac_patients}
    hidden = world.metabolic_patients + world.foreign_patients
    for params in ({}, {"program": world.metabolic.pk}, {"program": world.other_program.pk}, {"status": "all"},
                   {"care_team": staff(world.other_clinician).pk}):
        r = client.get("/patients/", params)
        assert r.status_code == 200
        body = r.content.decode()
        for p in hidden:
            assert str(p.pk) not in body and p.mrn not in body
        rows = _export(client, params)
        # The export has no id column: its MRNs (unique, never empty) and emails identify the patients.
        assert {row["MRN"] for row in rows} <= own, params
        assert not {row["Email"] for row in rows} & {p.email for p in hidden}, params
    # The same page and export do list the clinician's own patients, so the checks above can fail.
    body = client.get("/patients/").content.decode()
    assert all(str(p.pk) in body for p in world.cardiac_patients)
    assert {row["MRN"] for row in _export(client, {})} == own
    body = client.get("/patients/", HTTP_HX_REQUEST="true").content.decode()
    assert all(str(p.pk) in body for p in world.cardiac_patients)
    assert all(str(p.pk) not in body for p in world.metabolic_patients)


@pytest.mark.parametrize("params", [
    {"program": "not-a-uuid"}, {"care_team": "zzz"}, {"no_data_days": "9" * 40}, {"flag": "<script>"},
    {"sort": "password"}, {"page": "-1"}, {"page": "99999999999999999999"}, {"status": "'; DROP"},
    {"q": "a" * 5000},
])
def test_registry_garbage_params_never_500(world, login, params):
    client = login(world.lead)
    assert client.get("/patients/", params).status_code in (200, 400)
    assert client.get("/patients/export.csv", params).status_code in (200, 400)


@NUL_500
def test_registry_search_with_nul_byte_never_500(world, login):
    # PostgreSQL refuses NUL in string literals (psycopg raises DataError -> 500 if unhandled).
    client = login(world.lead)
    assert client.get("/patients/", {"q": "ab\x00cd"}).status_code in (200, 400)


def test_registry_care_team_filter_choices_are_own_tenant(world, login):
    r = login(world.lead).get("/patients/")
    ids = {s.pk for s in r.context["care_team_choices"]}
    assert staff(world.outsider).pk not in ids
    assert staff(world.clinician).pk in ids


def test_timeline_cursor_garbage_and_overflow_never_500(world, login):
    # A cursor the app did not write names no page of the feed: 404, as an unknown page number does.
    client = login(world.clinician)
    url = f"/patients/{world.me.pk}/timeline/"
    assert client.get(url, {"before": timezone.now().isoformat()}).status_code == 200  # a real cursor works
    for before in ("garbage", "2026-01-01T00:00:00", "2026-13-45T00:00:00+00:00"):
        assert client.get(url, {"before": before}).status_code == 404, before


@pytest.mark.security_fixed  # was a 500: the edits source zipped an empty page with its predecessor
def test_timeline_cursor_older_than_the_record_is_an_empty_page(world, login):
    client = login(world.clinician)
    url = f"/patients/{world.me.pk}/timeline/"
    first = world.me.history.earliest("history_date").history_date
    r = client.get(url, {"before": (first - timedelta(days=1)).isoformat()})
    assert r.status_code == 200
    assert r.context["entries"] == []


def test_timeline_cursor_out_of_range_never_500(world, login):
    client = login(world.clinician)
    url = f"/patients/{world.me.pk}/timeline/"
    assert client.get(url, {"before": "2200-01-01T00:00:00+00:00"}).status_code == 200  # the last year allowed
    for before in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        assert client.get(url, {"before": before}).status_code == 404, before


# --- Care team --------------------------------------------------------------------------------

def test_outsider_care_team_actions_on_tenant_patient_are_404(world, login):
    target = world.cardiac_patients[1]
    link = care_team.care_team_request(patient=target, staff=staff(world.clinician), actor=world.lead)
    client = login(world.outsider)
    for action in ("approve", "decline", "end", "block"):
        assert client.post(f"/patients/{target.pk}/care-team/{link.pk}/{action}/").status_code == 404
    assert client.post(f"/patients/{target.pk}/care-team/add/",
                       {"staff": staff(world.outsider).pk}).status_code == 404
    assert client.post(f"/patients/{target.pk}/invite/").status_code == 404
    link.refresh_from_db()
    assert link.status == "requested"


def test_care_team_act_with_link_of_another_patient_is_404(world, login):
    # The clinician may update world.me, but the link belongs to a metabolic patient.
    other = world.metabolic_patients[0]
    link = care_team.care_team_request(patient=other, staff=staff(world.other_clinician), actor=world.lead)
    r = login(world.clinician).post(f"/patients/{world.me.pk}/care-team/{link.pk}/approve/")
    assert r.status_code == 404
    link.refresh_from_db()
    assert link.status == "requested"


def _errors(response) -> list[str]:
    """The error messages a redirect carries to the next page."""
    return [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def test_care_team_add_foreign_staff_is_refused(world, login):
    target = world.cardiac_patients[1]
    r = login(world.lead).post(f"/patients/{target.pk}/care-team/add/", {"staff": staff(world.outsider).pk})
    assert r.status_code == 302 and _errors(r), "back to the chart with an error"
    assert not CareTeamLink.objects.filter(patient=target, staff=staff(world.outsider)).exists()


def test_care_team_add_garbage_staff_never_500(world, login):
    target = world.cardiac_patients[1]
    for value in ("nope", "", str(uuid.uuid4())):
        r = login(world.lead).post(f"/patients/{target.pk}/care-team/add/", {"staff": value})
        assert r.status_code == 302 and _errors(r), value
    assert not CareTeamLink.objects.filter(patient=target).exists()


def test_care_team_respond_to_someone_elses_request_is_404(world, login):
    link = care_team.care_team_request(patient=world.metabolic_patients[0], staff=staff(world.other_clinician),
                                       actor=world.lead)
    for user in (world.clinician, world.outsider):
        assert login(user).post(f"/care-team/requests/{link.pk}/approve/").status_code == 404
    link.refresh_from_db()
    assert link.status == "requested"


def test_care_team_requests_page_lists_only_own(world, login):
    theirs = care_team.care_team_request(patient=world.metabolic_patients[0], staff=staff(world.other_clinician),
                                         actor=world.lead)
    mine = care_team.care_team_request(patient=world.cardiac_patients[1], staff=staff(world.clinician),
                                       actor=world.lead)
    r = login(world.clinician).get("/care-team/requests/")
    assert r.status_code == 200
    body = r.content.decode()
    assert str(mine.pk) in body
    assert str(theirs.pk) not in body and str(world.metabolic_patients[0].pk) not in body


def test_care_team_add_form_choices_are_own_tenant(world, login):
    r = login(world.lead).get(f"/patients/{world.cardiac_patients[1].pk}/")
    assert r.status_code == 200
    body = r.content.decode()
    assert str(staff(world.other_clinician).pk) in body  # the form lists the tenant's staff
    assert str(staff(world.outsider).pk) not in body
    assert world.outsider.email not in body


def test_portal_care_team_request_for_foreign_or_unrelated_staff_refused(world, login):
    client = login(world.patient_user)
    # Other tenant's admin, and a clinician of another program only.
    for member in (staff(world.outsider), staff(world.other_clinician)):
        r = client.post("/portal/care-team/", {"staff": member.pk})
        assert r.status_code == 200 and "staff" in r.context["form"].errors
        assert not CareTeamLink.objects.filter(patient=world.me, staff=member).exists()
    r = client.post("/portal/care-team/", {"staff": "garbage"})
    assert r.status_code == 200 and "staff" in r.context["form"].errors


def test_portal_care_team_choices_are_own_program_and_tenant(world, login):
    r = login(world.patient_user).get("/portal/care-team/")
    ids = {s.pk for s in r.context["options"]}
    assert staff(world.outsider).pk not in ids and staff(world.other_clinician).pk not in ids
    assert staff(world.clinician).pk in ids


def test_portal_withdraw_another_patients_request_is_404(world, login):
    link = care_team.care_team_request(patient=world.cardiac_patients[1], staff=staff(world.clinician),
                                       actor=world.lead)
    r = login(world.patient_user).post(f"/portal/care-team/{link.pk}/withdraw/")
    assert r.status_code == 404
    link.refresh_from_db()
    assert link.status == "requested"


def test_staff_and_anonymous_cannot_use_portal(world, login, client):
    assert client.get("/portal/").status_code == 302
    c = login(world.clinician)
    for url in ("/portal/", "/portal/profile/", "/portal/care-team/", "/portal/messages/"):
        assert c.get(url).status_code == 404, url


def test_portal_profile_cannot_change_identity_or_program(world, login):
    client = login(world.patient_user)
    r = client.post("/portal/profile/", {"first_name": "Mallory", "program": str(world.metabolic.pk),
                                         "project": str(world.other_project.pk), "status": "archived",
                                         "preferred_contact_method": ""})
    assert r.status_code == 302  # saved: the fields a patient may edit; the rest are not in the form
    world.me.refresh_from_db()
    assert world.me.first_name == "Kai" and world.me.program_id == world.cardiac.pk
    assert world.me.status == "active"


# --- Imports --------------------------------------------------------------------------------------

@pytest.fixture
def lead_import(world):
    return PatientImportFactory(created_by=world.lead, status=PatientImport.Status.VALIDATED)


def test_import_job_of_other_user_or_tenant_is_404(world, login, lead_import):
    for user in (world.clinician, world.outsider):
        client = login(user)
        for suffix in ("", "errors.csv"):
            assert client.get(f"/patients/import/{lead_import.pk}/{suffix}").status_code == 404
        assert client.post(f"/patients/import/{lead_import.pk}/run/").status_code == 404
    lead_import.refresh_from_db()
    assert lead_import.status == PatientImport.Status.VALIDATED


def test_import_default_program_out_of_scope_is_refused(world, login):
    client = login(world.clinician)
    csv = SimpleUploadedFile("p.csv", b"first_name,last_name,program\nA,B,\n", content_type="text/csv")
    r = client.post("/patients/import/", {"file": csv, "default_program": world.metabolic.pk})
    assert r.status_code == 200 and "default_program" in r.context["form"].errors
    assert not PatientImport.objects.filter(created_by=world.clinician).exists()


def test_import_form_offers_only_own_programs(world, login):
    r = login(world.clinician).get("/patients/import/")
    ids = {p.pk for p in r.context["programs"]}
    assert ids == {world.cardiac.pk}


# --- API ---------------------------------------------------------------------------------------

def test_api_patient_detail_out_of_scope_is_404(world, api_login):
    api = api_login(world.clinician)
    for patient in (world.metabolic_patients[0], world.foreign_patients[0]):
        assert api.get(f"/api/v1/patients/{patient.pk}/").status_code == 404
        assert api.patch(f"/api/v1/patients/{patient.pk}/", {"first_name": "X"}, format="json").status_code == 404
        assert api.post(f"/api/v1/patients/{patient.pk}/archive/").status_code == 404


def test_api_list_with_program_tampering_stays_in_scope(world, api_login):
    api = api_login(world.clinician)
    for params in ({}, {"program": str(world.metabolic.pk)}, {"program": str(world.other_program.pk)}):
        r = api.get("/api/v1/patients/", params)
        assert r.status_code == 200
        ids = {row["id"] for row in r.json()["results"]}
        assert ids <= {str(p.pk) for p in world.cardiac_patients}, params
        if not params:  # unfiltered: exactly the clinician's program, so the check above can fail
            assert ids == {str(p.pk) for p in world.cardiac_patients}


def test_api_patient_sees_only_self(world, api_login):
    api = api_login(world.patient_user)
    r = api.get("/api/v1/patients/")
    assert [row["id"] for row in r.json()["results"]] == [str(world.me.pk)]
    assert api.get(f"/api/v1/patients/{world.cardiac_patients[1].pk}/").status_code == 404
    assert api.get(f"/api/v1/patients/{world.cardiac_patients[1].pk}/threads/").status_code == 404


def test_api_create_with_foreign_program_is_400(world, api_login):
    api = api_login(world.clinician)
    for program in (world.metabolic, world.other_program):
        r = api.post("/api/v1/patients/", {"program": str(program.pk), "first_name": "A", "last_name": "B"},
                     format="json")
        assert r.status_code == 400
    assert api_login(world.dietitian).post("/api/v1/patients/", {"program": str(world.metabolic.pk),
                                                                "first_name": "A", "last_name": "B"},
                                           format="json").status_code == 403


def test_api_patch_move_into_foreign_program_is_400(world, api_login):
    target = world.cardiac_patients[1]
    r = api_login(world.clinician).patch(f"/api/v1/patients/{target.pk}/", {"program": str(world.metabolic.pk)},
                                         format="json")
    assert r.status_code == 400
    target.refresh_from_db()
    assert target.program_id == world.cardiac.pk


def test_api_garbage_list_params_never_500(world, api_login):
    api = api_login(world.lead)
    r = api.get("/api/v1/patients/", {"program": "x"})
    assert r.status_code == 200 and r.json()["results"] == []  # no program has that id: nobody matches
    for params in ({"no_data_days": "abc"}, {"care_team": "x"}):
        r = api.get("/api/v1/patients/", params)
        assert r.status_code == 400 and set(r.json()) == set(params), params
    assert api.get("/api/v1/patients/", {"page": "x"}).status_code == 404  # DRF: no such page


# --- Admin ----------------------------------------------------------------------------------------

def test_admin_patient_changelist_only_scope(world, login):
    client = login(world.clinician)
    r = client.get("/admin/patients/patient/")
    assert r.status_code == 200
    body = r.content.decode()
    assert f"/admin/patients/patient/{world.me.pk}/" in body
    for p in world.metabolic_patients + world.foreign_patients:
        assert f"/admin/patients/patient/{p.pk}/" not in body
    # The admin answers an object outside the user's queryset as it answers a missing one.
    missing = client.get(f"/admin/patients/patient/{uuid.uuid4()}/change/")
    assert (missing.status_code, missing["Location"]) == (302, "/admin/")
    for p in (world.metabolic_patients[0], world.foreign_patients[0]):
        r = client.get(f"/admin/patients/patient/{p.pk}/change/")
        assert (r.status_code, r["Location"]) == (302, "/admin/"), p


def test_admin_patient_add_form_dropdowns_are_own_scope(world, login):
    r = login(world.clinician).get("/admin/patients/patient/add/")
    assert r.status_code == 200
    form = r.context["adminform"].form
    assert {p.pk for p in form.fields["program"].queryset} == {world.cardiac.pk}
    assert {p.pk for p in form.fields["project"].queryset} == {world.project.pk}


def test_admin_program_list_filter_does_not_leak_out_of_scope_programs(world, login):
    r = login(world.clinician).get("/admin/patients/patient/")
    assert r.status_code == 200
    body = r.content.decode()
    assert world.cardiac.name in body
    assert world.other_program.name not in body
    assert world.metabolic.name not in body


def test_new_foreign_patient_never_visible_to_clinician(world, login):
    # A patient added to the other tenant later (same name as a cardiac one) stays invisible.
    twin = PatientFactory(program=world.other_program, first_name=world.me.first_name, last_name="Zzforeign")
    own = PatientFactory(program=world.cardiac, last_name="Zzforeign")
    r = login(world.clinician).get("/patients/", {"q": "Zzforeign"})
    assert r.status_code == 200
    assert str(own.pk) in r.content.decode()  # the search does find the clinician's own match
    assert str(twin.pk) not in r.content.decode()


# --- NUL bytes (PostgreSQL refuses them in text) ----------------------------------------------------

@NUL_500
def test_export_search_with_nul_byte_never_500(world, login):
    assert login(world.lead).get("/patients/export.csv", {"q": "a\x00"}).status_code in (200, 400)


@NUL_500
def test_api_search_with_nul_byte_never_500(world, api_login):
    assert api_login(world.lead).get("/api/v1/patients/", {"q": "a\x00"}).status_code in (200, 400)


def test_api_patient_patch_with_nul_byte_never_500(world, api_login):
    r = api_login(world.clinician).patch(f"/api/v1/patients/{world.me.pk}/", {"notes": "x\x00y"}, format="json")
    assert r.status_code in (200, 400)


def test_portal_profile_with_nul_byte_never_500(world, login):
    r = login(world.patient_user).post("/portal/profile/", {"preferred_name": "K\x00"})
    assert r.status_code in (200, 302, 400)  # 400: NUL bytes are refused before any view


def test_care_team_note_with_nul_byte_never_500(world, login):
    r = login(world.patient_user).post("/portal/care-team/", {"staff": staff(world.clinician).pk, "note": "n\x00"})
    assert r.status_code in (200, 302, 400)  # 400: NUL bytes are refused before any view


# --- More scope checks ------------------------------------------------------------------------------

def test_import_rows_naming_out_of_scope_programs_are_not_imported(world, login):
    client = login(world.clinician)
    data = (f"first_name,last_name,program,mrn\nAna,One,{world.metabolic.name},SEC-1\n"
            f"Bob,Two,{world.other_program.name},SEC-2\nCy,Three,{world.cardiac.name},SEC-3\n").encode()
    r = client.post("/patients/import/", {"file": SimpleUploadedFile("p.csv", data, content_type="text/csv")})
    assert r.status_code == 302
    job = PatientImport.objects.get(created_by=world.clinician)
    assert job.valid_rows == 1
    client.post(f"/patients/import/{job.pk}/run/")
    assert not Patient.objects.filter(mrn__in=["SEC-1", "SEC-2"]).exists()
    assert Patient.objects.filter(mrn="SEC-3", program=world.cardiac).exists()


def test_import_duplicate_of_out_of_scope_patient_does_not_reveal_it(world, login):
    hidden = world.metabolic_patients[0]
    hidden.mrn = "HIDDEN-9"
    hidden.save(update_fields=["mrn"])
    client = login(world.clinician)
    data = f"first_name,last_name,program,mrn\nX,Y,{world.cardiac.name},HIDDEN-9\n".encode()
    r = client.post("/patients/import/", {"file": SimpleUploadedFile("p.csv", data, content_type="text/csv")})
    job = PatientImport.objects.get(created_by=world.clinician)
    page = client.get(f"/patients/import/{job.pk}/").content.decode()
    assert r.status_code == 302
    assert hidden.last_name not in page and hidden.first_name not in page and str(hidden.pk) not in page


def test_invite_out_of_scope_patient_is_404(world, login):
    target = world.metabolic_patients[0]
    assert login(world.clinician).post(f"/patients/{target.pk}/invite/").status_code == 404
    target.refresh_from_db()
    assert target.user_id is None


def test_admin_history_of_out_of_scope_patient_does_not_render(world, login):
    target = world.foreign_patients[0]
    client = login(world.clinician)
    missing = client.get(f"/admin/patients/patient/{uuid.uuid4()}/history/")
    r = client.get(f"/admin/patients/patient/{target.pk}/history/")
    assert (r.status_code, r["Location"]) == (missing.status_code, missing["Location"]) == (302, "/admin/")
    assert target.last_name.encode() not in r.content


def test_care_team_grant_is_revoked_on_end(world, login):
    target = world.metabolic_patients[0]
    link = care_team.care_team_request(patient=target, staff=staff(world.clinician), actor=world.lead)
    care_team.care_team_transition(link=link, to=CareTeamLink.Status.ACTIVE, actor=world.lead)
    assert login(world.clinician).get(f"/patients/{target.pk}/").status_code == 200
    care_team.care_team_transition(link=link, to=CareTeamLink.Status.ENDED, actor=world.lead)
    assert login(world.clinician).get(f"/patients/{target.pk}/").status_code == 404


def _grant(world, patient, user):
    link = care_team.care_team_request(patient=patient, staff=staff(user), actor=world.lead)
    care_team.care_team_transition(link=link, to=CareTeamLink.Status.ACTIVE, actor=world.lead)
    return link


GRANT_MOVE = pytest.mark.security_fixed


@GRANT_MOVE
def test_care_team_grant_edit_keeps_patient_program_selectable(world, login):
    target = world.metabolic_patients[0]
    _grant(world, target, world.clinician)
    r = login(world.clinician).get(f"/patients/{target.pk}/edit/")
    assert r.status_code == 200
    choices = {str(pk) for pk, _ in r.context["form"].fields["program"].choices}
    assert str(world.metabolic.pk) in choices, "the patient's own program must stay selectable"


@GRANT_MOVE
def test_care_team_grant_cannot_pull_patient_into_own_program_web(world, login):
    target = world.metabolic_patients[0]
    _grant(world, target, world.clinician)
    client = login(world.clinician)
    form = client.get(f"/patients/{target.pk}/edit/").context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is not None:
            data[name] = value if isinstance(value, list) else str(value)
    data["program"] = str(world.cardiac.pk)  # the only choice offered; any save of the form moves the patient
    client.post(f"/patients/{target.pk}/edit/", data)
    target.refresh_from_db()
    assert target.program_id == world.metabolic.pk
    assert login(world.other_clinician).get(f"/patients/{target.pk}/").status_code == 200


@GRANT_MOVE
def test_care_team_grant_cannot_pull_patient_into_own_program_api(world, api_login):
    target = world.metabolic_patients[0]
    _grant(world, target, world.clinician)
    r = api_login(world.clinician).patch(f"/api/v1/patients/{target.pk}/", {"program": str(world.cardiac.pk)},
                                         format="json")
    # The record is readable through the grant (so not 404) and the body is well formed (so not 400):
    # the move itself is what the grant doesn't allow (patients.services.can_move).
    assert r.status_code == 403
    target.refresh_from_db()
    assert target.program_id == world.metabolic.pk


def test_api_patient_cannot_create_or_archive(world, api_login):
    api = api_login(world.patient_user)
    assert api.post("/api/v1/patients/", {"program": str(world.cardiac.pk), "first_name": "A", "last_name": "B"},
                    format="json").status_code == 403
    assert api.post(f"/api/v1/patients/{world.me.pk}/archive/").status_code == 403
    assert api.patch(f"/api/v1/patients/{world.me.pk}/", {"first_name": "Z"}, format="json").status_code == 403
    world.me.refresh_from_db()
    assert world.me.first_name == "Kai" and world.me.status == "active"


# --- Type confusion in JSON bodies --------------------------------------------------------------------

@pytest.mark.parametrize("payload", [{"reason": ["x"]}, pytest.param({"reason": {"a": 1}}, marks=TYPE_500),
                                     pytest.param(["x"], marks=TYPE_500)])
def test_api_archive_with_non_string_reason_never_500(world, api_login, payload):
    r = api_login(world.clinician).post(f"/api/v1/patients/{world.cardiac_patients[1].pk}/archive/", payload,
                                        format="json")
    assert r.status_code in (200, 400)


def test_care_team_respond_next_open_redirect_refused(world, login):
    link = care_team.care_team_request(patient=world.metabolic_patients[0], staff=staff(world.clinician),
                                       actor=world.lead)
    r = login(world.clinician).post(f"/care-team/requests/{link.pk}/decline/", {"next": "//evil.test/x"})
    assert r.status_code == 302 and "evil.test" not in r["Location"]


def test_patch_with_non_list_flags_or_unknown_fields_never_500(world, api_login):
    api = api_login(world.clinician)
    for payload in ({"flags": "high_risk"}, {"flags": [["x"]]}, {"date_of_birth": "not-a-date"},
                    {"program": "garbage"}, {"program": ["x"]}, ["x"]):
        r = api.patch(f"/api/v1/patients/{world.me.pk}/", payload, format="json")
        assert r.status_code == 400, payload


# --- Admin writes with foreign ids ---------------------------------------------------------------------

def test_admin_clinician_cannot_add_patient_into_other_program(world, login):
    before = Patient.objects.count()
    r = login(world.clinician).post("/admin/patients/patient/add/", {
        "project": str(world.project.pk), "program": str(world.metabolic.pk), "status": "active",
        "first_name": "Adm", "last_name": "In", "country": "US",
        "flags-TOTAL_FORMS": "0", "flags-INITIAL_FORMS": "0",
        "enrollments-TOTAL_FORMS": "0", "enrollments-INITIAL_FORMS": "0"})
    assert r.status_code == 200
    assert "program" in r.context["adminform"].form.errors
    assert Patient.objects.count() == before


def test_admin_search_with_nul_byte_never_500(world, login):
    assert login(world.lead).get("/admin/patients/patient/", {"q": "a\x00"}).status_code in (200, 400)


def test_admin_lookup_param_tampering_does_not_widen(world, login):
    client = login(world.clinician)
    for params in ({"program__id__exact": str(world.metabolic.pk)}, {"project__id__exact": str(world.other_project.pk)},
                   {"program__id__exact": "garbage"}, {"user__password__startswith": "a"}):
        r = client.get("/admin/patients/patient/", params)
        assert r.status_code in (200, 302, 400)
        for p in world.metabolic_patients + world.foreign_patients:
            assert f"/admin/patients/patient/{p.pk}/" not in r.content.decode()


# --- Garbage uploads and HTMX variants ------------------------------------------------------------------

@pytest.mark.parametrize("name,data", [
    ("p.xlsx", b"PK\x03\x04garbage-not-a-zip"), ("p.xlsx", b"not even a zip"), ("p.csv", b"\xff\xfe\x00\x00\x81"),
    ("p.csv", b"first_name,last_name\n" + b"\x00" * 50 + b"\n"), ("p.csv", b""), ("p.exe", b"MZ\x90\x00"),
    ("p.csv", b'"unterminated,quote\nA,B\n'),
])
def test_import_garbage_upload_never_500(world, login, name, data):
    r = login(world.lead).post("/patients/import/", {"file": SimpleUploadedFile(name, data)})
    assert r.status_code in (200, 302, 400)


def test_htmx_care_team_add_by_outsider_is_404(world, login):
    r = login(world.outsider).post(f"/patients/{world.me.pk}/care-team/add/", {"staff": staff(world.outsider).pk},
                                   HTTP_HX_REQUEST="true")
    assert r.status_code == 404


def test_htmx_import_detail_of_other_user_is_404(world, login, lead_import):
    r = login(world.clinician).get(f"/patients/import/{lead_import.pk}/", HTTP_HX_REQUEST="true")
    assert r.status_code == 404



# --- The top bar's patient search (issue 21 item 13) -------------------------------------------

@pytest.mark.parametrize("q", ["", "%", "_", "' OR 1=1 --", "\x00", "1956-02-30", "((((((((", "+" * 40])
def test_top_bar_search_never_answers_500_and_never_leaves_scope(world, login, q):
    foreign = world.foreign_patients[0]
    other_program = world.metabolic_patients[0]
    response = login(world.clinician).get("/patients/search/", {"q": q}, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 400)
    body = response.content.decode()
    assert str(foreign.pk) not in body and str(other_program.pk) not in body


def test_top_bar_search_finds_nothing_of_another_tenant_by_exact_mrn(world, login):
    foreign = world.foreign_patients[0]
    body = login(world.clinician).get("/patients/search/", {"q": foreign.mrn}, HTTP_HX_REQUEST="true").content
    assert str(foreign.pk).encode() not in body and b'role="option"' not in body
    body = login(world.outsider).get("/patients/search/", {"q": world.me.mrn}, HTTP_HX_REQUEST="true").content
    assert str(world.me.pk).encode() not in body
