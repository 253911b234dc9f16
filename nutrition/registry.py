"""What nutrition adds to the patient registry (`/patients/`, its CSV and
`/api/v1/patients/`): the column and the filter "Sodium over target (7 days)".

A day counts when the patient logged meals that day (their program's local day) and
the day's sodium is above their daily sodium target: the same rule as the chart's
table and the `nutrition_sodium_over_target` rule. Patients without a sodium target
(or whose tenant has food tracking off) have no value, which is not the same as 0.
Two queries for any page of patients (targets, then meals grouped by patient and day)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from nutrition.models import Meal, NutritionTarget

WINDOW_DAYS = 7
FILTER_CHOICES = (("1", "On 1 or more days"), ("3", "On 3 or more days"), ("5", "On 5 or more days"))


def sodium_over_days(patient_ids, *, days: int = WINDOW_DAYS, now: datetime | None = None) -> dict:
    """{patient id: days over the sodium target in the last `days` local days} for the
    patients with a sodium target whose tenant has food tracking on."""
    from nutrition.services import FEATURE

    now = now or timezone.now()
    ids = list(patient_ids)
    if not ids:
        return {}
    targets = list(NutritionTarget.objects.filter(patient_id__in=ids, sodium_mg__gt=0,
                                                  project__feature_flags__name=FEATURE,
                                                  project__feature_flags__enabled=True)
                   .values_list("patient_id", "sodium_mg", "patient__program__timezone"))
    if not targets:
        return {}
    windows = {}
    for pid, limit, tz in targets:
        today = now.astimezone(zoneinfo.ZoneInfo(tz or "UTC")).date()
        windows[pid] = (today - timedelta(days=days - 1), today, limit)
    start = min(w[0] for w in windows.values())
    counts = dict.fromkeys(windows, 0)
    rows = (Meal.objects.filter(patient_id__in=list(windows), voided_at__isnull=True, local_date__gte=start)
            .order_by().values("patient_id", "local_date").annotate(total=Sum("sodium_mg"))
            .values_list("patient_id", "local_date", "total"))
    for pid, day, total in rows:
        first, last, limit = windows[pid]
        if first <= day <= last and (total or 0) > limit:
            counts[pid] += 1
    return counts


def filter_sodium_over(queryset, value: str):
    """Registry filter `sodium_over=N`: patients over their sodium target on N or more of
    the last 7 days."""
    if value not in dict(FILTER_CHOICES):
        raise ValueError("Choose 1, 3 or 5 days.")
    wanted = int(value)
    candidates = (NutritionTarget.objects.filter(patient__in=queryset.order_by().values("pk"), sodium_mg__gt=0)
                  .values_list("patient_id", flat=True))
    over = [pid for pid, n in sodium_over_days(candidates).items() if n >= wanted]
    return queryset.filter(pk__in=over)


def sodium_cell(value, row) -> str:
    if value is None:
        return mark_safe('<td class="num"><span class="muted" title="No sodium target">—</span></td>')
    said = format_html('{}/{}<span class="visually-hidden"> days over the sodium target</span>', value, WINDOW_DAYS)
    if not value:
        return format_html('<td class="num">{}</td>', said)
    link = reverse("patient_nutrition", args=[row["id"]]) + f"?days={WINDOW_DAYS}"
    if value >= 3:
        return format_html('<td class="num"><a class="badge badge-danger" href="{}">{}</a></td>', link, said)
    return format_html('<td class="num"><a href="{}">{}</a></td>', link, said)


def export_value(value) -> str:
    return "" if value is None else str(value)


def register() -> None:
    from patients import registry

    registry.register_column(registry.Column("sodium_over", f"Sodium over target ({WINDOW_DAYS} days)", 40,
                                             sodium_cell, export_value, values=sodium_over_days))
    registry.register_filter(registry.Filter("sodium_over", f"Sodium over target ({WINDOW_DAYS} days)",
                                             FILTER_CHOICES, filter_sodium_over))

