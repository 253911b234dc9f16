"""Where visits show up on the patient's record: a timeline source, the chart's
Visits tab and the registry's "Next appointment" column."""

from __future__ import annotations

from django.db.models import Min, OuterRef, Subquery
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from mahalo import access
from patients import timeline
from scheduling.models import VirtualVisitSession, Visit, VisitRequest


@timeline.register
def _visits(patient, before, limit):
    out = []
    rows = (Visit.objects.filter(patient=patient, created_at__lt=before).select_related("staff__user", "created_by",
                                                                                      "cancelled_by")
            .order_by("-created_at")[:limit])
    for v in rows:
        local = v.starts_at.astimezone(v.tz)
        when = f"{local:%b} {local.day}, {local:%H:%M}"
        who = v.staff.user.get_full_name()
        title = f"Visit booked: {when} with {who}" if not v.rescheduled_from_id else \
            f"Visit rescheduled to {when} with {who}"
        out.append(timeline.Entry(v.created_at, "visit", title, v.get_visit_type_display(),
                                  "the patient" if v.patient_initiated else timeline._name(v.created_by)))
        if v.cancelled_at and v.cancelled_at < before and not v.cancel_reason.startswith("Rescheduled"):
            out.append(timeline.Entry(v.cancelled_at, "visit", f"Visit on {when} cancelled", v.cancel_reason,
                                      timeline._name(v.cancelled_by)))
        if v.completed_at and v.completed_at < before:
            out.append(timeline.Entry(v.completed_at, "visit", f"Visit completed with {who}"))
        if v.status == Visit.Status.NO_SHOW and v.ends_at < before:
            out.append(timeline.Entry(v.ends_at, "visit", f"Missed visit on {when}"))
    return out


@timeline.register
def _calls(patient, before, limit):
    """Video calls started from a conversation (a visit's room shows as the visit)."""
    rows = (VirtualVisitSession.objects.filter(patient=patient, thread__isnull=False, created_at__lt=before)
            .select_related("started_by").order_by("-created_at")[:limit])
    out = []
    for c in rows:
        outcome = {"ended": f"ended after {c.duration_label}", "scheduled": "scheduled", "ringing": "ringing",
                   "active": "in progress", "missed": "missed: no answer", "canceled": "cancelled",
                   "failed": f"failed to connect ({c.last_error})" if c.last_error else "failed to connect"}
        title = f"Video call {outcome.get(c.call_status, c.call_status)}"
        detail = ""
        if c.scheduled_for:
            local = c.scheduled_for.astimezone(patient.tz)
            detail = f"Scheduled for {local:%b} {local.day}, {local:%H:%M}"
        out.append(timeline.Entry(c.created_at, "visit", title, detail, timeline._name(c.started_by)))
    return out


def visits_tab_context(request, patient) -> dict:
    now = timezone.now()
    visits = list(Visit.objects.filter(patient=patient).select_related("staff__user").order_by("-starts_at")[:100])
    return {
        "upcoming": sorted([v for v in visits if v.status in Visit.UPCOMING and v.ends_at >= now],
                           key=lambda v: v.starts_at),
        "past": [v for v in visits if not (v.status in Visit.UPCOMING and v.ends_at >= now)],
        "visit_requests": list(VisitRequest.objects.filter(patient=patient, status__in=VisitRequest.OPEN)
                               .order_by("-created_at")),
        "can_book": access.can(request.user, "scheduling", "write", patient),
        "can_see_visits": access.can(request.user, "scheduling", "read", patient),
    }


def next_visits(patient_ids) -> dict:
    """{patient id: start of their next live visit}, in one query for a page of patients."""
    rows = (Visit.objects.filter(patient_id__in=list(patient_ids), status__in=Visit.UPCOMING,
                                 starts_at__gte=timezone.now())
            .values("patient_id").annotate(first=Min("starts_at")).values_list("patient_id", "first"))
    return dict(rows)


def next_visit_annotation():
    """Registry column: the start of a patient's next live visit (correlated subquery)."""
    return Subquery(Visit.objects.filter(patient=OuterRef("pk"), status__in=Visit.UPCOMING,
                                         starts_at__gte=timezone.now()).order_by("starts_at").values("starts_at")[:1])


def next_visit_cell(value, row) -> str:
    if not value:
        return mark_safe('<td class="small nowrap muted">—</td>')
    return format_html('<td class="small nowrap">{}</td>', dateformat.format(timezone.localtime(value), "M j, H:i"))


def next_visit_context(request, patient) -> dict:
    return {"next_visit": next_visits([patient.pk]).get(patient.pk)}


def visits_today(user) -> int:
    """The staff member's own visits today, in their current (program) time zone."""
    staff = access.staff_of(user)
    if staff is None:
        return 0
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return Visit.objects.filter(staff=staff, starts_at__gte=start, starts_at__lt=start + timezone.timedelta(days=1),
                                status__in=Visit.UPCOMING + (Visit.Status.COMPLETED,)).count()


def export_time(at) -> str:
    """A registry CSV cell: local time, or empty."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""
