"""The chart's Rehab tab (issue 17): phase and progression, prescriptions, logs against the
prescription (minutes per week vs target, heart-rate zones reached: graphs on the shared chart
stack), symptoms, goals, supervised sessions of the covered 36, daily scores; and the staff writes
(prescribe, stop, record a session, tick phase criteria, clear an activity, apply a routine).
Views gate, call care.services.rehab / scores and render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from care.forms import PrescriptionForm, SessionForm
from care.models import Activity, ExercisePrescription, TherapyPhase, TherapyRoutine
from care.services import rehab, scores
from care.services.rehab import RESOURCE as R
from mahalo import access
from mahalo.charts import Axis, Chart, Series, day_iso
from mahalo.decorators import permission_required
from patients import shell


def minutes_chart(rows: list[dict]) -> dict:
    x = [day_iso(r["day"]) for r in rows]
    done = Series("rolling", "Minutes in the last 7 days", list(zip(x, [r["rolling"] for r in rows], strict=True)),
                  kind="bar", color="teal")
    target = Series("target", "Prescribed minutes a week", list(zip(x, [r["target"] for r in rows], strict=True)),
                    kind="line", color="ink", dash=True)
    last = rows[-1]
    return Chart(key="rehab_minutes", title="Exercise minutes against the prescription", unit="min", x_kind="day",
                 x_min=x[0], x_max=x[-1], series=[done, target], y=Axis(unit="min", begin_at_zero=True),
                 summary=f"Minutes of exercise in the 7 days ending each day over {len(rows)} days; "
                         f"latest {last['rolling']} of {last['target'] or 'no'} prescribed minutes a week.").as_dict()


def zone_chart(rows: list[dict]) -> dict:
    x = [day_iso(r["day"]) for r in rows]
    zone = Series("zone", "Prescribed heart-rate zone", [(d, r["zone"][0] if r["zone"] else None,
                                                          r["zone"][1] if r["zone"] else None)
                                                         for d, r in zip(x, rows, strict=True)],
                  kind="range", color="range", describes=("hr",))
    marks = []
    for r in rows:
        low, high = r["zone"] or (None, None)
        hr = r["hr"]
        marks.append("alert" if hr and high and hr > high else "watch" if hr and low and hr < low else "ok")
    hr = Series("hr", "Average heart rate in exercise", [(d, r["hr"]) for d, r in zip(x, rows, strict=True)],
                kind="points", color="navy", marks=marks)
    reached = [r for r in rows if r["hr"] and r["zone"]]
    inside = sum(1 for r in reached if r["zone"][0] <= r["hr"] <= r["zone"][1])
    return Chart(key="rehab_zone", title="Heart rate in exercise against the zone", unit="bpm", x_kind="day",
                 x_min=x[0], x_max=x[-1], series=[zone, hr], y=Axis(unit="bpm"),
                 note="Shaded: the Karvonen zone prescribed for that day. Marker colour: in the zone, below "
                      "(amber) or above (red).",
                 summary=f"Average heart rate on {len(reached)} exercise days, {inside} within the prescribed "
                         "zone.").as_dict()


def score_chart(rows, today) -> dict:
    from datetime import timedelta

    by_day = {s.date: s.overall for s in rows}
    days = [today - timedelta(days=29 - i) for i in range(30)]
    points = [(day_iso(d), by_day.get(d)) for d in days]
    known = [v for _, v in points if v is not None]
    return Chart(key="rehab_score", title="Daily score", unit="/100", x_kind="day", x_min=points[0][0],
                 x_max=points[-1][0], series=[Series("score", "Daily score", points, kind="line", color="blue")],
                 y=Axis(unit="", min=0, max=100, begin_at_zero=True),
                 summary=f"Daily score over 30 days: {len(known)} days scored"
                         + (f", latest {known[-1]}." if known else ".")).as_dict()


def _context(request, patient, form=None, session_form=None) -> dict:
    series = rehab.daily_series(patient)
    rxs = list(ExercisePrescription.objects.filter(patient=patient)  # gate: bounded by the gated patient
               .select_related("exercise", "prescriber").order_by("status", "-start_date"))
    for rx in rxs:
        rx.words = rehab.plain_words(rx, patient.today)
        rx.zone = rehab.hr_zone(rx)
    can_write = access.can(request.user, R, "write")
    today = scores.day_score(patient)
    logs = rehab.recent_logs(patient)
    charts = [minutes_chart(series), zone_chart(series), score_chart(scores.recent_scores(patient), patient.today)]
    return {
        "phase": rehab.phase_view(patient), "activities": rehab.activities_for(patient),
        "prescriptions": rxs, "logs": logs, "symptom_logs": [log for log in logs if log.symptomatic],
        "sessions": rehab.session_counts(patient), "goals": rehab.goals_view(patient), "today_score": today,
        "charts": [c for c in charts if not c["empty"]], "weeks": rehab.weekly_minutes(patient, 4),
        "routines": [r for p in rehab.phases_for(patient) for r in p.routines.all()],
        "can_write": can_write, "can_update": access.can(request.user, R, "update"),
        "form": form or (PrescriptionForm(patient=patient, initial={"start_date": patient.today})
                         if can_write else None),
        "session_form": session_form or (SessionForm(initial={"day": patient.today}) if can_write else None),
        "tab_url": reverse("patient_rehab", args=[patient.pk]), "tzname": str(patient.tz),
    }


def _render(request, patient, status=200, **kwargs) -> HttpResponse:
    response = shell.render_chart(request, patient, "rehab", _context(request, patient, **kwargs))
    response.status_code = status
    return response


def _errors(exc: ValidationError) -> str:
    return " ".join(m for errs in exc.message_dict.values() for m in errs)


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def patient_rehab(request: HttpRequest, patient_id) -> HttpResponse:
    """The tab; POST prescribes an exercise."""
    patient = access.patient_for_request(request, patient_id, "read", R)
    if request.method != "POST":
        return _render(request, patient)
    if not access.can(request.user, R, "write"):
        return _render(request, patient, status=403)
    patient = access.patient_for_request(request, patient_id, "write", R)
    form = PrescriptionForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            rx = rehab.prescription_create(patient=patient, actor=request.user, data=form.to_input(),
                                           request=request, via="chart")
        except ValidationError as exc:
            for name, errs in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errs)
        else:
            messages.success(request, f"Prescribed: {rehab.plain_words(rx)}.")
            return redirect(reverse("patient_rehab", args=[patient.pk]))
    return _render(request, patient, status=400, form=form)


@require_POST
@permission_required(R, "update")
def rehab_prescription_status(request: HttpRequest, patient_id, prescription_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", R)
    rx = access.load(request, ExercisePrescription.objects.filter(patient=patient).select_related("exercise"),
                     prescription_id, resource=R, action="update", via="patient")
    try:
        rehab.prescription_set_status(prescription=rx, actor=request.user, status=request.POST.get("status", ""),
                                      request=request, via="chart")
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return _render(request, patient, status=400)
    messages.success(request, f"{rx.exercise.name}: {request.POST['status']}.")
    return redirect(reverse("patient_rehab", args=[patient.pk]))


@require_POST
@permission_required(R, "write")
def rehab_session(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", R)
    form = SessionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            rehab.session_record(patient=patient, actor=request.user, starts_at=form.starts_at(patient.tz),
                                 status=d["status"], minutes=d.get("minutes"), avg_hr=d.get("avg_hr"),
                                 max_hr=d.get("max_hr"), rpe=d.get("rpe"), symptoms=d.get("symptoms"),
                                 notes=d.get("notes") or "", request=request, via="chart")
        except ValidationError as exc:
            for name, errs in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errs)
        else:
            messages.success(request, "Session recorded.")
            return redirect(reverse("patient_rehab", args=[patient.pk]))
    return _render(request, patient, status=400, session_form=form)


def _of_patient(queryset, patient):
    return queryset.filter(project_id=patient.project_id).filter(Q(program__isnull=True)
                                                                 | Q(program_id=patient.program_id))


@require_POST
@permission_required(R, "update")
def rehab_phase(request: HttpRequest, patient_id, phase_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", R)
    phase = access.load(request, _of_patient(TherapyPhase.objects, patient), phase_id, resource=R, action="update",
                        via="project")
    try:
        prog = rehab.phase_record(patient=patient, phase=phase, actor=request.user,
                                  criteria_met=request.POST.getlist("criteria"), request=request, via="chart")
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return _render(request, patient, status=400)
    messages.success(request, f"{phase.name}: " + ("exit criteria met." if prog.completed_on else
                                                   f"{len(prog.criteria_met)} criteria recorded as met."))
    return redirect(reverse("patient_rehab", args=[patient.pk]) + "#rh-phase")


@require_POST
@permission_required(R, "update")
def rehab_activity(request: HttpRequest, patient_id, activity_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", R)
    activity = access.load(request, _of_patient(Activity.objects, patient), activity_id, resource=R,
                           action="update", via="project")
    value = request.POST.get("cleared")
    if value not in ("yes", "no"):
        messages.error(request, "Say whether the activity is cleared.")
        return _render(request, patient, status=400)
    rehab.activity_set(patient=patient, activity=activity, actor=request.user, cleared=value == "yes",
                       note=request.POST.get("note", ""), request=request, via="chart")
    messages.success(request, f"{activity.name}: {'cleared' if value == 'yes' else 'not yet cleared'}.")
    return redirect(reverse("patient_rehab", args=[patient.pk]) + "#rh-activities")


@require_POST
@permission_required(R, "write")
def rehab_routine_apply(request: HttpRequest, patient_id, routine_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", R)
    routine = access.load(request, TherapyRoutine.objects.filter(phase__in=_of_patient(TherapyPhase.objects, patient)),
                          routine_id, resource=R, action="write", via="project")
    try:
        made = rehab.routine_apply(patient=patient, routine=routine, actor=request.user, request=request, via="chart")
    except ValidationError as exc:
        messages.error(request, f"{routine.name}: {_errors(exc)}")
        return _render(request, patient, status=400)
    messages.success(request, f"{routine.name}: {len(made)} exercises prescribed.")
    return redirect(reverse("patient_rehab", args=[patient.pk]))
