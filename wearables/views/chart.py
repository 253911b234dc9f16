"""The patient chart's Wearables tab (/patients/<uuid>/wearables/) and its "Sync now".

The tab renders inside the chart shell of patients.shell (`render_chart`): the full page,
or only #chart-main for HTMX tab and range switches. Everything on it comes from a
fixed number of queries, whatever the range or the number of sources.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access
from mahalo.decorators import permission_required
from patients import shell
from wearables import charts, daily, services
from wearables.models import Connection, SyncFailure, SyncLog

RANGES = (7, 30, 90)
DEFAULT_DAYS = 30
TABLE_DAYS = 14
SYNC_LOGS_SHOWN = 10
# A log can hold thousands of skipped records; the page shows the first ones
# (the count is on the log) and the admin has them all.
FAILURES_SHOWN = 20
RAW_SHOWN = 20_000
TABLE_METRICS = ("hrv", "resting_hr", "sleep", "steps", "recovery", "spo2", "respiratory_rate")
STATUS_ORDER = {Connection.Status.LINKED: 0, Connection.Status.NEEDS_RECONSENT: 1, Connection.Status.ERROR: 2,
                Connection.Status.DISCONNECTED: 3}
# Data older than this is worth a second look before reading the trends.
STALE_AFTER = timedelta(days=2)


def range_days(raw: str | None) -> int:
    """?days= is one of RANGES; anything else is the default (never an error)."""
    try:
        days = int(raw or "")
    except ValueError:
        return DEFAULT_DAYS
    return days if days in RANGES else DEFAULT_DAYS


SHORT_LABELS = {"hrv": "HRV", "resting_hr": "Resting HR", "sleep": "Sleep", "steps": "Steps",
                "recovery": "Recovery", "spo2": "SpO₂", "respiratory_rate": "Resp. rate"}
TABLE_UNITS = {"sleep": "h:min", "steps": "", "recovery": "/100"}


def _table(series: dict, days: int) -> tuple[list[dict], list[dict]]:
    """A flowsheet of the last `days` days, newest first: one row per day, one column per
    metric that has any value in those days. Each column names its usual source once;
    a cell names its source only when it differs (HRV: the other method, labelled)."""
    columns = []
    for key in TABLE_METRICS:
        s = series.get(key)
        if s is None:
            continue
        other = series.get("hrv_other") if key == "hrv" else None
        points = s.points[-days:]
        other_points = other.points[-days:] if other else [None] * len(points)
        if not any(p.value is not None for p in points) and not any(p and p.value is not None for p in other_points):
            continue
        recent = daily.Series(key, points, s.method)
        usual = recent.sources()[0][0] if recent.present else ""
        label = SHORT_LABELS.get(key, daily.METRICS[key].label)
        if key == "recovery":
            label = {"oura": "Readiness", "whoop": "Recovery"}.get(usual, "Recovery")
        note = daily.source_label(usual) if usual else ""
        if key == "hrv" and s.method:
            note = f"{daily.HRV_METHOD_LABELS[s.method]} · {note}" if note else daily.HRV_METHOD_LABELS[s.method]
        columns.append({"key": key, "label": label, "unit": TABLE_UNITS.get(key, daily.METRICS[key].unit),
                        "note": note, "usual": usual, "points": points, "other": other_points})
    rows = []
    for i in range(len(columns[0]["points"]) if columns else 0):
        cells = []
        for col in columns:
            point, alt = col["points"][i], col["other"][i]
            if point.value is None and alt is not None and alt.value is not None:
                cells.append({"value": charts.format_number(col["key"], alt.value), "source": alt.source_label,
                              "method": daily.HRV_METHOD_LABELS[alt.method]})
            elif point.value is not None:
                cells.append({"value": charts.format_number(col["key"], point.value),
                              "source": point.source_label if point.source != col["usual"] else "", "method": ""})
            else:
                cells.append({"value": "", "source": "", "method": ""})
        rows.append({"date": columns[0]["points"][i].date, "cells": cells})
    rows.reverse()
    return columns, rows


def _latest(spec: dict, series) -> dict | None:
    """The headline figure of a chart card and where it sits against the band."""
    last = series.latest if series is not None else None
    if last is None:
        return None
    position = ""
    if last.baseline_mean is not None:
        if last.value < last.baseline_low:
            position = "below"
        elif last.value > last.baseline_high:
            position = "above"
        else:
            position = "within"
    return {"value": charts.format_value(spec["key"], last.value), "date": last.date, "source": last.source_label,
            "position": position, "concern": position == charts.CONCERN.get(spec["key"])}


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def _duration(log) -> str:
    if not (log.started_at and log.finished_at):
        return ""
    seconds = max(0, round((log.finished_at - log.started_at).total_seconds()))
    return f"{seconds} s" if seconds < 120 else f"{round(seconds / 60)} min"


def wearables_context(patient, days: int) -> dict:
    today = patient.today
    span = max(days, TABLE_DAYS)
    settings = daily.settings_for(patient)
    series = daily.daily_series(patient, today - timedelta(days=span - 1), today, metrics=TABLE_METRICS,
                                settings=settings)
    specs = charts.chart_specs(series, baseline_days=settings.baseline_days, days=days)
    cards = []
    for spec in specs:
        main = series.get(spec["key"])
        cards.append({"spec": spec, "latest": _latest(spec, main)})
    columns, rows = _table(series, TABLE_DAYS)

    connections = sorted(Connection.objects.filter(patient_id=patient.pk),  # gate: the view gated this patient
                         key=lambda c: (STATUS_ORDER.get(c.status, 9), c.provider, -c.connected_at.timestamp()))
    logs = list(SyncLog.objects.filter(patient_id=patient.pk).select_related("connection")  # gate: as above
                .prefetch_related(Prefetch("failures",
                                           queryset=SyncFailure.objects.order_by("created_at")  # gate: gated logs
                                           [:FAILURES_SHOWN], to_attr="shown_failures"))
                .order_by("-created_at")[:SYNC_LOGS_SHOWN])
    for log in logs:
        log.duration = _duration(log)
    last = patient.last_data_at
    age = _age(timezone.now() - last) if last else ""
    return {
        "days": days,
        "ranges": RANGES,
        "start": today - timedelta(days=days - 1),
        "today": today,
        "tzname": str(patient.tz),
        "cards": cards,
        "chart_specs": specs,
        "table_columns": columns,
        "table_rows": rows,
        "table_days": TABLE_DAYS,
        "connections": connections,
        "sync_logs": logs,
        "failures_shown": FAILURES_SHOWN,
        "raw_shown": RAW_SHOWN,
        "last_data_at": last,
        "last_data_age": age,
        "stale": last is None or timezone.now() - last > STALE_AFTER,
        "baseline_days": settings.baseline_days,
        "preference": [daily.source_label(s) for s in settings.preference[:4]],
    }


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("patients", "read")
@permission_required("wearables", "read")
def patient_wearables(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", "wearables")  # audited read
    days = range_days(request.GET.get("days"))
    context = wearables_context(patient, days)
    context["can_sync"] = access.can(request.user, "wearables", "update")
    context["can_upload"] = access.can(request.user, "wearables", "write")
    return shell.render_chart(request, patient, "wearables", context)


@require_POST
@permission_required("wearables", "update")
def connection_sync_now(request: HttpRequest, patient_id, connection_id) -> HttpResponse:
    """Queue a sync of one linked connection now. 404 for anything out of reach."""
    patient = access.patient_for_request(request, patient_id, "update", "wearables")
    connection = services.connection_load(request, connection_id, patient=patient, action="update",
                                          statuses=[Connection.Status.LINKED])
    label = connection.get_provider_display()
    if services.connection_sync_now(connection=connection, actor=request.user, request=request) is None:
        messages.info(request, f"A {label} sync is already waiting to run.")
    else:
        messages.success(request, f"{label} sync queued. Refresh in a minute to see the result.")
    url = reverse("patient_wearables", args=[patient.pk])
    return redirect(f"{url}?days={range_days(request.POST.get('days'))}")
