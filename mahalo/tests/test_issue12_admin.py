"""Issue 12, "Django admin is a second door": each finding replayed through HTTP against the admin."""

import pytest

from patients.tests.factories import PatientFactory, PatientImportFactory
from scheduling.models import Availability, CalendarEvent, CalendarFeedToken

pytestmark = [pytest.mark.django_db, pytest.mark.security_fixed]


def test_program_clinician_cannot_open_another_staff_members_import(world, login):
    theirs = PatientImportFactory(created_by=world.other_clinician, original_name="metabolic.csv")
    client = login(world.clinician)
    assert client.get(f"/admin/patients/patientimport/{theirs.pk}/change/").status_code in (302, 403, 404)
    assert "metabolic.csv" not in client.get("/admin/patients/patientimport/").content.decode()
    # The page route answers the same.
    assert client.get(f"/patients/import/{theirs.pk}/").status_code == 404


def test_feed_tokens_list_only_people_in_scope(world, login):
    from mahalo.tests.factories import UserFactory

    user = UserFactory(email="cardiac.patient@p.test")
    PatientFactory(program=world.cardiac, user=user, email=user.email)
    CalendarFeedToken.objects.create(project=world.project, user=user, token_hash="x" * 64, hint="abcd")
    body = login(world.dietitian).get("/admin/scheduling/calendarfeedtoken/").content.decode()
    assert "cardiac.patient@p.test" not in body


def test_raw_id_field_with_a_foreign_id_neither_echoes_nor_saves(world, login):
    foreign = world.lead  # a Mahalo Demo login, foreign to the other tenant's admin
    foreign.full_name = "Leilani Foreignlabel"
    foreign.save()
    client = login(world.outsider)
    role = world.outsider.staff.role
    r = client.post("/admin/mahalo/staffmember/add/", {
        "user": str(foreign.pk), "project": str(world.other_project.pk), "role": str(role.pk), "title": "x",
        "is_active": "on", "assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0"})
    assert r.status_code == 200  # the form again, with an error
    assert "Foreignlabel" not in r.content.decode()
    assert "user" in r.context["adminform"].form.errors


def test_admin_cannot_write_scheduling_rows_across_or_within_tenants(world, login):
    # Calendars, events and availability are written through the schedule pages' services.
    client = login(world.outsider)
    assert client.get("/admin/scheduling/calendarevent/add/").status_code == 403
    assert client.post("/admin/scheduling/calendarevent/add/", {"title": "x"}).status_code == 403
    assert CalendarEvent.objects.count() == 0


def test_clinician_cannot_edit_tenant_wide_email_templates(world, login):
    client = login(world.clinician)
    assert client.get("/admin/messaging/notificationtemplate/add/").status_code == 403
    assert client.get("/admin/messaging/notificationtemplate/").status_code == 403


def test_availability_of_another_clinician_cannot_be_paused_or_moved_in_admin(world, login):
    from scheduling.tests.factories import AvailabilityFactory

    theirs = AvailabilityFactory(staff=world.other_clinician.staff, program=world.metabolic)
    for user in (world.clinician, world.lead):
        client = login(user)
        r = client.post(f"/admin/scheduling/availability/{theirs.pk}/change/", {"status": "paused",
                                                                                "program": str(world.cardiac.pk)})
        assert r.status_code in (302, 403, 404)
        r = client.post(f"/admin/scheduling/availability/{theirs.pk}/delete/", {"post": "yes"})
        assert r.status_code in (302, 403, 404)
    theirs.refresh_from_db()
    assert theirs.program == world.metabolic and Availability.objects.filter(pk=theirs.pk).exists()
    assert theirs.status != "paused"
