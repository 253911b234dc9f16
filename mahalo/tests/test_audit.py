import csv
import io

import pytest
from django.db import connection

from mahalo import audit
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_events_cannot_be_changed_or_deleted(world):
    event = audit.record(action="read", actor=world.clinician, patient=world.me)
    event.action = "nothing"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_database_refuses_raw_updates_on_postgresql(world):
    from django.db import DatabaseError, transaction

    event = audit.record(action="read", actor=world.clinician, patient=world.me)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE mahalo_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM mahalo_auditevent WHERE id = %s", [event.pk])


def test_audit_page_needs_audit_read(login, world):
    assert login(world.clinician).get("/audit/").status_code == 403
    assert AuditEvent.objects.filter(action="denied", resource="audit", actor=world.clinician).exists()
    assert login(world.patient_user).get("/audit/").status_code == 404
    assert login(world.lead).get("/audit/").status_code == 200


def test_audit_page_shows_only_the_users_tenant(login, world):
    login(world.clinician).get(f"/patients/{world.cardiac_patients[1].pk}/")
    login(world.outsider).get(f"/patients/{world.foreign_patients[0].pk}/")
    page = login(world.lead).get("/audit/")
    events = list(page.context["page"].object_list)
    assert any(e.patient_id == world.cardiac_patients[1].pk for e in events)
    assert not any(e.project_id == world.other_project.pk for e in events)
    other = login(world.outsider).get("/audit/")
    assert {e.project_id for e in other.context["page"].object_list} == {world.other_project.pk}


def test_filters_by_patient_actor_action_and_date(login, world):
    target = world.cardiac_patients[1]
    login(world.clinician).get(f"/patients/{target.pk}/")
    login(world.other_clinician).get(f"/patients/{world.metabolic_patients[0].pk}/")
    client = login(world.lead)

    def rows(**params):
        return list(client.get("/audit/", params).context["page"].object_list)

    assert {e.patient_id for e in rows(patient=target.last_name, action="read")} == {target.pk}
    assert {e.actor_id for e in rows(actor="metabolic@", action="read")} == {world.other_clinician.pk}
    assert rows(start="2001-01-01", end="2001-01-02") == []
    assert len(rows(start="2001-01-01")) >= 2
    bad = client.get("/audit/", {"start": "31/01/2026"})
    assert bad.status_code == 200 and "start" in bad.context["errors"]


def test_csv_export_matches_filters_and_is_itself_audited(login, world):
    target = world.cardiac_patients[1]
    login(world.clinician).get(f"/patients/{target.pk}/")
    response = login(world.lead).get("/audit/export.csv", {"action": "read"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and all(r["action"] == "read" for r in rows)
    assert str(target.pk) in {r["patient_id"] for r in rows}
    assert AuditEvent.objects.filter(action="export", resource="audit", actor=world.lead).exists()


def test_csv_cells_cannot_smuggle_formulas(login, world):
    world.me.first_name = "=HYPERLINK(\"http://x\")"
    world.me.save()
    login(world.clinician).get(f"/patients/{world.me.pk}/")
    response = login(world.lead).get("/audit/export.csv", {"action": "read"})
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in text


def test_admin_can_filter_and_export_but_not_change_or_delete(login, world):
    from django.contrib.auth import get_user_model

    from conftest import enrol_totp

    event = audit.record(action="read", actor=world.clinician, patient=world.me)
    root = get_user_model().objects.create_superuser("root@t.test", "pw-long-enough-1")
    enrol_totp(root)
    client = login(root)
    listing = client.get("/admin/mahalo/auditevent/", {"action__exact": "read"})
    assert listing.status_code == 200 and event in listing.context["cl"].result_list
    assert client.get("/admin/mahalo/auditevent/add/").status_code == 403
    assert client.get(f"/admin/mahalo/auditevent/{event.pk}/delete/").status_code == 403
    change = client.post(f"/admin/mahalo/auditevent/{event.pk}/change/", {"action": "tampered"})
    assert change.status_code == 403
    exported = client.post("/admin/mahalo/auditevent/", {"action": "export_audit_csv", "_selected_action": [event.pk]})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    event.refresh_from_db()
    assert event.action == "read"
