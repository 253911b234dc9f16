"""Rehab on the portal's Today page (/portal/today/): today's exercise (done in one tap, or logged
with heart rate, RPE and symptoms), today's calendar events (done / skipped), last night's sleep
and the daily score with its components. Sections registered with patients.shell.register_portal_today;
the writes answer with a redirect back to Today, or Today again with the form's errors (400)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from care.forms import ExerciseLogForm, SleepForm
from care.models import ExerciseLog, ExercisePrescription, RehabSession, SleepLog
from care.services import rehab, scores
from care.services.rehab import RESOURCE as R
from mahalo import access
from patients import shell
from scheduling import calendars
from scheduling.models import CalendarEvent


def today_exercise_context(request, patient) -> dict:
    today = patient.today
    rxs = rehab.active_prescriptions(patient, today)
    logs = list(ExerciseLog.objects.filter(patient=patient, local_date=today)  # gate: the portal's own patient
                .select_related("prescription__exercise", "exercise").order_by("performed_at"))
    done = {log.prescription_id for log in logs}
    items = [{"rx": rx, "words": rehab.plain_words(rx, today), "minutes": rehab.dose_on(rx, today)[0],
              "done": rx.pk in done} for rx in rxs]
    sessions = list(RehabSession.objects.filter(patient=patient, local_date=today)  # gate: the portal's own patient
                    .exclude(status=RehabSession.Status.CANCELLED))
    form = getattr(request, "_rehab_log_form", None) or ExerciseLogForm()
    return {"rehab_items": items, "rehab_logs": logs, "rehab_sessions": sessions, "rehab_log_form": form,
            "rehab_open_form": getattr(request, "_rehab_log_form", None) is not None}


def today_events_context(request, patient) -> dict:
    start = datetime.combine(patient.today, time(0), tzinfo=patient.tz)
    events = calendars.visible_events(request.user).filter(patient=patient)
    occ = calendars.occurrences(events.filter(starts_at__lt=start + timedelta(days=1)), start,
                                start + timedelta(days=1))
    return {"today_events": [o for o in occ if o.event.status != CalendarEvent.Status.CANCELLED]}


def today_sleep_context(request, patient) -> dict:
    night = patient.today
    log = SleepLog.objects.filter(patient=patient, night=night).first()  # gate: the portal's own patient
    form = getattr(request, "_rehab_sleep_form", None)
    if form is None:
        form = SleepForm(initial={"quality": log.quality, "interruptions": log.interruptions, "hours": log.hours,
                                  "notes": log.notes} if log else None)
    return {"sleep_log": log, "sleep_form": form, "sleep_device": scores.device_sleep(patient, [night]).get(night),
            "sleep_open_form": getattr(request, "_rehab_sleep_form", None) is not None}


def today_score_context(request, patient) -> dict:
    return {"day_score": scores.day_score(patient)}


def _today_again(request, patient, status=400) -> HttpResponse:
    context = {"patient": patient, "portal_nav": "today", "today": patient.today, "tzname": str(patient.tz)}
    context["sections"] = shell.blocks(shell.PORTAL_TODAY, request, patient, context)
    return render(request, "care/portal_today.html", context, status=status)


def _rx(request, patient, pk):
    return access.load(request, ExercisePrescription.objects.filter(patient=patient).select_related("exercise"),
                       pk, resource=R, action="write", via="patient", audit_read=False)


@require_POST
@shell.portal_page
def portal_exercise_done(request: HttpRequest, patient, prescription_id) -> HttpResponse:
    """One tap: today's prescribed session done, at its prescribed minutes."""
    rx = _rx(request, patient, prescription_id)
    minutes = rehab.dose_on(rx, patient.today)[0]
    try:
        rehab.exercise_log(patient=patient, actor=request.user, data=rehab.LogIn(duration_min=minutes, prescription=rx),
                           request=request, via="portal")
    except ValidationError as exc:
        messages.error(request, " ".join(m for errs in exc.message_dict.values() for m in errs))
        return _today_again(request, patient)
    messages.success(request, f"{rx.exercise.name}: {minutes} minutes done. Well done!")
    return redirect("portal_today")


@require_POST
@shell.portal_page
def portal_exercise_log(request: HttpRequest, patient) -> HttpResponse:
    form = ExerciseLogForm(request.POST)
    rx = None
    if form.is_valid():
        if form.cleaned_data.get("prescription"):
            rx = _rx(request, patient, form.cleaned_data["prescription"])
        try:
            log = rehab.exercise_log(patient=patient, actor=request.user, data=form.to_input(rx), request=request,
                                     via="portal")
        except ValidationError as exc:
            for name, errs in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errs)
        else:
            if ExerciseLog.Symptom.CHEST_PAIN in log.symptoms:
                messages.warning(request, "You logged chest pain: your care team has been alerted. If it is "
                                          "happening now, stop exercising and call emergency services (911).")
            messages.success(request, f"Logged {log.duration_min:g} minutes.")
            return redirect("portal_today")
    request._rehab_log_form = form
    return _today_again(request, patient)


@require_POST
@shell.portal_page
def portal_sleep(request: HttpRequest, patient) -> HttpResponse:
    form = SleepForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            scores.sleep_log(patient=patient, actor=request.user, night=patient.today, quality=d["quality"],
                             interruptions=d.get("interruptions") or 0, hours=d.get("hours"),
                             notes=d.get("notes") or "", request=request, via="portal")
        except ValidationError as exc:
            for name, errs in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errs)
        else:
            messages.success(request, "Sleep logged.")
            return redirect("portal_today")
    request._rehab_sleep_form = form
    return _today_again(request, patient)


@require_POST
@shell.portal_page
def portal_today_event(request: HttpRequest, patient, event_id) -> HttpResponse:
    """Mark one of the patient's own calendar events (one occurrence of a series) done or skipped."""
    event = calendars.event_for(request.user, event_id)
    try:
        when = calendars.parse_stamp(request.POST.get("occurrence", ""))
    except ValueError:
        raise Http404 from None
    status = {"done": CalendarEvent.Status.COMPLETED, "skipped": CalendarEvent.Status.SKIPPED}.get(
        request.POST.get("status", ""))
    try:
        if status is None:
            raise ValidationError({"status": "Say done or skipped."})
        calendars.occurrence_mark(event=event, occurrence_start=when, status=status, actor=request.user)
    except ValidationError as exc:
        messages.error(request, f"{event.title}: " + " ".join(m for errs in exc.message_dict.values() for m in errs))
        return _today_again(request, patient)
    messages.success(request, f"{event.title}: {'done' if status == CalendarEvent.Status.COMPLETED else 'skipped'}.")
    return redirect("portal_today")
