"""The chart: tabs through HTMX, the timeline (audited, paginated)."""

import pytest

from mahalo.models import AuditEvent
from patients import services

pytestmark = pytest.mark.django_db


def test_tabs_require_login_and_scope(client, login, world):
    url = f"/patients/{world.metabolic_patients[0].pk}/timeline/"
    assert client.get(url).status_code == 302
    assert login(world.clinician).get(url).status_code == 404
    assert login(world.clinician).get(f"/patients/{world.foreign_patients[0].pk}/timeline/").status_code == 404
    assert login(world.patient_user).get(f"/patients/{world.me.pk}/timeline/").status_code == 404


def test_tab_is_a_fragment_for_htmx_and_a_full_page_otherwise(login, world):
    client = login(world.clinician)
    url = f"/patients/{world.cardiac_patients[1].pk}/timeline/"
    full = client.get(url)
    assert b"<html" in full.content and b"Timeline" in full.content
    fragment = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="chart-main")
    assert b"<html" not in fragment.content and b'id="timeline-entries"' in fragment.content
    assert "HX-Request" in fragment["Vary"]


def test_timeline_shows_enrollment_edits_and_status_changes_and_is_audited(login, world):
    target = world.cardiac_patients[1]
    services.patient_move_program(patient=target, program=world.metabolic, actor=world.lead, reason="Diet focus")
    services.patient_update(patient=target, actor=world.lead, changes={"notes": "Called, doing well"})
    services.patient_set_status(patient=target, status="paused", actor=world.lead)
    response = login(world.lead).get(f"/patients/{target.pk}/timeline/")
    titles = [e.title for e in response.context["entries"]]
    assert "Enrolled in Metabolic Health" in titles
    assert "Status: active → paused" in titles
    edit = next(e for e in response.context["entries"] if e.title == "Record updated")
    assert ("Notes", "—", "Called, doing well") in edit.changes and edit.actor == world.lead.get_full_name()
    assert AuditEvent.objects.filter(action="read", patient=target, actor=world.lead).exists()


def test_timeline_pages_with_a_cursor(login, world):
    target = world.cardiac_patients[1]
    for i in range(35):
        services.patient_update(patient=target, actor=world.lead, changes={"notes": f"note {i}"})
    client = login(world.lead)
    first = client.get(f"/patients/{target.pk}/timeline/")
    assert len(first.context["entries"]) == 30 and first.context["cursor"]
    more = client.get(f"/patients/{target.pk}/timeline/", {"before": first.context["cursor"]},
                      HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline-more")
    assert more.status_code == 200 and b"<html" not in more.content
    import re

    def notes(html):
        return re.findall(r"→ (note \d+)</li>", html)

    on_first, on_more = notes(first.content.decode()), notes(more.content.decode())
    assert "note 0" in on_more and "note 34" in on_first
    assert not set(on_first) & set(on_more)  # no entry twice
    assert len(set(on_first) | set(on_more)) == 35  # and none lost
    assert b"Record created" in more.content
    assert client.get(f"/patients/{target.pk}/timeline/", {"before": "garbage"}).status_code == 404


def test_overview_shows_goals_and_program_history(login, world):
    target = world.cardiac_patients[1]
    services.patient_update(patient=target, actor=world.lead, changes={"bp_goal_systolic": 130,
                                                                      "bp_goal_diastolic": 80})
    body = login(world.clinician).get(f"/patients/{target.pk}/").content.decode()
    assert "BP goal 130/80" in body and "Program history" in body
