"""Reports through HTTP: generate (eager Celery), the stored snapshot, download audited, the gate,
share links (open, revoke, expiry), e-mailed links without PHI, the SVG of a chart spec."""

from __future__ import annotations

from datetime import timedelta

import pytest
from defusedxml import ElementTree as ET
from django.urls import reverse
from django.utils import timezone

from clinical.models import Observation
from mahalo.charts import Axis, Band, Chart, Series, Threshold, to_svg
from mahalo.models import AuditEvent
from messaging.models import Notification
from reports.models import Report, ReportExport, ReportTemplate
from reports.services import ensure_builtin_templates
from reports.tests.factories import cardiac_data, report_row

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


def _template(patient, name="Cardiac rehab progress") -> ReportTemplate:
    ensure_builtin_templates(patient.project)
    return ReportTemplate.objects.get(project=patient.project, name=name)


def _generate(client, patient, capture, name="Cardiac rehab progress", days=30):
    template = _template(patient, name)
    end = patient.today
    with capture(execute=True):
        response = client.post(
            reverse("patient_reports", args=[patient.pk]),
            {
                "template": str(template.pk),
                "period_start": (end - timedelta(days=days - 1)).isoformat(),
                "period_end": end.isoformat(),
            },
        )
    assert response.status_code == 302, response.content[:500]
    return Report.objects.get(patient=patient)


@pytest.fixture
def generated(world, login, django_capture_on_commit_callbacks):
    cardiac_data(world.me, days=30)
    client = login(world.clinician)
    report = _generate(client, world.me, django_capture_on_commit_callbacks)
    report.refresh_from_db()
    return client, report


def test_login_required(client, world):
    response = client.get(reverse("patient_reports", args=[world.me.pk]))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_reports_tab_lists_builtin_templates(world, login):
    response = login(world.clinician).get(reverse("patient_reports", args=[world.me.pk]))
    assert response.status_code == 200
    for name in ("Monthly RPM summary", "Cardiac rehab progress", "Visit summary", "Pre-visit snapshot"):
        assert name.encode() in response.content


def test_generate_renders_snapshot_html_and_pdf(generated, world):
    client, report = generated
    assert report.status == Report.Status.DONE, report.error
    assert report.progress == 100
    assert report.pdf_bytes > 1000 and report.pdf.read(5) == b"%PDF-"
    assert report.pdf_pages >= 2
    keys = [s["key"] for s in report.snapshot["sections"]]
    assert keys == [k for k in _template(world.me).sections if k != "patient_header"]
    vitals = next(s for s in report.snapshot["sections"] if s["key"] == "vitals")
    assert not vitals["empty"] and vitals["charts"], vitals
    assert 'src="data:image/svg+xml;base64,' in report.html and world.me.full_name in report.html
    rehab = next(s for s in report.snapshot["sections"] if s["key"] == "rehab")
    assert rehab["empty"] and "No rehab data" in rehab["empty_text"]
    page = client.get(reverse("report_detail", args=[world.me.pk, report.pk]))
    assert page.status_code == 200 and b"Download PDF" in page.content
    assert AuditEvent.objects.filter(action="write", resource="reports", object_id=str(report.pk)).exists()


def test_snapshot_does_not_change_when_data_changes(generated, world):
    client, report = generated
    html, snapshot = report.html, report.snapshot
    pdf = report.pdf.read()
    Observation.objects.filter(patient=world.me).update(value=287.0)
    report.refresh_from_db()
    assert report.html == html and report.snapshot == snapshot
    report.pdf.open("rb")
    assert report.pdf.read() == pdf
    page = client.get(reverse("report_detail", args=[world.me.pk, report.pk]))
    preview = page.content.split(b"What the report says")[1]
    assert b"Blood pressure" in preview and b">287<" not in preview
    vitals = next(s for s in report.snapshot["sections"] if s["key"] == "vitals")
    assert all(row["high"] != 287 for row in vitals["table"])
    # The task again is a no-op: a done report is never re-rendered.
    from reports.tasks import render_report

    render_report(str(report.pk))
    report.refresh_from_db()
    assert report.html == html


def test_bad_period_is_inline_400(world, login):
    template = _template(world.me)
    response = login(world.clinician).post(
        reverse("patient_reports", args=[world.me.pk]),
        {"template": str(template.pk), "period_start": "2026-05-10", "period_end": "2025-01-01"},
    )
    assert response.status_code == 400
    assert b"first day must be on or before" in response.content or b"last day can" in response.content
    future = (world.me.today + timedelta(days=3)).isoformat()
    response = login(world.clinician).post(
        reverse("patient_reports", args=[world.me.pk]),
        {"template": str(template.pk), "period_start": world.me.today.isoformat(), "period_end": future},
    )
    assert response.status_code == 400 and b"can&#x27;t be in the future" in response.content
    response = login(world.clinician).post(
        reverse("patient_reports", args=[world.me.pk]),
        {"template": str(template.pk), "period_start": "2020-01-01", "period_end": world.me.today.isoformat()},
    )
    assert response.status_code == 400 and b"at most 366 days" in response.content
    assert not Report.objects.exists()


def test_read_only_role_cannot_generate(world, login):
    template = _template(world.metabolic_patients[0])
    response = login(world.dietitian).post(
        reverse("patient_reports", args=[world.metabolic_patients[0].pk]),
        {"template": str(template.pk), "period_start": "2026-01-01", "period_end": "2026-01-02"},
    )
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_download_is_audited(generated, world):
    client, report = generated
    response = client.get(reverse("report_pdf", args=[world.me.pk, report.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF-")
    assert world.me.last_name.encode() not in response["Content-Disposition"].encode()
    export = ReportExport.objects.get(report=report, kind="pdf")
    assert AuditEvent.objects.filter(
        action="export", resource="reports", patient=world.me, metadata__export=str(export.pk)
    ).exists()


@pytest.mark.parametrize("who", ["other_clinician", "outsider"])
def test_other_programs_patient_is_404(world, login, who):
    report = report_row(world.me)
    client = login(getattr(world, who))
    for name in ("report_detail", "report_pdf", "report_status"):
        assert client.get(reverse(name, args=[world.me.pk, report.pk])).status_code == 404
    assert client.get(reverse("patient_reports", args=[world.me.pk])).status_code in (403, 404)
    for name in ("report_email", "report_share_create"):
        assert client.post(reverse(name, args=[world.me.pk, report.pk]), {"days": 3}).status_code in (403, 404)
    assert not ReportExport.objects.exists()


def test_report_of_another_patient_under_this_patients_url_is_404(world, login):
    other = world.cardiac_patients[1]
    report = report_row(other)
    client = login(world.clinician)
    assert client.get(reverse("report_detail", args=[world.me.pk, report.pk])).status_code == 404
    assert client.get(reverse("report_pdf", args=[world.me.pk, report.pk])).status_code == 404


def test_web_link_opens_then_404_after_revoke(world, login, client):
    report = report_row(world.me)
    staff = login(world.clinician)
    response = staff.post(reverse("report_share_create", args=[world.me.pk, report.pk]), {"days": 3})
    assert response.status_code == 200
    link = response.context["new_link"]
    path = link[link.index("/share/") :]
    export = ReportExport.objects.get(report=report, kind="web")
    assert export.token_hash and path.split("/")[3] not in export.token_hash  # only the hash is stored
    anon = type(client)()
    opened = anon.get(path)
    assert opened.status_code == 200 and opened["Cache-Control"] == "no-store"
    pdf = anon.get(path + "pdf/")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    export.refresh_from_db()
    assert export.open_count == 2
    opens = AuditEvent.objects.filter(
        action="read", resource="reports", metadata__export=str(export.pk), actor__isnull=True
    )
    assert opens.count() == 2
    revoke = staff.post(reverse("report_export_revoke", args=[world.me.pk, report.pk, export.pk]))
    assert revoke.status_code == 302
    assert anon.get(path).status_code == 404
    assert anon.get(path + "pdf/").status_code == 404
    assert AuditEvent.objects.filter(action="denied", metadata__export=str(export.pk)).count() == 2
    assert anon.get("/share/reports/not-a-real-token/").status_code == 404


def test_web_link_404_after_expiry(world, login, client):
    report = report_row(world.me)
    staff = login(world.clinician)
    link = staff.post(reverse("report_share_create", args=[world.me.pk, report.pk]), {"days": 1}).context["new_link"]
    path = link[link.index("/share/") :]
    assert client.get(path).status_code == 200
    ReportExport.objects.filter(report=report).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(path).status_code == 404
    assert AuditEvent.objects.filter(action="denied", metadata__refused="expired").exists()


def test_bad_link_days_is_400(world, login):
    report = report_row(world.me)
    response = login(world.clinician).post(reverse("report_share_create", args=[world.me.pk, report.pk]), {"days": 90})
    assert response.status_code == 400
    assert not ReportExport.objects.exists()


def test_email_link_goes_through_outbox_without_phi(world, login):
    report = report_row(world.me)
    staff = login(world.clinician)
    response = staff.post(
        reverse("report_email", args=[world.me.pk, report.pk]), {"recipient": world.lead.email, "days": 5}
    )
    assert response.status_code == 302
    export = ReportExport.objects.get(report=report, kind="email")
    assert export.recipient_user == world.lead
    rows = Notification.objects.filter(event_type="report_shared", recipient=world.lead)
    assert [n.channel for n in rows] == ["email"]
    mail = rows[0]
    assert "/share/reports/" in mail.link
    for text in (mail.subject, mail.body, mail.html_body):
        assert world.me.last_name not in text and world.me.first_name not in text
        if world.me.mrn:
            assert world.me.mrn not in text
    assert AuditEvent.objects.filter(action="export", metadata__kind="email", metadata__export=str(export.pk)).exists()
    # The e-mailed link opens, and revoking it closes it.
    path = mail.link
    from django.test import Client

    assert Client().get(path).status_code == 200
    staff.post(reverse("report_export_revoke", args=[world.me.pk, report.pk, export.pk]))
    assert Client().get(path).status_code == 404


def test_email_to_someone_who_may_not_see_the_patient_is_refused(world, login):
    report = report_row(world.me)
    staff = login(world.clinician)
    for recipient in (world.outsider.email, world.other_clinician.email, "stranger@example.org"):
        response = staff.post(
            reverse("report_email", args=[world.me.pk, report.pk]), {"recipient": recipient, "days": 5}
        )
        assert response.status_code == 400
        assert b"may see this patient" in response.content
        assert recipient.encode() in response.content  # what they typed is kept
    assert not Notification.objects.filter(event_type="report_shared").exists()


def test_status_panel_polls_while_rendering(world, login):
    report = report_row(world.me, status=Report.Status.RENDERING)
    response = login(world.clinician).get(
        reverse("report_status", args=[world.me.pk, report.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b'hx-trigger="every 2s"' in response.content
    Report.objects.filter(pk=report.pk).update(status=Report.Status.DONE)
    response = login(world.clinician).get(
        reverse("report_status", args=[world.me.pk, report.pk]), HTTP_HX_REQUEST="true"
    )
    assert response["HX-Refresh"] == "true"


def test_failed_render_is_shown_not_raised(world, login, monkeypatch, django_capture_on_commit_callbacks):
    from reports import services

    def boom(*args, **kwargs):
        raise RuntimeError("renderer unavailable")

    monkeypatch.setattr(services, "render_pdf", boom)
    client = login(world.clinician)
    report = _generate(client, world.me, django_capture_on_commit_callbacks, days=7)
    report.refresh_from_db()
    assert report.status == Report.Status.FAILED and "renderer unavailable" in report.error
    page = client.get(reverse("report_detail", args=[world.me.pk, report.pk]))
    assert page.status_code == 200 and b"could not be generated" in page.content


def test_svg_renderer_draws_a_spec():
    chart = Chart(
        key="bp",
        title="Blood pressure",
        unit="mmHg",
        x_kind="day",
        x_min="2026-01-01",
        x_max="2026-01-07",
        summary="Seven days of <blood pressure>",
        series=[
            Series(
                "sys", "Systolic", [(f"2026-01-0{i}", 120 + i if i != 4 else None) for i in range(1, 8)], color="navy"
            ),
            Series("steps", "Steps", [(f"2026-01-0{i}", 10 * i) for i in range(1, 8)], kind="bar", color="blue"),
        ],
        bands=[Band(None, 120, "ok-tint", "Normal")],
        thresholds=[Threshold(135, "Home stage 2")],
        y=Axis(unit="mmHg"),
    )
    svg = to_svg(chart.as_dict())
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert root.find(f"{ns}title").text == "Blood pressure"
    assert "<blood pressure>" in root.find(f"{ns}desc").text  # escaped in the markup, intact as text
    assert len(root.findall(f".//{ns}rect")) >= 7  # the bars (and the band)
    assert len(root.findall(f".//{ns}polyline")) + len(root.findall(f".//{ns}path")) >= 2  # the line, broken at the gap
    assert "<script" not in svg


def test_rehab_section_reads_care_rehab(world, login, django_capture_on_commit_callbacks):
    """The cardiac rehab report's rehab section: the prescription in plain words, sessions and minutes
    per week, and sessions with symptoms, from care's rehab rows."""
    from decimal import Decimal

    from care.demo import ensure_library
    from care.services import rehab as care_rehab

    patient = world.me
    patient.resting_heart_rate, patient.max_heart_rate = 70, 150
    patient.save()
    ensure_library(world.project)
    walking = care_rehab.exercises_for(patient).get(name="Walking")
    data = care_rehab.PrescriptionIn(
        exercise=walking, minutes=20, sessions_per_week=4, hrr_low=Decimal("0.34"), hrr_high=Decimal("0.50"),
        rpe_low=12, rpe_high=14, start_date=patient.today - timedelta(days=10))
    rx = care_rehab.prescription_create(patient=patient, actor=world.clinician, via="test", data=data)
    for back, minutes in ((1, 25), (2, 20), (3, 30)):
        care_rehab.exercise_log(patient=patient, actor=world.patient_user, data=care_rehab.LogIn(
            duration_min=minutes, prescription=rx, performed_at=timezone.now() - timedelta(days=back), rpe=13))
    report = _generate(login(world.clinician), patient, django_capture_on_commit_callbacks)
    report.refresh_from_db()
    section = next(s for s in report.snapshot["sections"] if s["key"] == "rehab")
    assert not section.get("empty"), section
    assert section["sessions"] == 3 and section["minutes"] == 75
    assert section["prescriptions"][0]["name"] == "Walking" and "20 minutes" in section["prescriptions"][0]["target"]
    assert sum(w["sessions"] for w in section["weeks"]) == 3
    assert "Walking" in report.html
