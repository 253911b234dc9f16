"""The chart's Reports tab (/patients/<uuid>/reports/): generated reports (ask for one, watch its
progress, download it, e-mail a link, make and revoke web links) and the weekly summaries; the public
share-link pages; the portal's weekly summaries.

Staff need reports:read to see and download, reports:write to generate and share. Every object comes
through the gate (`access.patient_for_request`, `access.load`): another program's or tenant's report is
404, and the URL's patient must own the report."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access
from mahalo.decorators import permission_required
from patients import shell
from reports import services
from reports.forms import EmailLinkForm, ReportRequestForm, WebLinkForm
from reports.models import Report, ReportExport, WeeklySummary

R = services.RESOURCE
SUMMARIES_SHOWN = 8


def _errors(form, exc: ValidationError) -> None:
    for field, errs in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errs)


def _list_context(request, patient, form=None) -> dict:
    templates = services.templates_for(patient)
    if form is None:
        first = templates[0] if templates else None
        start, end = services.default_period(first, patient) if first else (None, None)
        form = ReportRequestForm(
            templates=templates,
            initial={"template": str(first.pk) if first else "", "period_start": start, "period_end": end},
        )
    reports = list(
        access.scoped(request.user, Report.objects, R)
        .filter(patient_id=patient.pk)
        .select_related("created_by")
        .defer("html", "snapshot")[:50]
    )
    summaries = list(
        access.scoped(request.user, WeeklySummary.objects, R).filter(patient_id=patient.pk)[:SUMMARIES_SHOWN]
    )
    return {
        "view": "list",
        "form": form,
        "reports": reports,
        "summaries": summaries,
        "template_periods": {str(t.pk): t.default_days for t in templates},
        "templates": templates,
        "can_write": access.can(request.user, R, "write"),
        "tzname": str(patient.tz),
    }


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def patient_reports(request: HttpRequest, patient_id) -> HttpResponse:
    """The list and the request form; POST asks for a report (reports:write)."""
    patient = access.patient_for_request(request, patient_id, "read", R)
    if request.method == "POST":
        if not access.can(request.user, R, "write", patient):
            return HttpResponse("You may not generate reports.", status=403)
        templates = services.templates_for(patient)
        form = ReportRequestForm(request.POST, templates=templates)
        if form.is_valid():
            try:
                report = services.report_request(
                    patient=patient,
                    template=services.template_for(patient, form.cleaned_data["template"]),
                    start=form.cleaned_data["period_start"],
                    end=form.cleaned_data["period_end"],
                    actor=request.user,
                    request=request,
                )
            except ValidationError as exc:
                _errors(form, exc)
            else:
                return redirect("report_detail", patient.pk, report.pk)
        response = shell.render_chart(request, patient, "reports", _list_context(request, patient, form))
        response.status_code = 400
        return response
    return shell.render_chart(request, patient, "reports", _list_context(request, patient))


def _report(request, patient, report_id) -> Report:
    report = access.load(request, Report.objects.select_related("patient", "created_by"), report_id, resource=R)
    if report.patient_id != patient.pk:
        raise Http404("Not found.")
    return report


def _detail_context(request, patient, report, email_form=None, web_form=None, new_link="") -> dict:
    now = timezone.now()
    exports = list(
        access.scoped(request.user, ReportExport.objects, R)
        .filter(report_id=report.pk)
        .select_related("created_by", "revoked_by")[:100]
    )
    for e in exports:
        e.live = e.is_live(now)
    body = (
        services.render_context(title=report.title, audience=report.audience, snapshot=report.snapshot)
        if report.status == Report.Status.DONE
        else None
    )
    return {
        "view": "detail",
        "report": report,
        "exports": exports,
        "body": body,
        "new_link": new_link,
        "email_form": email_form or EmailLinkForm(),
        "web_form": web_form or WebLinkForm(),
        "can_write": access.can(request.user, R, "write"),
        "tzname": str(patient.tz),
    }


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def report_detail(request: HttpRequest, patient_id, report_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    report = _report(request, patient, report_id)
    return shell.render_chart(request, patient, "reports", _detail_context(request, patient, report))


@permission_required(R, "read")
def report_status(request: HttpRequest, patient_id, report_id) -> HttpResponse:
    """The progress panel alone (the page polls it with HTMX while the report renders)."""
    patient = access.patient_for_request(request, patient_id, "read", R)
    report = access.load(request, Report.objects.defer("html", "snapshot"), report_id, resource=R, audit_read=False)
    if report.patient_id != patient.pk:
        raise Http404("Not found.")
    response = render(request, "reports/_status.html", {"report": report, "patient": patient})
    if not report.is_pending and request.htmx:
        response["HX-Refresh"] = "true"  # done or failed: reload the page with the result
    return response


@permission_required(R, "read")
def report_pdf(request: HttpRequest, patient_id, report_id) -> HttpResponse:
    """Download the stored PDF (audited as an export)."""
    patient = access.patient_for_request(request, patient_id, "read", R)
    report = _report(request, patient, report_id)
    try:
        services.report_download(report=report, actor=request.user, request=request)
    except ValidationError:
        raise Http404("The report isn't ready.") from None
    return _pdf_response(report, attachment=True)


def _pdf_response(report: Report, *, attachment: bool) -> FileResponse:
    # The file name names the report and its period, never the patient (it lands in Downloads folders).
    name = f"{report.title.lower().replace(' ', '-')}-{report.period_start}-{report.period_end}.pdf"
    response = FileResponse(
        report.pdf.open("rb"), content_type="application/pdf", as_attachment=attachment, filename=name
    )
    response["Cache-Control"] = "no-store"
    return response


def _write_gate(request, patient_id, report_id):
    patient = access.patient_for_request(request, patient_id, "read", R)
    if not access.can(request.user, R, "write", patient):
        raise Http404("Not found.")
    return patient, _report(request, patient, report_id)


@require_POST
@permission_required(R, "write")
def report_email(request: HttpRequest, patient_id, report_id) -> HttpResponse:
    patient, report = _write_gate(request, patient_id, report_id)
    form = EmailLinkForm(request.POST)
    if form.is_valid():
        try:
            export = services.email_create(
                report=report,
                actor=request.user,
                recipient=form.cleaned_data["recipient"],
                days=form.cleaned_data["days"],
                request=request,
            )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(
                request,
                f"A link was e-mailed to {export.recipient}; it works until "
                f"{timezone.localtime(export.expires_at):%b %d, %Y %H:%M}.",
            )
            return redirect("report_detail", patient.pk, report.pk)
    response = shell.render_chart(
        request, patient, "reports", _detail_context(request, patient, report, email_form=form)
    )
    response.status_code = 400
    return response


@require_POST
@permission_required(R, "write")
def report_share_create(request: HttpRequest, patient_id, report_id) -> HttpResponse:
    patient, report = _write_gate(request, patient_id, report_id)
    form = WebLinkForm(request.POST)
    if form.is_valid():
        try:
            _export, token = services.share_create(
                report=report, actor=request.user, days=form.cleaned_data["days"], request=request
            )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            # The token is shown once, now: only its hash is stored.
            link = request.build_absolute_uri(services.share_path(token))
            return shell.render_chart(
                request, patient, "reports", _detail_context(request, patient, report, new_link=link)
            )
    response = shell.render_chart(request, patient, "reports", _detail_context(request, patient, report, web_form=form))
    response.status_code = 400
    return response


@require_POST
@permission_required(R, "write")
def report_export_revoke(request: HttpRequest, patient_id, report_id, export_id) -> HttpResponse:
    patient, report = _write_gate(request, patient_id, report_id)
    export = access.load(request, ReportExport.objects, export_id, resource=R, action="write", audit_read=False)
    if export.report_id != report.pk:
        raise Http404("Not found.")
    try:
        services.export_revoke(export=export, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The link was revoked: it no longer opens.")
    return redirect(reverse("report_detail", args=[patient.pk, report.pk]) + "#exports")


# --- The public share link (no login: the token is the key; every open is audited) ---------------------


def _share_headers(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def report_share(request: HttpRequest, token: str) -> HttpResponse:
    export = services.share_open(token, request=request, part="page")
    if export is None:
        raise Http404("This link has expired or was revoked.")
    report = export.report
    body = services.render_context(title=report.title, audience=report.audience, snapshot=report.snapshot)
    return _share_headers(
        render(request, "reports/share.html", {"report": report, "body": body, "export": export, "token": token})
    )


def report_share_pdf(request: HttpRequest, token: str) -> HttpResponse:
    export = services.share_open(token, request=request, part="pdf")
    if export is None:
        raise Http404("This link has expired or was revoked.")
    return _share_headers(_pdf_response(export.report, attachment=False))


# --- Portal: the patient's weekly summaries -----------------------------------------------------------


@shell.portal_page
def portal_weekly_summaries(request: HttpRequest, patient) -> HttpResponse:
    summaries = list(access.scoped(request.user, WeeklySummary.objects, R).filter(patient_id=patient.pk)[:26])
    return render(
        request,
        "reports/portal_summaries.html",
        {"portal_nav": "summaries", "patient": patient, "summaries": summaries},
    )


@shell.portal_page
def portal_weekly_summary(request: HttpRequest, patient, summary_id) -> HttpResponse:
    summary = access.load(request, WeeklySummary.objects, summary_id, resource=R)
    if summary.patient_id != patient.pk:
        raise Http404("Not found.")
    return render(
        request, "reports/portal_summary.html", {"portal_nav": "summaries", "patient": patient, "summary": summary}
    )
