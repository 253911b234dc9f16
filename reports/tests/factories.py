"""Test data for reports: cardiac data through the apps' own writers, and report rows without the
render (for the route matrix and attacks)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from reports.models import Report, ReportExport, ReportTemplate, WeeklySummary
from reports.services import ensure_builtin_templates

# The smallest valid-looking PDF: the matrix only needs a file to stream.
TINY_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def cardiac_data(patient, days: int = 30, seed: int = 7, *, per_day: int = 2):
    """Simulated readings (blood pressure, heart rate, weight, SpO2) and wearable days for `days`
    local days ending today, through wearables.ingest (which writes through clinical's one writer)."""
    from wearables import ingest
    from wearables.ingest import Daily, Reading

    rng = random.Random(seed)
    tz = patient.tz
    today = patient.today
    readings, dailies = [], []
    for i in range(days):
        day = today - timedelta(days=i)
        for n in range(per_day):
            at = datetime.combine(day, time(7 + 11 * n, rng.randrange(60)), tzinfo=tz)
            if at > timezone.now():
                at = timezone.now() - timedelta(minutes=5 + n)
            readings.append(
                Reading(
                    "blood_pressure",
                    at,
                    rng.gauss(134, 9),
                    value2=rng.gauss(83, 5),
                    context="home",
                    device="Simulated cuff",
                )
            )
            readings.append(Reading("heart_rate", at + timedelta(minutes=1), rng.gauss(72, 6)))
        readings.append(
            Reading(
                "weight",
                datetime.combine(day, time(6, 30), tzinfo=tz)
                if day < today
                else timezone.now() - timedelta(minutes=30),
                rng.gauss(84, 0.6),
            )
        )
        dailies.append(
            Daily(
                day,
                {
                    "hrv_ms": rng.gauss(38, 5),
                    "hrv_method": "rmssd",
                    "resting_hr": rng.gauss(61, 2),
                    "sleep_hours": rng.gauss(7, 0.6),
                    "steps": int(rng.gauss(6500, 1200)),
                    "device": "Simulated ring",
                },
            )
        )
    ingest.store(patient, "oura", readings=readings, dailies=dailies)


def report_row(patient, *, actor=None, status=Report.Status.DONE, days=30) -> Report:
    ensure_builtin_templates(patient.project)
    template = ReportTemplate.objects.filter(project=patient.project).order_by("name").first()
    end = date.today()
    report = Report.objects.create(
        project=patient.project,
        patient=patient,
        program=patient.program,
        template=template,
        title=template.name,
        sections=template.sections,
        period_start=end - timedelta(days=days - 1),
        period_end=end,
        status=status,
        progress=100 if status == Report.Status.DONE else 0,
        created_by=actor,
        snapshot={"header": {"name": "(test)"}, "sections": []},
        html="<p>test</p>",
    )
    if status == Report.Status.DONE:
        report.pdf.save(f"{report.pk}.pdf", ContentFile(TINY_PDF), save=True)
    return report


def export_row(report, *, kind=ReportExport.Kind.WEB, actor=None) -> ReportExport:
    return ReportExport.objects.create(
        project=report.project,
        patient=report.patient,
        report=report,
        kind=kind,
        created_by=actor,
        token_hash="0" * 64 if kind != "pdf" else "",
        expires_at=timezone.now() + timedelta(days=7),
    )


def summary_row(patient, week_start: date | None = None) -> WeeklySummary:
    week_start = week_start or (patient.today - timedelta(days=patient.today.weekday() + 7))
    return WeeklySummary.objects.create(
        project=patient.project,
        patient=patient,
        program=patient.program,
        week_start=week_start,
        snapshot={"week": str(week_start), "vitals": {}},
    )
