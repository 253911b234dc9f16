"""The chart's Vitals tab (/patients/<uuid>/vitals/): graphs of the patient's
observations, their table and the entry form; and "entered in error" for a manual
observation. ("Vitals" is only the tab's label: a stored reading is an observation.)

Renders inside the chart shell of patients.shell (`render_chart`): the full page, #chart-main
for HTMX tab and range switches, or only the table (#vt-table) for its pages and
filters. Every part comes from a fixed number of queries, however many readings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Avg, Count, Max, Min, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from clinical import observations, units
from clinical.forms import ObservationForm
from clinical.metrics import METRICS
from clinical.models import Interpretation, Observation, Source
from clinical.vitals_charts import Point, vitals_charts
from mahalo import access
from mahalo.decorators import permission_required
from patients import shell

RANGES = (30, 90, 365)
DEFAULT_DAYS = 30
CHART_METRICS = ("blood_pressure", "heart_rate", "resting_heart_rate", "spo2", "weight", "bmi", "glucose",
                 "body_temperature")
TABLE_METRICS = CHART_METRICS + ("respiratory_rate",)
TABLE_PAGE = 25
# Beyond this many valid readings in the range a metric is drawn as one point per day
# (mean, with the day's range in the tooltip): wearables send heart rate every few minutes.
MAX_POINTS = 400


def range_days(raw: str | None) -> int:
    try:
        days = int(raw or "")
    except ValueError:
        return DEFAULT_DAYS
    return days if days in RANGES else DEFAULT_DAYS


def _tz(patient):
    return patient.tz


# --- Reading the data -------------------------------------------------------------------


def patient_observations(request, patient) -> QuerySet[Observation]:
    """The patient's observations through the gate (the patient is already gated: this
    keeps every read below on the gate's rows)."""
    return access.scoped(request.user, Observation.objects, "clinical").filter(patient_id=patient.pk)


def chart_points(rows: QuerySet[Observation], start: datetime, tz) -> dict[str, list[Point]]:
    """Valid observations per metric since `start`: every one, or one point per local day
    for a metric with more than MAX_POINTS. Three queries at most."""
    valid = (rows.filter(metric__in=CHART_METRICS, effective_at__gte=start)
             .exclude(interpretation=Interpretation.INVALID))
    counts = dict(valid.order_by().values_list("metric").annotate(n=Count("id")).values_list("metric", "n"))
    dense = [m for m, n in counts.items() if n > MAX_POINTS]
    sparse = [m for m in counts if m not in dense]
    by_metric: dict[str, list[Point]] = {}
    if sparse:
        rows = (valid.filter(metric__in=sparse).order_by("effective_at")
                .values_list("metric", "effective_at", "value", "value2", "category", "interpretation", "context",
                             "source"))
        for metric, at, value, value2, category, interpretation, context, source in rows:
            by_metric.setdefault(metric, []).append(Point(metric, at.astimezone(tz), value, value2, category,
                                                          interpretation, context, source))
    if dense:
        days = (valid.filter(metric__in=dense).annotate(day=TruncDate("effective_at", tzinfo=tz)).order_by()
                .values("metric", "day").annotate(mean=Avg("value"), low=Min("value"), high=Max("value"),
                                                  n=Count("id")).order_by("metric", "day"))
        for d in days:
            noon = datetime.combine(d["day"], datetime.min.time(), tzinfo=tz) + timedelta(hours=12)
            by_metric.setdefault(d["metric"], []).append(Point(d["metric"], noon, d["mean"], low=d["low"],
                                                               high=d["high"], count=d["n"]))
    return by_metric


def prefill_from_message(params, tz) -> dict | None:
    """The entry form's values from "Record … as a reading" under a patient's message
    (messaging/readings.py builds the link): only known metrics, units and numbers pass; anything
    else is left to the form's defaults. Nothing is saved until the person presses Save."""
    metric = params.get("metric", "")
    if not params.get("from_message") or metric not in observations.ENTRY_METRICS:
        return None
    out: dict = {"metric": metric, "note": "Reported by the patient in a message"}
    for key in ("value", "value2"):
        try:
            number = float(params.get(key, ""))
        except ValueError:
            continue
        if number == number and abs(number) < 10000:  # not NaN, not absurd
            out[key] = f"{number:g}"
    unit = params.get("unit", "")
    if unit in [u for u, _ in units.ENTRY_UNITS[metric]]:
        out["unit"] = unit
    at = params.get("at", "")
    try:
        datetime.strptime(at, "%Y-%m-%dT%H:%M")
        out["effective_at"] = at
        out["note"] = f"Reported by the patient in a message ({at.replace('T', ' ')})"
    except ValueError:
        pass
    if metric == "blood_pressure":
        out["setting"] = "home"
    return out


def daily_resting_hr(patient, start: datetime, end: datetime) -> tuple[list[Point], str]:
    """Resting heart rate from the wearables' daily summaries (the rules engine's registered daily
    series: the preferred source per day), for a Vitals tab with no resting-HR observations
    (issue 21 item 9: data flows between tabs). Returns the points and the sources named."""
    from datetime import time

    from clinical.rules import DAILY_SERIES

    tz = _tz(patient)
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    out: list[Point] = []
    for fetch, _has in DAILY_SERIES.values():
        for day in fetch(patient, "resting_hr", first, last):
            out.append(Point("resting_heart_rate", datetime.combine(day.day, time(12), tzinfo=tz), day.value,
                             source=day.source))
    out.sort(key=lambda p: p.at)
    sources = sorted({p.source.replace("_", " ").title() for p in out if p.source})
    return out, ", ".join(sources) or ("wearable" if out else "")


def table_page(rows: QuerySet[Observation], params, since=None) -> dict:
    """The table of the observations in the graphs' range (all of them without one): a
    two-year history of heart-rate samples is not counted and sorted to show 25 rows."""
    metric = params.get("metric", "")
    if metric not in TABLE_METRICS:
        metric = ""
    origin = params.get("origin", "")
    if origin not in ("manual", "device"):
        origin = ""
    qs = rows.filter(metric__in=[metric] if metric else TABLE_METRICS)
    if since is not None:
        qs = qs.filter(effective_at__gte=since)
    if origin == "manual":
        qs = qs.filter(source__in=observations.MANUAL_SOURCES)
    elif origin == "device":
        qs = qs.exclude(source__in=observations.MANUAL_SOURCES)
    page = Paginator(qs.select_related("entered_by").order_by("-effective_at", "metric"), TABLE_PAGE).get_page(
        params.get("page"))
    for obs in page.object_list:
        observations.decorate(obs)
    query = {"metric": metric, "origin": origin}
    return {"page": page, "table_metric": metric, "table_origin": origin,
            "table_metrics": [(m, METRICS[m].label) for m in TABLE_METRICS],
            "table_query": "&".join(f"{k}={v}" for k, v in query.items() if v)}


def vitals_context(request, patient, days: int, params, form=None) -> dict:
    tz = _tz(patient)
    now = timezone.now()
    start = now - timedelta(days=days)
    can_write = access.can(request.user, "clinical", "write", patient)
    prefill = None
    if can_write and form is None:
        prefill = prefill_from_message(params, tz)
        form = ObservationForm(tz=tz, initial=prefill or {})
    rows = patient_observations(request, patient)
    points = chart_points(rows, start, tz)
    rhr_source = ""
    if not points.get("resting_heart_rate"):
        points["resting_heart_rate"], rhr_source = daily_resting_hr(patient, start, now)
    charts = vitals_charts(points, tz, days, start=start, end=now)
    return {
        "rhr_source": rhr_source,
        "prefilled": bool(prefill),
        "days": days,
        "ranges": RANGES,
        "start": start.astimezone(tz),
        "now": now.astimezone(tz),
        "tzname": str(patient.tz),
        "charts": charts,
        "form": form,
        "unit_map": form.unit_map if form else {},
        "can_write": can_write,
        "can_mark_error": can_write and access.can(request.user, "clinical", "update"),
        **table_page(rows, params, since=start),
    }


# --- Views ------------------------------------------------------------------------------


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("patients", "read")
@permission_required("clinical", "read")
def patient_vitals(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", "clinical")  # audited read
    days = range_days(request.GET.get("days") or request.POST.get("days"))
    form = recorded = None
    if request.method == "POST":
        if not access.can(request.user, "clinical", "write", patient):
            raise Http404
        form = ObservationForm(request.POST, tz=_tz(patient))
        if form.is_valid():
            recorded = form.record(patient, actor=request.user, source=Source.STAFF, request=request, via="chart")
        if recorded is not None:
            crisis = observations.crisis_guidance(recorded, audience="staff")
            if not request.htmx and crisis:
                messages.error(request, f"{recorded.get_metric_display()} recorded. {crisis['title']}. "
                                        f"{crisis['care_team_message']}")
                return redirect(f"{reverse('patient_vitals', args=[patient.pk])}?days={days}")
            if not request.htmx:
                messages.success(request, f"{recorded.get_metric_display()} recorded.")
                return redirect(f"{reverse('patient_vitals', args=[patient.pk])}?days={days}")
            form = None  # a fresh form (time: now) under the refreshed charts and table
            observations.decorate(recorded)
        elif request.htmx:
            form.mark_invalid()
            # Only the form comes back, with its errors and everything typed.
            response = render(request, "patients/tab_vitals.html#entry-form",
                              {"patient": patient, "form": form, "days": days, "unit_map": form.unit_map,
                               "can_write": True})  # 200: htmx swaps only successful responses
            response["HX-Retarget"] = "#vt-entry"
            response["HX-Reswap"] = "outerHTML"
            return response
    if request.htmx and request.headers.get("HX-Target") == "vt-table":
        tzname = str(patient.tz)
        context = {"patient": patient, "days": days, "tzname": tzname,
                   "can_mark_error": access.can(request.user, "clinical", "update", patient),
                   **table_page(patient_observations(request, patient), request.GET,
                                since=timezone.now() - timedelta(days=days))}
        return render(request, "patients/tab_vitals.html#table", context)
    if form is not None:
        form.mark_invalid()
    context = vitals_context(request, patient, days, request.GET, form)
    context["recorded"] = recorded
    context["crisis"] = observations.crisis_guidance(recorded, audience="staff") if recorded else None
    response = shell.render_chart(request, patient, "vitals", context)
    if form is not None and form.errors:
        response.status_code = 400
    return response


@require_POST
@permission_required("clinical", "update")
def observation_entered_in_error(request: HttpRequest, patient_id, observation_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update", "clinical")
    # Only a manual observation of this patient (a device's can't be withdrawn by hand).
    obs = access.load(request, Observation.objects.filter(patient_id=patient.pk,
                                                          source__in=observations.MANUAL_SOURCES),
                      observation_id, resource="clinical", action="update")
    try:
        observations.observation_mark_error(obs, actor=request.user, reason=request.POST.get("reason", ""),
                                            request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        when = obs.effective_at.astimezone(_tz(patient))
        messages.success(request, f"{obs.get_metric_display()} of {when:%b %d, %H:%M} marked entered in error.")
    return redirect(f"{reverse('patient_vitals', args=[patient.pk])}?days={range_days(request.POST.get('days'))}")
