"""Reports' services (the only writers): built-in templates, asking for a report, rendering it (the
task calls this), downloads, share links (web and e-mailed) and revoking them, opening a share link.

Every export is audited: a download, a link made, a link e-mailed, a link revoked and every open of a
link (an anonymous actor, the export's id in the metadata), including opens refused because the link
expired or was revoked."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
import zlib
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from mahalo import access, audit
from mahalo.models import User
from mahalo.pdf import render_pdf
from messaging.notify import notify
from reports import sections
from reports.models import Report, ReportExport, ReportTemplate
from reports.sections.builtin import BUILTIN_TEMPLATES
from reports.tasks import queue_render

logger = logging.getLogger(__name__)

RESOURCE = "reports"
MAX_DAYS = 366  # a year and a day: bounds a report's memory and time (bench/report.py)
LINK_DAYS_DEFAULT, LINK_DAYS_MAX = 7, 30
STALE_AFTER = timedelta(minutes=15)  # a render not finished by then is taken to have died
PDF_TEMPLATE = "reports/report_pdf.html"


# --- Templates ----------------------------------------------------------------------------------


def ensure_builtin_templates(project) -> int:
    """The built-in layouts for a tenant (idempotent; never overwrites a tenant's edits)."""
    made = 0
    have = set(ReportTemplate.objects.filter(project=project).values_list("name", flat=True))
    for slug, name, days, audience, keys, description in BUILTIN_TEMPLATES:
        if name in have:
            continue
        try:
            with transaction.atomic():
                ReportTemplate.objects.create(
                    project=project,
                    name=name,
                    builtin=slug,
                    default_days=days,
                    audience=audience,
                    layout={"sections": keys},
                    description=description,
                )
                made += 1
        except IntegrityError:
            pass  # made by a concurrent request
    return made


def templates_for(patient) -> list[ReportTemplate]:
    ensure_builtin_templates(patient.project)
    return list(ReportTemplate.objects.filter(project=patient.project, is_active=True))


def template_for(patient, template_id) -> ReportTemplate | None:
    try:
        return ReportTemplate.objects.filter(project=patient.project, is_active=True, pk=template_id).first()
    except (ValueError, ValidationError):
        return None


def default_period(template: ReportTemplate, patient) -> tuple[date, date]:
    end = patient.today
    return end - timedelta(days=max(1, template.default_days) - 1), end


# --- Asking for and rendering a report ------------------------------------------------------------


def check_period(patient, start: date | None, end: date | None) -> None:
    errors = {}
    if start is None:
        errors["period_start"] = "Enter the first day (YYYY-MM-DD)."
    if end is None:
        errors["period_end"] = "Enter the last day (YYYY-MM-DD)."
    if not errors:
        if end > patient.today:
            errors["period_end"] = "The last day can't be in the future."
        elif start > end:
            errors["period_start"] = "The first day must be on or before the last day."
        elif (end - start).days + 1 > MAX_DAYS:
            errors["period_start"] = f"A report covers at most {MAX_DAYS} days."
    if errors:
        raise ValidationError(errors)


def report_request(
    *, patient, template: ReportTemplate | None, start: date | None, end: date | None, actor, request=None
) -> Report:
    """A queued Report row; the render task is queued when the transaction commits."""
    if template is None or template.project_id != patient.project_id:
        raise ValidationError({"template": "Choose a report template."})
    check_period(patient, start, end)
    with transaction.atomic():
        report = Report.objects.create(
            project=patient.project,
            patient=patient,
            program=patient.program,
            template=template,
            title=template.name,
            audience=template.audience,
            sections=template.sections,
            period_start=start,
            period_end=end,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit.record(
            action="write",
            request=request,
            actor=actor,
            resource=RESOURCE,
            patient=patient,
            object_id=report.pk,
            metadata={
                "event": "report_requested",
                "template": template.name,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
        transaction.on_commit(lambda: queue_render(report.pk))
    return report


def stalled_reports(now=None) -> list[str]:
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    qs = Report.objects.filter(
        Q(status=Report.Status.QUEUED, created_at__lt=now - timedelta(minutes=2))
        | Q(status=Report.Status.RENDERING, started_at__lt=cutoff)
    ).filter(attempts__lt=3)
    return [str(pk) for pk in qs.values_list("pk", flat=True)[:100]]


def _progress(report_id, progress: int, stage: str) -> None:
    Report.objects.filter(pk=report_id).update(progress=progress, stage=stage[:80])


def _claim(report_id) -> Report | None:
    """Mark the report rendering, unless it is done or a live worker has it (idempotent task)."""
    now = timezone.now()
    with transaction.atomic():
        report = (
            Report.objects.select_for_update()
            .select_related("patient__program", "patient__project")
            .filter(pk=report_id)
            .first()
        )
        if report is None or report.status == Report.Status.DONE:
            return None
        if report.status == Report.Status.RENDERING and report.started_at and report.started_at > now - STALE_AFTER:
            return None
        report.status, report.started_at, report.progress = Report.Status.RENDERING, now, 1
        report.attempts += 1
        report.error = ""
        report.save(update_fields=["status", "started_at", "progress", "attempts", "error"])
    return report


def render_context(*, title: str, audience: str, snapshot: dict) -> dict:
    parts = []
    for data in snapshot.get("sections", []):
        section = sections.SECTIONS.get(data.get("key"))
        parts.append({**data, "template": section.template if section else "reports/sections/_missing.html"})
    return {
        "title": title,
        "audience": audience,
        "sections": parts,
        "header": snapshot.get("header", {}),
        "period": snapshot.get("period", {}),
    }


def build_snapshot(report: Report) -> dict:
    patient = report.patient
    keys = [k for k in report.sections if k != "patient_header"]
    header = sections.build("patient_header", patient, report.period_start, report.period_end)
    out = []
    for i, key in enumerate(keys):
        _progress(
            report.pk,
            5 + round(60 * i / max(1, len(keys))),
            f"Reading {sections.SECTIONS[key].label.lower()}" if key in sections.SECTIONS else "Reading data",
        )
        out.append(sections.build(key, patient, report.period_start, report.period_end))
    return {
        "version": 1,
        "header": header,
        "sections": out,
        "period": {"start": report.period_start.isoformat(), "end": report.period_end.isoformat()},
    }


def report_render(report_id) -> Report | None:
    """Snapshot the data, render HTML and PDF from the snapshot, store both. Idempotent: a done
    report (or one a live worker renders) is returned unchanged."""
    report = _claim(report_id)
    if report is None:
        return Report.objects.filter(pk=report_id).first()
    started = time.perf_counter()
    try:
        snapshot = build_snapshot(report)
        _progress(report.pk, 70, "Laying out pages")
        body = render_context(title=report.title, audience=report.audience, snapshot=snapshot)
        html, pdf = render_pdf(
            PDF_TEMPLATE, {"body": body, "title": report.title, "header": body["header"], "report_id": str(report.pk)}
        )
        _progress(report.pk, 95, "Storing the PDF")
        report.snapshot, report.html = snapshot, html
        report.pdf.save(f"{report.pk}.pdf", ContentFile(pdf), save=False)
        report.pdf_bytes, report.pdf_pages = len(pdf), count_pages(pdf)
        report.status, report.progress, report.stage = Report.Status.DONE, 100, ""
        report.finished_at = timezone.now()
        report.render_seconds = round(time.perf_counter() - started, 3)
        report.save(
            update_fields=[
                "snapshot",
                "html",
                "pdf",
                "pdf_bytes",
                "pdf_pages",
                "status",
                "progress",
                "stage",
                "finished_at",
                "render_seconds",
            ]
        )
    except Exception as exc:  # noqa: BLE001 - a failed render is shown on the page, never a 500
        logger.exception("Report %s failed", report.pk)
        Report.objects.filter(pk=report.pk).update(
            status=Report.Status.FAILED,
            stage="",
            error=f"{type(exc).__name__}: {exc}"[:500],
            finished_at=timezone.now(),
        )
        report.refresh_from_db()
    return report


_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def count_pages(pdf: bytes) -> int:
    """Pages of a PDF we rendered: page objects, also inside compressed object streams."""
    count = len(_PAGE.findall(pdf))
    for raw in _STREAM.findall(pdf):
        try:
            count += len(_PAGE.findall(zlib.decompress(raw)))
        except zlib.error:
            continue
    return count


# --- Exports --------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_done(report: Report) -> None:
    if report.status != Report.Status.DONE or not report.pdf:
        raise ValidationError({"report": "The report isn't ready yet."})


def report_download(*, report: Report, actor, request=None) -> ReportExport:
    """Record a download of the stored PDF (the view streams it)."""
    _require_done(report)
    export = ReportExport.objects.create(
        project=report.project, patient=report.patient, report=report, kind=ReportExport.Kind.PDF, created_by=actor
    )
    audit.record(
        action="export",
        request=request,
        actor=actor,
        resource=RESOURCE,
        patient=report.patient,
        object_id=report.pk,
        metadata={"kind": "pdf", "export": str(export.pk)},
    )
    return export


def _link_days(days) -> int:
    try:
        days = int(days or LINK_DAYS_DEFAULT)
    except (TypeError, ValueError):
        raise ValidationError({"days": "Enter a number of days."}) from None
    if not 1 <= days <= LINK_DAYS_MAX:
        raise ValidationError({"days": f"A link lasts 1 to {LINK_DAYS_MAX} days."})
    return days


def _new_link(*, report: Report, actor, kind: str, days: int, recipient: str = "", recipient_user=None):
    token = secrets.token_urlsafe(32)
    export = ReportExport.objects.create(
        project=report.project,
        patient=report.patient,
        report=report,
        kind=kind,
        created_by=actor,
        recipient=recipient,
        recipient_user=recipient_user,
        token_hash=_hash(token),
        expires_at=timezone.now() + timedelta(days=days),
    )
    return export, token


def share_path(token: str) -> str:
    return reverse("report_share", args=[token])


def share_create(*, report: Report, actor, days=None, request=None) -> tuple[ReportExport, str]:
    """A web link to the report that expires (and can be revoked). Returns the export and the token,
    which is shown once: only its hash is stored."""
    _require_done(report)
    days = _link_days(days)
    with transaction.atomic():
        export, token = _new_link(report=report, actor=actor, kind=ReportExport.Kind.WEB, days=days)
        audit.record(
            action="export",
            request=request,
            actor=actor,
            resource=RESOURCE,
            patient=report.patient,
            object_id=report.pk,
            metadata={"kind": "web", "export": str(export.pk), "days": days},
        )
    return export, token


def recipient_for(report: Report, email: str):
    """An active login of this clinic who may read this patient's reports: the patient, or staff in
    scope. The outbox writes to people, and a link to a patient's report goes to nobody else."""
    email = (email or "").strip()
    if not email:
        raise ValidationError({"recipient": "Enter the recipient's e-mail address."})
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is not None:
        if report.patient.user_id == user.pk:
            return user
        if (
            access.is_staff_user(user)
            and access.patients_for(user, "read", RESOURCE).filter(pk=report.patient_id).exists()
        ):
            return user
    raise ValidationError(
        {"recipient": "No one with that e-mail address in this clinic may see this patient's reports."}
    )


def email_create(*, report: Report, actor, recipient: str, days=None, request=None) -> ReportExport:
    """E-mail a link to the report through the notification outbox. The mail carries the link and its
    expiry only: never the patient's name, MRN or any result."""
    _require_done(report)
    days = _link_days(days)
    user = recipient_for(report, recipient)
    with transaction.atomic():
        export, token = _new_link(
            report=report,
            actor=actor,
            kind=ReportExport.Kind.EMAIL,
            days=days,
            recipient=user.email,
            recipient_user=user,
        )
        notify(
            event_type="report_shared",
            recipients=[user],
            channels=["email"],
            patient=report.patient,
            key=f"report_export:{export.pk}",
            link=share_path(token),
            context={"sender": actor.get_full_name() if actor else "", "expires": f"{export.expires_at:%Y-%m-%d}"},
        )
        audit.record(
            action="export",
            request=request,
            actor=actor,
            resource=RESOURCE,
            patient=report.patient,
            object_id=report.pk,
            metadata={"kind": "email", "export": str(export.pk), "days": days, "recipient": user.email},
        )
    return export


def export_revoke(*, export: ReportExport, actor, request=None) -> ReportExport:
    if not export.is_link:
        raise ValidationError({"export": "Only links can be revoked."})
    if export.revoked_at is None:
        export.revoked_at, export.revoked_by = timezone.now(), actor
        export.save(update_fields=["revoked_at", "revoked_by"])
        audit.record(
            action="update",
            request=request,
            actor=actor,
            resource=RESOURCE,
            patient=export.patient,
            object_id=export.report_id,
            metadata={"event": "link_revoked", "export": str(export.pk)},
        )
    return export


def share_open(token: str, *, request=None, part: str = "page") -> ReportExport | None:
    """The export a share token opens, or None (unknown, expired or revoked). Every open of a known
    token is audited, refused ones too."""
    if not token or len(token) > 100:
        return None
    export = ReportExport.objects.select_related("report", "patient__project").filter(token_hash=_hash(token)).first()
    if export is None:
        return None
    now = timezone.now()
    live = export.is_live(now) and export.report.status == Report.Status.DONE
    meta = {"via": "share_link", "export": str(export.pk), "kind": export.kind, "part": part}
    if live:
        ReportExport.objects.filter(pk=export.pk).update(open_count=F("open_count") + 1, last_opened_at=now)
    else:
        meta["refused"] = "revoked" if export.revoked_at else "expired"
    # Every open is audited, refused ones as denials (the link's holder is anonymous).
    audit.record(action="read" if live else "denied", request=request, actor=None, resource=RESOURCE,
                 patient=export.patient, object_id=export.report_id, metadata=meta)
    return export if live else None
