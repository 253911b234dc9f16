"""What the triage pages and API read. `filter_alerts`: the queue's filters, shared by the page (/alerts/) and the API
(/api/v1/alerts/), so a filter means the same thing everywhere (the shape of
`patients/registry.py`: query parameters in; alerts, the filters applied and errors
by filter out). Everything starts from the gate's rows (`access.scoped`); filters
only narrow them.

Parameters (all optional):
    status    ""/"open" (default): active or acknowledged, and not snoozed;
              "snoozed": open and snoozed now; "active" | "acknowledged" | "resolved" |
              "dismissed" (snoozed or not); "all"
    snoozed   "1": with the default status, snoozed alerts are listed too
    severity  critical | warning | info
    program   a program id (else the page's focused program, if any)
    patient   a patient id
    mine      "1": assigned to the user
    q         words matched against the patient's name, MRN, email, phone

A snoozed alert is out of the default view on every route: someone decided, with a
reason, that it can wait until a given time (it comes back by itself then). Before
this module the API listed snoozed alerts by default and the page hid them.
"""

from __future__ import annotations

import uuid

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from clinical.models import Alert, ClinicalRule, Severity
from mahalo import access
from patients import registry

FILTER_KEYS = ("severity", "status", "snoozed", "program", "mine", "q", "patient")
STATUSES = ("", "snoozed", "all", *Alert.Status.values)
SEVERITY_ORDER = Case(When(severity=Severity.CRITICAL, then=Value(0)), When(severity=Severity.WARNING, then=Value(1)),
                      default=Value(2), output_field=IntegerField())


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def visible_alerts(user, action: str = "read") -> QuerySet[Alert]:
    """Alerts of the patients the user may `action` on clinical data (the gate)."""
    return access.scoped(user, Alert.objects.all(), "clinical", action)


def filter_alerts(user, params, *, focus=None) -> tuple[QuerySet[Alert], dict, dict]:
    """(alerts, the filters applied, errors by filter) for query parameters `params`.

    `focus` is the staff member's current program (the page's program switcher), used
    when no program filter is given. A bad status or severity is left out, a bad program or
    patient id matches nothing; the page shows the message, the API answers 400."""
    qs = visible_alerts(user)
    f = {k: (params.get(k) or "").strip() for k in FILTER_KEYS}
    errors: dict[str, str] = {}
    now = timezone.now()

    if f["status"] == "open":
        f["status"] = ""  # the API's name for the default view
    if f["status"] not in STATUSES:
        errors["status"] = "Unknown status."
        f["status"] = ""
    f["snoozed"] = "1" if f["snoozed"] in ("1", "true", "on") else ""
    status = f["status"]
    if status == "":
        qs = qs.filter(status__in=Alert.OPEN)
        if not f["snoozed"]:
            qs = qs.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    elif status == "snoozed":
        qs = qs.filter(status__in=Alert.OPEN, snoozed_until__gt=now)
    elif status != "all":
        qs = qs.filter(status=status)

    if f["severity"]:
        if f["severity"] in Severity.values:
            qs = qs.filter(severity=f["severity"])
        else:
            errors["severity"] = "Unknown severity."
    if f["program"]:
        if program_id := _uuid(f["program"]):
            qs = qs.filter(patient__program_id=program_id)
        else:
            errors["program"] = "Not a valid id."
            qs = qs.none()  # asked for one program: never answer with all of them
    elif focus is not None:
        qs = qs.filter(patient__program=focus)
    if f["patient"]:
        if patient_id := _uuid(f["patient"]):
            qs = qs.filter(patient_id=patient_id)
        else:
            errors["patient"] = "Not a valid id."
            qs = qs.none()
    f["mine"] = "1" if f["mine"] in ("1", "true", "on") else ""
    if f["mine"]:
        qs = qs.filter(assignee=user)
    qs = registry.search(qs, f["q"], prefix="patient__")

    if status in ("resolved", "dismissed"):
        qs = qs.order_by("-closed_at", "-created_at", "id")
    else:
        # Critical first, then the oldest: the one waiting longest is the one at risk.
        qs = qs.order_by(SEVERITY_ORDER.asc(), "created_at", "id")
    return qs, f, errors


def rule_for(request, rule_id) -> ClinicalRule:
    """A rule the user may read, for the dry run: one of their tenant's (the gate's
    `access.load`), and, when it belongs to a program, one of the programs their role
    covers. Another program's rule is a 404 like a missing one: its thresholds and
    wording are that program's settings."""
    rule = access.load(request, ClinicalRule.objects.select_related("program", "project"), rule_id,
                       resource="clinical", via="project")
    if not rules_in_programs(ClinicalRule.objects.filter(pk=rule.pk), request.user).exists():
        raise Http404("No such rule.")
    return rule


def rules_in_programs(queryset: QuerySet[ClinicalRule], user) -> QuerySet[ClinicalRule]:
    """The rules (already gated to the tenant) the user may read: tenant-wide ones and those of the
    programs their role covers. The dry run and /api/v1/rules/ both ask this."""
    return queryset.filter(Q(program__isnull=True) | Q(program__in=access.programs_for(user)))
