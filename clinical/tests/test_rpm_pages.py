"""RPM pages through HTTP: the chart's RPM tab (timer, manual time, episodes) and the
monthly report with its CSV export. Gate: login, program and tenant scope, roles."""

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinical import rpm
from clinical.models import Observation, RpmConsent, RpmEpisode, TimeEntry
from conftest import enrol_totp
from mahalo.exports import safe_cell
from mahalo.models import AuditEvent, Role, RolePermission, StaffMember
from mahalo.tests.factories import UserFactory
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

HNL = ZoneInfo("Pacific/Honolulu")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "rpm-panel"}


def tab(patient):
    return f"/patients/{patient.pk}/rpm/"


def staff_without_reports(project, programs=()):
    """A custom role with clinical access but no reports:read."""
    role = Role.objects.create(project=project, name="Care coordinator", scope=Role.SCOPE_GLOBAL)
    for resource, action in [("patients", "read"), ("clinical", "read"), ("clinical", "write")]:
        RolePermission.objects.create(role=role, resource=resource, action=action)
    user = UserFactory(email="coordinator@t.test", is_staff=True)
    StaffMember.objects.create(user=user, project=project, role=role)
    enrol_totp(user)
    return user


def make_episode(patient, start, setup=None, consent=True):
    """An episode; with `consent` (the default since billing needs it) a consent from its start."""
    if consent and not RpmConsent.objects.filter(patient=patient).exists():
        RpmConsent.objects.create(project=patient.project, patient=patient, obtained_on=start,
                                  method=RpmConsent.Method.WRITTEN, obtained_by=UserFactory())
    return RpmEpisode.objects.create(project=patient.project, patient=patient, program=patient.program,
                                     started_on=start, setup_completed_on=setup)


def reading(patient, day, source="withings"):
    Observation.objects.create(project=patient.project, patient=patient, program=patient.program,
                               metric="heart_rate", value=70, unit="bpm", source=source,
                               effective_at=datetime.combine(day, time(9), tzinfo=patient.program.tz))


def time_entry(patient, staff, day, minutes, interactive):
    started = datetime.combine(day, time(12), tzinfo=patient.program.tz)
    TimeEntry.objects.create(project=patient.project, patient=patient, program=patient.program, staff=staff,
                             started_at=started, ended_at=started + timedelta(minutes=minutes),
                             seconds=minutes * 60, interactive=interactive)


# --- The chart tab -----------------------------------------------------------------------


def test_tab_requires_login_and_scope(client, login, world):
    mine, theirs, foreign = world.cardiac_patients[1], world.metabolic_patients[0], world.foreign_patients[0]
    assert client.get(tab(mine)).status_code == 302
    assert client.post(f"{tab(mine)}timer/start/").status_code == 302
    clinician = login(world.clinician)
    assert clinician.get(tab(mine)).status_code == 200
    assert clinician.get(tab(theirs)).status_code == 404
    assert clinician.get(tab(foreign)).status_code == 404
    for url in ("timer/start/", "timer/stop/", "timer/discard/", "time/", "episodes/"):
        assert clinician.post(f"{tab(theirs)}{url}", {"manual-day": "2025-01-01", "manual-minutes": "5",
                                                      "started_on": "2025-01-01"}).status_code == 404
        assert clinician.post(f"{tab(foreign)}{url}").status_code == 404
    assert login(world.outsider).get(tab(mine)).status_code == 404
    assert login(world.patient_user).get(tab(world.me)).status_code == 404
    assert not TimeEntry.objects.exists() and not RpmEpisode.objects.exists()
    assert AuditEvent.objects.filter(action="denied", patient=theirs, actor=world.clinician).exists()


def test_episode_of_another_patient_is_404(login, world):
    mine, other = world.cardiac_patients[1], world.cardiac_patients[2]
    theirs = make_episode(other, date(2025, 1, 1))
    response = login(world.clinician).post(f"{tab(mine)}episodes/{theirs.pk}/end/", {"ended_on": "2025-02-01"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.ended_on is None


def test_tab_is_a_fragment_for_htmx_and_audited(login, world):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    full = client.get(tab(patient))
    assert b"<html" in full.content and b'id="rpm-panel"' in full.content
    fragment = client.get(tab(patient), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="chart-main")
    assert b"<html" not in fragment.content and b'id="rpm-panel"' in fragment.content
    assert "HX-Request" in fragment["Vary"]
    assert AuditEvent.objects.filter(action="read", resource="clinical", patient=patient,
                                     actor=world.clinician).count() == 2


def test_read_only_role_sees_the_tab_but_cannot_log_time(login, world):
    patient = world.metabolic_patients[0]
    client = login(world.dietitian)  # clinical:read, no clinical:write
    page = client.get(tab(patient))
    assert page.status_code == 200 and b"Start timer" not in page.content
    assert client.post(f"{tab(patient)}timer/start/").status_code == 403
    assert client.post(f"{tab(patient)}time/", {"manual-day": str(date.today()), "manual-minutes": "5"}
                       ).status_code == 403
    assert not TimeEntry.objects.exists()


def test_timer_start_stop_through_the_chart(login, world):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    started = client.post(f"{tab(patient)}timer/start/", **HTMX)
    assert started.status_code == 200 and b"Running since" in started.content and b"<html" not in started.content
    again = client.post(f"{tab(patient)}timer/start/", **HTMX)
    assert b"already running" in again.content
    running = TimeEntry.objects.get(patient=patient, staff=world.clinician)
    assert running.ended_at is None and running.source == "timer"
    TimeEntry.objects.filter(pk=running.pk).update(started_at=running.started_at - timedelta(minutes=21))
    stopped = client.post(f"{tab(patient)}timer/stop/", {"stop-interactive": "on", "stop-note": "Phone call"})
    assert stopped.status_code == 302 and stopped["Location"] == tab(patient)
    running.refresh_from_db()
    assert running.ended_at and 21 * 60 <= running.seconds < 22 * 60 and running.interactive
    assert running.note == "Phone call"
    page = client.get(tab(patient))
    assert page.context["month_time"].minutes == 21 and page.context["management_codes"] == "99457"
    assert b"Phone call" in page.content
    assert AuditEvent.objects.filter(patient=patient, action="create", metadata__what="timer_start").count() == 1


def test_discard_a_forgotten_timer(login, world):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    client.post(f"{tab(patient)}timer/start/")
    assert client.post(f"{tab(patient)}timer/discard/", **HTMX).status_code == 200
    assert not TimeEntry.objects.exists()


def test_manual_entry_bad_input_shows_inline_errors_and_stores_nothing(login, world):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    today = rpm.local_today(patient.program.tz)
    for data, field in [({"manual-day": str(today), "manual-minutes": "0"}, "minutes"),
                        ({"manual-day": str(today), "manual-minutes": "abc"}, "minutes"),
                        ({"manual-day": str(today), "manual-minutes": "9999"}, "minutes"),
                        ({"manual-day": "", "manual-minutes": "15"}, "day"),
                        ({"manual-day": "2025-02-30", "manual-minutes": "15"}, "day"),
                        ({"manual-day": str(today + timedelta(days=2)), "manual-minutes": "15"}, "day")]:
        plain = client.post(f"{tab(patient)}time/", {**data, "manual-note": "kept text"})
        assert plain.status_code == 400, data
        assert plain.context["manual_form"].errors.get(field), data
        assert b'class="errorlist' in plain.content and b"kept text" in plain.content
        htmx = client.post(f"{tab(patient)}time/", {**data, "manual-note": "kept text"}, **HTMX)
        assert htmx.status_code == 200 and b'class="errorlist' in htmx.content and b"<html" not in htmx.content
    assert not TimeEntry.objects.exists()
    ok = client.post(f"{tab(patient)}time/", {"manual-day": str(today), "manual-minutes": "12",
                                              "manual-interactive": "on", "manual-note": "Reviewed BP"}, **HTMX)
    assert ok.status_code == 200 and b"12 min logged" in ok.content
    made = TimeEntry.objects.get()
    assert (made.seconds, made.interactive, made.source, made.staff) == (720, True, "manual", world.clinician)
    assert ok.context["management_codes"] == "99470"


def test_episode_actions_from_the_chart(login, world):
    patient = world.cardiac_patients[1]
    client = login(world.clinician)
    today = rpm.local_today(patient.program.tz)
    bad = client.post(f"{tab(patient)}episodes/", {"started_on": "not a date"}, **HTMX)
    assert bad.status_code == 200 and b'class="errorlist' in bad.content and not RpmEpisode.objects.exists()
    client.post(f"{tab(patient)}episodes/", {"started_on": str(today - timedelta(days=3))})
    ep = RpmEpisode.objects.get(patient=patient)
    assert ep.created_by == world.clinician
    clash = client.post(f"{tab(patient)}episodes/", {"started_on": str(today)})
    assert clash.status_code == 400 and RpmEpisode.objects.count() == 1
    client.post(f"{tab(patient)}episodes/{ep.pk}/setup/", {"setup_completed_on": str(today - timedelta(days=2))})
    for day in range(3):
        reading(patient, today - timedelta(days=day))
    page = client.get(tab(patient))
    assert page.context["current"].days == 3 and page.context["current"].code == "99445"
    ep.refresh_from_db()
    assert ep.setup_completed_on == today - timedelta(days=2)
    client.post(f"{tab(patient)}episodes/{ep.pk}/end/", {"ended_on": str(today)})
    ep.refresh_from_db()
    assert ep.ended_on == today
    whats = set(AuditEvent.objects.filter(patient=patient, resource="clinical").values_list(
        "metadata__what", flat=True))
    assert {"episode_start", "episode_setup", "episode_end"} <= whats


# --- The report ---------------------------------------------------------------------------


def report(program, month="2025-03"):
    return f"/reports/rpm/?program={program.pk}&month={month}"


def test_report_requires_login_reports_read_and_program_scope(client, login, world):
    assert client.get(report(world.cardiac)).status_code == 302
    assert client.get(f"/reports/rpm/export.csv?program={world.cardiac.pk}&month=2025-03").status_code == 302
    coordinator = staff_without_reports(world.project)
    assert login(coordinator).get(report(world.cardiac)).status_code == 403
    assert login(coordinator).get(f"/reports/rpm/export.csv?program={world.cardiac.pk}").status_code == 403
    assert b"Reports" not in login(coordinator).get("/patients/").content
    assert login(world.patient_user).get(report(world.cardiac)).status_code == 404  # patients: no staff pages
    lead = login(world.lead)
    assert lead.get(report(world.cardiac)).status_code == 200
    assert b">Reports<" in lead.get("/patients/").content
    # Another tenant's program, or a program outside the clinician's scope: 404 like a missing one.
    assert lead.get(report(world.other_program)).status_code == 404
    assert lead.get(f"/reports/rpm/export.csv?program={world.other_program.pk}&month=2025-03").status_code == 404
    assert lead.get("/reports/rpm/?program=not-a-uuid").status_code == 404
    assert login(world.clinician).get(report(world.metabolic)).status_code == 404
    assert login(world.outsider).get(report(world.cardiac)).status_code == 404
    assert login(world.outsider).get(report(world.other_program)).status_code == 200


def test_report_rows_codes_and_csv_agree(login, world):
    kai, b, c, d = world.cardiac_patients
    kai.mrn = "=HYPERLINK(1)"  # a formula in a cell must not reach a spreadsheet as one
    kai.save(update_fields=["mrn"])
    make_episode(kai, date(2025, 3, 1), setup=date(2025, 3, 1))
    make_episode(b, date(2025, 3, 1))
    make_episode(c, date(2025, 3, 5))  # period 1 (Mar 5 - Apr 3) ends in April: no device line in March
    make_episode(world.metabolic_patients[0], date(2025, 3, 1))  # another program
    for i in range(16):
        reading(kai, date(2025, 3, 1) + timedelta(days=i))
    for i in range(5):
        reading(b, date(2025, 3, 10) + timedelta(days=i))
    time_entry(kai, world.clinician, date(2025, 3, 4), 25, True)
    time_entry(kai, world.lead, date(2025, 3, 20), 20, False)
    time_entry(b, world.clinician, date(2025, 3, 4), 12, False)
    time_entry(c, world.clinician, date(2025, 3, 4), 11, True)
    client = login(world.lead)
    page = client.get(report(world.cardiac))
    rows = {item["row"].patient.pk: item for item in page.context["table"]}
    assert set(rows) == {kai.pk, b.pk, c.pk}  # d has no episode; metabolic isn't this program
    assert rows[kai.pk]["row"].codes == ["99453", "99454", "99457", "99458"]
    assert rows[b.pk]["row"].codes == ["99445"]
    assert rows[c.pk]["row"].codes == ["99470"] and rows[c.pk]["row"].periods == []
    assert b"99453, 99454, 99457, 99458" in page.content
    export = client.get(f"/reports/rpm/export.csv?program={world.cardiac.pk}&month=2025-03")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert parsed[0] == page.context["csv_header"]
    assert parsed[1:] == [[safe_cell(cell) for cell in item["cells"]] for item in page.context["table"]]
    by_name = {r[0]: r for r in parsed[1:]}
    assert by_name[kai.full_name][1] == "'=HYPERLINK(1)"
    assert by_name[kai.full_name][5:9] == ["16", "45", "yes", "99453, 99454, 99457, 99458"]
    assert AuditEvent.objects.filter(actor=world.lead, action="report", resource="reports").exists()
    assert AuditEvent.objects.filter(actor=world.lead, action="export", resource="reports",
                                     metadata__count=3).exists()


def test_report_is_limited_to_patients_the_user_may_see(login, world):
    mine = world.cardiac_patients[1]
    make_episode(mine, date(2025, 3, 1))
    page = login(world.clinician).get(report(world.cardiac))
    assert [item["row"].patient.pk for item in page.context["table"]] == [mine.pk]
    assert login(world.other_clinician).get(report(world.cardiac)).status_code == 404


def test_report_bad_month_is_an_inline_error(login, world):
    client = login(world.lead)
    page = client.get(report(world.cardiac, "2025-13"))
    assert page.status_code == 200 and page.context["error"] and b"YYYY-MM" in page.content
    assert b'value="2025-13"' in page.content
    assert client.get(f"/reports/rpm/export.csv?program={world.cardiac.pk}&month=March").status_code == 400
    default = client.get(f"/reports/rpm/?program={world.cardiac.pk}")
    assert default.context["month"] == rpm.local_today(HNL).replace(day=1)


def test_report_htmx_fragment(login, world):
    page = login(world.lead).get(report(world.cardiac), HTTP_HX_REQUEST="true")
    assert b"<html" not in page.content and b'id="report"' in page.content and "HX-Request" in page["Vary"]


def _populate(world, n):
    for i in range(n):
        patient = PatientFactory(program=world.cardiac)
        make_episode(patient, date(2025, 2, 14), setup=date(2025, 2, 14) if i % 2 else None)
        for day in range(i % 20):
            reading(patient, date(2025, 3, 1) + timedelta(days=day))
        time_entry(patient, world.clinician, date(2025, 3, 5), 10 + i, interactive=bool(i % 3))


def test_report_query_count_is_constant(login, world, django_assert_max_num_queries):
    client = login(world.clinician)  # program scope: the gate's lookups are part of the count
    client.get(report(world.cardiac))  # warm up session and caches
    _populate(world, 3)
    with CaptureQueriesContext(connection) as few:
        small = client.get(report(world.cardiac))
    _populate(world, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        big = client.get(report(world.cardiac))
    assert len(small.context["table"]) == 3 and len(big.context["table"]) == 33
    with CaptureQueriesContext(connection) as export_queries:
        b"".join(client.get(f"/reports/rpm/export.csv?program={world.cardiac.pk}&month=2025-03").streaming_content)
    assert len(export_queries.captured_queries) <= len(few.captured_queries)
