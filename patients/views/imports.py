"""Bulk patient import pages: upload, preview (with a progress fragment), run, error report.

The work is in patients.importing (which creates records through patients.services, like the
form and the API); these views only load through the gate and render."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import get_text_list, slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required
from mahalo.exports import stream_csv
from patients import importing
from patients.forms import ImportForm
from patients.importing import ImportFileError
from patients.models import PatientFlag, PatientImport

# The preview lists at most this many rows with problems; the report has them all.
PROBLEMS_SHOWN = 200


def _program_list(entries: list[dict]) -> str:
    return get_text_list([f"{e['name']} ({e['count']})" for e in entries], "and")


def _problems(job: PatientImport) -> list[dict]:
    """Errors grouped by row, in file order, with labels for the fields."""
    rows = []
    for number, errors in groupby(job.errors, key=lambda e: e["row"]):
        errors = list(errors)
        rows.append({
            "row": number,
            "name": errors[0].get("name", ""),
            "items": [{"field": importing.FIELD_LABELS.get(e["field"], e["field"]), "message": e["message"]}
                      for e in errors],
        })
    return rows


def _detail_context(request: HttpRequest, job: PatientImport) -> dict:
    summary = job.summary or {}
    problems = _problems(job)
    return {
        "job": job,
        "summary": summary,
        "programs_phrase": _program_list(summary.get("programs", [])),
        "imported_phrase": _program_list(summary.get("imported_programs", [])),
        "bad_rows": len(problems),
        "problems": problems[:PROBLEMS_SHOWN],
        "problems_hidden": max(0, len(problems) - PROBLEMS_SHOWN),
        "can_run": job.status in (PatientImport.Status.VALIDATED, PatientImport.Status.FAILED) and job.valid_rows > 0,
        "background": job.total_rows > importing.IMPORT_SYNC_MAX_ROWS,
        "stall": importing.stall_notice(job),
    }


def _column_help(programs) -> list[tuple[str, str, bool, str]]:
    names = ", ".join(p.name for p in programs) or "none"
    flags = ", ".join(value for value, _ in PatientFlag.Flag.choices)
    help_text = {
        "program": f"Program name: {names}. Empty: the default program.",
        "mrn": "The program's record number, unique in your organisation.",
        "date_of_birth": "YYYY-MM-DD or MM/DD/YYYY (Excel dates are fine).",
        "sex": "female, male, other or unknown (or F, M).",
        "email": "An email address.",
        "phone": "Any format; +country code outside the US. Saved as +18085550142.",
        "flags": f"Separated by ; or , — {flags}.",
        "status": "active (the default), paused, discharged or archived.",
    }
    return [(name, label, name in importing.REQUIRED_COLUMNS, help_text.get(name, label))
            for name, label in importing.COLUMNS.items()]


@permission_required("patients", "write")
@require_http_methods(["GET", "POST"])
def patient_import(request: HttpRequest) -> HttpResponse:
    programs = importing.importable_programs(request.user)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, programs=programs)
    else:
        form = ImportForm(programs=programs)
    if form.is_bound and form.is_valid():
        try:
            job = importing.import_create(actor=request.user, upload=form.cleaned_data["file"],
                                          default_program=form.cleaned_data["default_program"], request=request)
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("patient_import_detail", import_id=job.pk)
    recent = importing.jobs_for(request.user).select_related("created_by", "default_program")[:10]
    return render(request, "patients/import.html", {
        "form": form,
        "programs": programs,
        "has_project": access.project_of(request.user) is not None,
        "recent": recent,
        "columns": _column_help(programs),
        "max_rows": importing.IMPORT_MAX_ROWS,
    })


@vary_on_headers("HX-Request")
@permission_required("patients", "write")
@require_GET
def patient_import_detail(request: HttpRequest, import_id) -> HttpResponse:
    job = importing.job_load(request, import_id)
    context = _detail_context(request, job)
    if request.htmx:
        response = render(request, "patients/import_preview.html#status", context)
        if job.status != PatientImport.Status.IMPORTING:
            # The poll saw the end: reload once so the whole page (problems too) is current.
            response["HX-Refresh"] = "true"
        return response
    return render(request, "patients/import_preview.html", context)


@permission_required("patients", "write")
@require_POST
def patient_import_run(request: HttpRequest, import_id) -> HttpResponse:
    job = importing.job_load(request, import_id)
    importing.import_start(job=job, actor=request.user, request=request)
    return redirect("patient_import_detail", import_id=job.pk)


@permission_required("patients", "write")
@require_GET
def patient_import_errors(request: HttpRequest, import_id) -> HttpResponse:
    job = importing.job_load(request, import_id)
    try:
        header, rows = importing.error_report(job)
    except (ImportFileError, OSError):
        raise Http404("The uploaded file is no longer available.")
    audit.record(request=request, action="export", resource="patients", object_id=job.pk, project=job.project,
                 metadata={"via": "import", "import_id": str(job.pk), "report": "errors",
                           "rows": len({e["row"] for e in job.errors})})
    stem = slugify(Path(job.original_name).stem)[:60] or "import"
    return stream_csv(header, rows, f"{stem}-problems.csv")


@permission_required("patients", "write")
@require_GET
def patient_import_template(request: HttpRequest) -> HttpResponse:
    header, rows = importing.template_rows()
    return stream_csv(header, rows, "patients-import-template.csv")
