"""What rehab adds to the patient registry (`/patients/`, its CSV and `/api/v1/patients/`):
"Rehab sessions this week" (supervised sessions attended since Monday, the program's local week)
and "Exercise symptoms (7 days)" (exercise logs with any symptom in the last 7 local days).
Two queries for any page of patients (their programs' time zones, then the counts)."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from care.models import ExerciseLog, RehabSession
from patients.models import Patient
from patients.registry import Column, Filter

SYMPTOM_DAYS = 7


def _todays(ids) -> dict:
    now = timezone.now()
    return {pid: now.astimezone(zoneinfo.ZoneInfo(tz or "UTC")).date()
            for pid, tz in Patient.objects.filter(pk__in=list(ids)).values_list("pk", "program__timezone")}


def sessions_this_week(patient_ids) -> dict:
    todays = _todays(patient_ids)
    if not todays:
        return {}
    starts = {pid: d - timedelta(days=d.weekday()) for pid, d in todays.items()}
    out = dict.fromkeys(todays, 0)
    for pid, day in (RehabSession.objects.filter(patient_id__in=list(todays), status=RehabSession.Status.ATTENDED,
                                                 local_date__gte=min(starts.values()))
                     .values_list("patient_id", "local_date")):
        if starts[pid] <= day <= todays[pid]:
            out[pid] += 1
    return out


def symptoms_7_days(patient_ids) -> dict:
    todays = _todays(patient_ids)
    if not todays:
        return {}
    first = min(todays.values()) - timedelta(days=SYMPTOM_DAYS - 1)
    out = dict.fromkeys(todays, 0)
    for pid, day, n in (ExerciseLog.objects.filter(patient_id__in=list(todays), symptomatic=True,
                                                   local_date__gte=first)
                        .order_by().values("patient_id", "local_date").annotate(n=Count("id"))
                        .values_list("patient_id", "local_date", "n")):
        if todays[pid] - timedelta(days=SYMPTOM_DAYS - 1) <= day <= todays[pid]:
            out[pid] += n
    return out


def sessions_cell(value, row) -> str:
    return format_html('<td class="num">{}<span class="visually-hidden"> rehab sessions this week</span></td>',
                       value or 0)


def symptoms_cell(value, row) -> str:
    if not value:
        return format_html('<td class="num">{}</td>', 0)
    link = reverse("patient_rehab", args=[row["id"]]) + "#rh-logs"
    return format_html('<td class="num"><a class="badge badge-danger" href="{}">{}<span class="visually-hidden">'
                       ' exercise logs with symptoms</span></a></td>', link, value)


def _ids(queryset):
    return list(queryset.order_by().values_list("pk", flat=True)[:20000])


def filter_sessions(queryset, value: str):
    if value not in ("0", "1", "3"):
        raise ValueError("Choose none, 1 or more, or 3 or more.")
    counts = sessions_this_week(_ids(queryset))
    wanted = int(value)
    keep = [pid for pid, n in counts.items() if (n == 0 if wanted == 0 else n >= wanted)]
    return queryset.filter(pk__in=keep)


def filter_symptoms(queryset, value: str):
    if value not in ("any", "none"):
        raise ValueError("Choose any or none.")
    counts = symptoms_7_days(_ids(queryset))
    keep = [pid for pid, n in counts.items() if (n > 0) == (value == "any")]
    return queryset.filter(pk__in=keep)


COLUMNS = (
    Column("rehab_sessions_week", "Rehab sessions this week", 45, sessions_cell, lambda v: str(v or 0),
           values=sessions_this_week),
    Column("exercise_symptoms", f"Exercise symptoms ({SYMPTOM_DAYS} days)", 46, symptoms_cell,
           lambda v: str(v or 0), values=symptoms_7_days),
)
FILTERS = (
    Filter("rehab_sessions_week", "Rehab sessions this week",
           (("0", "None"), ("1", "1 or more"), ("3", "3 or more")), filter_sessions),
    Filter("exercise_symptoms", f"Exercise symptoms ({SYMPTOM_DAYS} days)",
           (("any", "Any"), ("none", "None")), filter_symptoms),
)
