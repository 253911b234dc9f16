"""RPM billing pages: the chart's RPM tab (/patients/<uuid>/rpm/) with its timer,
manual time and episode actions, and the monthly report per program
(/reports/rpm/ and its CSV export). The rules, and the reads of a patient's episodes
and time, are in `clinical.rpm`."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from clinical import rpm
from clinical.forms import (
    ConsentForm,
    ConsentWithdrawForm,
    EpisodeEndForm,
    EpisodeSetupForm,
    EpisodeStartForm,
    ManualTimeForm,
    StopTimerForm,
)
from mahalo import access, audit
from mahalo.decorators import permission_required
from mahalo.exports import stream_csv
from mahalo.shell import current_program
from patients import shell

# --- The chart tab -----------------------------------------------------------------


def tab_context(request, patient, **forms) -> dict:
    """Everything the RPM tab shows, in a fixed number of queries."""
    tz = patient.tz
    today = rpm.local_today(tz)
    episodes = rpm.episodes_for(patient)
    episode = next((e for e in episodes if e.started_on <= today and (e.ended_on is None or e.ended_on >= today)),
                   None)
    month_rows = rpm.ledger(patients=[patient.pk], tz=tz, month=today, today=today)
    month_row = month_rows[0] if month_rows else None
    month_time = rpm.month_time([patient.pk], tz, today).get(patient.pk, rpm.MonthTime())
    first = rpm.local_midnight(rpm.month_start(today), tz)
    entries = rpm.finished_entries(patient, first)
    for entry in entries:
        entry.duration = f"{entry.seconds // 60} min" if entry.seconds % 60 == 0 else (
            f"{entry.seconds // 60} min {entry.seconds % 60} s")
    can_write = access.can(request.user, "clinical", "write", patient)
    minutes = month_time.minutes
    consents = rpm.consents_for(patient)
    return {
        "consents": consents,
        "consent": rpm.active_consent(consents),
        "consent_form": forms.get("consent_form") or ConsentForm(prefix="consent", initial={
            "obtained_on": today, "given_by": "Patient"}),
        "withdraw_form": forms.get("withdraw_form") or ConsentWithdrawForm(prefix="withdraw",
                                                                           initial={"withdrawn_on": today}),
        "rpm_today": today,
        "episode": episode,
        "past_episodes": [e for e in episodes if e is not episode],
        "current": rpm.current_period(episode, tz, today),
        "month_row": month_row,
        "month_time": month_time,
        "month_codes": rpm.codes_display(month_row.codes) if month_row else "",
        "management_codes": rpm.codes_display(rpm.management_codes(month_time.seconds, month_time.interactive)),
        "next_step": _next_step(minutes, month_time.interactive),
        "entries": entries,
        "running": rpm.running_timer(patient=patient, staff_user=request.user) if can_write else None,
        "can_write": can_write,
        "manual_form": forms.get("manual_form") or ManualTimeForm(prefix="manual", initial={"day": today}),
        "stop_form": forms.get("stop_form") or StopTimerForm(prefix="stop"),
        "start_form": forms.get("start_form") or EpisodeStartForm(initial={"started_on": today}),
        "setup_form": forms.get("setup_form") or EpisodeSetupForm(initial={"setup_completed_on": today}),
        "end_form": forms.get("end_form") or EpisodeEndForm(initial={"ended_on": today}),
        "flash": forms.get("flash", ""),
    }


def _next_step(minutes: int, interactive: bool) -> str:
    """A plain hint toward the next management code this month."""
    if not interactive:
        return "No interactive communication logged this month: no management code yet."
    if minutes < rpm.MINUTES_99470:
        return f"{rpm.MINUTES_99470 - minutes} min more for 99470."
    if minutes < rpm.MINUTES_99457:
        return f"{rpm.MINUTES_99457 - minutes} min more for 99457."
    step = rpm.MINUTES_99458_STEP
    return f"{step - (minutes - rpm.MINUTES_99457) % step} min more for another 99458."


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("clinical", "read")
def patient_rpm(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", "clinical")  # audited read
    return shell.render_chart(request, patient, "rpm", tab_context(request, patient))


def _answer(request, patient, message: str = "", **forms) -> HttpResponse:
    """After an action: the refreshed panel for HTMX, else back to the tab (or the tab
    with the form's errors). Errors answer HTMX with 200 because htmx 2 doesn't swap
    4xx responses, and the user must see them next to the field."""
    failed = any(f.errors for f in forms.values() if hasattr(f, "errors"))
    if request.htmx:
        response = render(request, "clinical/tab_rpm.html#rpm-panel",
                          {"patient": patient, **tab_context(request, patient, flash=message, **forms)})
        response["Vary"] = "HX-Request"
        return response
    if failed:
        response = shell.render_chart(request, patient, "rpm", tab_context(request, patient, **forms))
        response.status_code = 400
        return response
    if message:
        messages.success(request, message)
    return redirect("patient_rpm", patient.pk)


def _writer(request, patient_id):
    """The patient, if the user may write clinical data for them (else 404, audited)."""
    return access.patient_for_request(request, patient_id, "write", "clinical")


@require_POST
@permission_required("clinical", "write")
def timer_start(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    _, created = rpm.timer_start(patient=patient, staff_user=request.user, request=request)
    return _answer(request, patient, "Timer started." if created else "Your timer was already running.")


@require_POST
@permission_required("clinical", "write")
def timer_stop(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    form = StopTimerForm(request.POST, prefix="stop")
    if not form.is_valid():
        return _answer(request, patient, stop_form=form)
    entry = rpm.timer_stop(patient=patient, staff_user=request.user, interactive=form.cleaned_data["interactive"],
                           note=form.cleaned_data["note"], request=request)
    if entry is None:
        return _answer(request, patient, "No timer was running.")
    return _answer(request, patient, f"Timer stopped: {entry.seconds // 60} min {entry.seconds % 60} s logged.")


@require_POST
@permission_required("clinical", "write")
def timer_discard(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    done = rpm.timer_discard(patient=patient, staff_user=request.user, request=request)
    return _answer(request, patient, "Timer discarded; nothing was logged." if done else "No timer was running.")


def _submit(request, patient, form, form_key: str, write, done) -> HttpResponse:
    """The tab's form posts: validate, call the one service, answer with the tab showing `done(data, result)`
    (or the form's errors, field and service alike, next to the form)."""
    if form.is_valid():
        try:
            result = write(form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _answer(request, patient, done(form.cleaned_data, result))
    return _answer(request, patient, **{form_key: form})


@require_POST
@permission_required("clinical", "write")
def time_manual(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    return _submit(
        request, patient, ManualTimeForm(request.POST, prefix="manual"), "manual_form",
        lambda data: rpm.time_log_manual(patient=patient, staff_user=request.user, request=request, **data),
        lambda data, entry: f"{entry.seconds // 60} min logged for {data['day']:%b %-d}.")


@require_POST
@permission_required("clinical", "write")
def episode_start(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    return _submit(
        request, patient, EpisodeStartForm(request.POST), "start_form",
        lambda data: rpm.episode_start(patient=patient, actor=request.user, request=request, **data),
        lambda data, _: "RPM episode started.")


@require_POST
@permission_required("clinical", "write")
def episode_setup(request: HttpRequest, patient_id, episode_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    episode = rpm.episode_for(request, patient, episode_id)
    return _submit(
        request, patient, EpisodeSetupForm(request.POST), "setup_form",
        lambda data: rpm.episode_setup_completed(episode=episode, on=data["setup_completed_on"],
                                                 actor=request.user, request=request),
        lambda data, _: "Device setup and education recorded (99453).")


@require_POST
@permission_required("clinical", "write")
def episode_end(request: HttpRequest, patient_id, episode_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    episode = rpm.episode_for(request, patient, episode_id)
    return _submit(
        request, patient, EpisodeEndForm(request.POST), "end_form",
        lambda data: rpm.episode_end(episode=episode, on=data["ended_on"], actor=request.user, request=request),
        lambda data, _: "RPM episode ended.")


@require_POST
@permission_required("clinical", "write")
def consent_record(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    return _submit(
        request, patient, ConsentForm(request.POST, prefix="consent"), "consent_form",
        lambda data: rpm.consent_record(patient=patient, actor=request.user, request=request, **data),
        lambda data, _: "RPM consent recorded.")


@require_POST
@permission_required("clinical", "write")
def consent_withdraw(request: HttpRequest, patient_id, consent_id) -> HttpResponse:
    patient = _writer(request, patient_id)
    consent = rpm.consent_for(request, patient, consent_id)
    return _submit(
        request, patient, ConsentWithdrawForm(request.POST, prefix="withdraw"), "withdraw_form",
        lambda data: rpm.consent_withdraw(consent=consent, actor=request.user, request=request,
                                          on=data["withdrawn_on"], note=data["note"]),
        lambda data, _: "RPM consent withdrawn: this patient is left out of billing from "
                        f"{data['withdrawn_on']:%b %-d}.")


# --- The monthly report ----------------------------------------------------------------

# The page's column heads: the CSV's, shortened to fit a screen.
TABLE_HEADER = ["Patient", "MRN", "Episode start", "Setup", "Periods ending in month", "Device days", "Minutes",
                "Interactive", "Codes"]
CSV_HEADER = ["Patient", "MRN", "Episode start", "Setup completed", "Periods ending in month",
              "Days with device readings", "Management minutes", "Interactive communication", "Codes"]


def report_cells(row: rpm.LedgerRow) -> list[str]:
    """One report row as text: the page's table and the CSV show exactly these."""
    episode = row.episodes[-1]
    periods = "; ".join(f"{line.period.start:%Y-%m-%d}–{line.period.end:%Y-%m-%d}" for line in row.periods)
    days = "; ".join(f"{line.days}{' (in progress)' if line.in_progress else ''}" for line in row.periods)
    setups = [e.setup_completed_on for e in row.episodes if e.setup_completed_on]
    return [
        row.patient.full_name, row.patient.mrn, f"{episode.started_on:%Y-%m-%d}",
        f"{setups[-1]:%Y-%m-%d}" if setups else "", periods, days,
        str(row.time.minutes), "yes" if row.time.interactive else "no", row.codes_text,
    ]


def _report_params(request) -> tuple[object, object, str, str]:
    """(program, month, month text, error). A program the user can't see is a 404,
    the same as one that doesn't exist: the gate's program list is the only source."""
    programs = access.program_list(request.user)
    wanted = request.GET.get("program", "")
    if wanted:
        program = next((p for p in programs if str(p.pk) == wanted), None)
        if program is None:
            raise Http404("No such program.")
    else:
        program = current_program(request) or (programs[0] if programs else None)
    if program is None:
        raise Http404("No programs.")
    raw = request.GET.get("month", "")
    if not raw:
        return program, rpm.local_today(program.tz).replace(day=1), "", ""
    try:
        return program, rpm.parse_month(raw), raw, ""
    except ValueError as exc:
        return program, None, raw, str(exc)


def _report_rows(request, program, month) -> list[rpm.LedgerRow]:
    patients = access.patients_for(request.user, "read", "reports").filter(program=program)
    return rpm.ledger(patients=patients, tz=program.tz, month=month)


@vary_on_headers("HX-Request")
@permission_required("reports", "read")
def rpm_report(request: HttpRequest) -> HttpResponse:
    program, month, raw, error = _report_params(request)
    rows = _report_rows(request, program, month) if month else []
    audit.record(request=request, action="report", resource="reports", project=program.project,
                 metadata={"report": "rpm", "program": str(program.pk),
                           "month": f"{month:%Y-%m}" if month else raw, "count": len(rows)})
    table = [{"row": r, "cells": report_cells(r)} for r in rows if r.billable]
    held = [{"row": r, "cells": report_cells(r), "reason": r.consent_reason} for r in rows if not r.billable]
    totals: dict[str, int] = {}
    for r in (r for r in rows if r.billable):
        for code in r.codes:
            totals[code] = totals.get(code, 0) + 1
    context = {
        "programs": access.program_list(request.user), "program": program, "month": month,
        "month_value": f"{month:%Y-%m}" if month else raw, "error": error, "table": table,
        "header": TABLE_HEADER, "csv_header": CSV_HEADER, "held": held,
        "totals": [(code, n, rpm.CODE_LABELS.get(code, "")) for code, n in sorted(totals.items())],
        "prev_month": month - timedelta(days=1) if month else None,
        "next_month": rpm.month_end(month) + timedelta(days=1) if month else None,
    }
    template = "clinical/rpm_report.html#report" if request.htmx else "clinical/rpm_report.html"
    return render(request, template, context)


@permission_required("reports", "read")
def rpm_report_export(request: HttpRequest) -> HttpResponse:
    program, month, raw, error = _report_params(request)
    if error:
        return HttpResponse(f"month: {error}", status=400, content_type="text/plain; charset=utf-8")
    # Without documented consent a patient is not billed (the page lists them with the reason).
    everyone = _report_rows(request, program, month)
    rows = [r for r in everyone if r.billable]
    audit.record(request=request, action="export", resource="reports", project=program.project,
                 metadata={"report": "rpm", "program": str(program.pk), "month": f"{month:%Y-%m}",
                           "count": len(rows), "held_for_consent": len(everyone) - len(rows)})
    return stream_csv(CSV_HEADER, (report_cells(r) for r in rows),
                      f"rpm-{slugify(program.name)[:40] or 'program'}-{month:%Y-%m}.csv")
