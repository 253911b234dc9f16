from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit, dates, db, health
from mahalo.decorators import permission_required, staff_required
from mahalo.exports import stream_csv
from mahalo.models import AuditEvent, Project, StaffMember
from mahalo.shell import PROGRAM_SESSION_KEY, current_program, today_items


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.is_staff_user(user):
        if access.patient_of(user):
            return redirect("portal_home")
        return render(request, "home/no_access.html", status=403)
    if user.is_superuser and access.staff_of(user) is None:
        return _platform_home(request)
    return _staff_home(request)


def _staff_home(request):
    user = request.user
    staff = access.staff_of(user)
    focus = current_program(request)
    patients = access.patients_for(user)
    if focus:
        patients = patients.filter(program=focus)
    by_program = (
        patients.values("program__id", "program__name")
        .annotate(
            total=Count("id"),
            active=Count("id", filter=Q(status="active")),
            paused=Count("id", filter=Q(status="paused")),
            discharged=Count("id", filter=Q(status="discharged")),
        )
        .order_by("program__name")
    )
    # The patients this user opened most recently, still filtered through the gate.
    recent_ids = list(
        AuditEvent.objects.filter(actor=user, action="read")  # gate: own reads; ids re-gated below
        .filter(resource="patients", patient__isnull=False)
        .order_by("-at")
        .values_list("patient_id", flat=True)[:40]
    )
    seen, ordered = set(), []
    for pid in recent_ids:
        if pid not in seen:
            seen.add(pid)
            ordered.append(pid)
    recent = {p.pk: p for p in access.patients_for(user).select_related("program").filter(pk__in=ordered[:8])}
    hour = timezone.localtime().hour
    context = {
        "today": today_items(user),  # registered by the apps (alerts, visits, messages, ...)
        "greeting": "Good morning" if hour < 12 else ("Good afternoon" if hour < 18 else "Good evening"),
        "staff": staff,
        "by_program": by_program,
        "recent_patients": [recent[pid] for pid in ordered[:8] if pid in recent],
        "is_global": staff is not None and staff.role.scope == "global",
        "focus": focus,
    }
    if access.can(user, "audit", "read"):
        context["recent_audit"] = _audit_events_for(user).select_related("patient")[:8]
    if staff and staff.role.scope == "global":
        context["team"] = (
            StaffMember.objects.filter(project=staff.project, is_active=True)
            .select_related("user", "role")
            .prefetch_related("assignments__program")
        )
    return render(request, "home/staff.html", context)


def _platform_home(request):
    projects = Project.objects.annotate(
        n_programs=Count("programs", distinct=True),
        n_patients=Count("patients", distinct=True),
        n_staff=Count("staff", distinct=True),
    )
    recent = AuditEvent.objects.select_related("patient")[:10]  # gate: platform operators (superusers) only
    return render(request, "home/platform.html", {"projects": projects, "recent_audit": recent})


@require_POST
@staff_required
def switch_program(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("program", "")
    program = next((p for p in access.program_list(request.user) if str(p.pk) == wanted), None)
    if program:
        request.session[PROGRAM_SESSION_KEY] = str(program.pk)
    else:
        request.session.pop(PROGRAM_SESSION_KEY, None)
    back = request.POST.get("next") or "/"
    # Only a local path is followed: not a view name (redirect() would try to reverse "-1"), not a host.
    if not back.startswith("/") or not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    return HttpResponseRedirect(back)


def favicon(request: HttpRequest) -> HttpResponse:
    # Resolved per request: with manifest storage the hashed name exists only after collectstatic.
    return redirect(static("img/favicon.svg"), permanent=True)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, cache and broker status within 2 s (mahalo/health.py). 503 only when the
    database fails (pages need nothing else); otherwise 200, `degraded` naming what is down."""
    body, code = health.report()
    return JsonResponse(body, status=code)


# --- Audit log ------------------------------------------------------------------

def _audit_events_for(user):
    if user.is_superuser:
        return AuditEvent.objects.all()  # gate: the audit log: audit:read checked by the view
    project = access.project_of(user)
    events = AuditEvent.objects  # gate: the audit log needs audit:read; one tenant
    return events.filter(project=project) if project else events.none()


def _parse_date(value: str, end: bool = False):
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None
    if not dates.in_bounds(day):
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def _filtered_audit(request):
    """Audit events the user may read, narrowed by the query string; also returns what was applied."""
    qs = _audit_events_for(request.user)
    f = {k: request.GET.get(k, "").strip() for k in ("patient", "actor", "action", "start", "end")}
    if f["patient"]:
        terms = f["patient"].split()
        cond = Q()
        for term in terms:
            cond &= Q(patient__first_name__icontains=term) | Q(patient__last_name__icontains=term)
        qs = qs.filter(cond | Q(object_id=f["patient"]))
    if f["actor"]:
        qs = qs.filter(actor_email__icontains=f["actor"])
    if f["action"]:
        qs = qs.filter(action=f["action"])
    errors = {}
    if f["start"]:
        start = _parse_date(f["start"])
        if start is None:
            errors["start"] = "Use a date like 2026-01-31."
        else:
            qs = qs.filter(at__gte=start)
    if f["end"]:
        end = _parse_date(f["end"], end=True)
        if end is None:
            errors["end"] = "Use a date like 2026-01-31."
        else:
            qs = qs.filter(at__lte=end)
    return qs, f, errors


AUDIT_ACTIONS = ["read", "list", "export", "write", "update", "archive", "delete", "denied", "login", "logout",
                 "login_failed", "locked_out"]


@vary_on_headers("HX-Request")
@permission_required("audit", "read")
def audit_log(request: HttpRequest) -> HttpResponse:
    qs, filters, errors = _filtered_audit(request)
    page = Paginator(qs.select_related("patient"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filters": filters, "errors": errors, "actions": AUDIT_ACTIONS,
               "query": query.urlencode()}
    template = "audit/log.html#results" if request.htmx else "audit/log.html"
    return render(request, template, context)


@permission_required("audit", "read")
def audit_export(request: HttpRequest) -> HttpResponse:
    qs, filters, errors = _filtered_audit(request)
    if errors:
        return HttpResponse("; ".join(f"{k}: {v}" for k, v in errors.items()), status=400,
                            content_type="text/plain")
    audit.record(request=request, action="export", resource="audit",
                 metadata={"filters": {k: v for k, v in filters.items() if v}})
    header = ["at", "actor_email", "actor_role", "action", "resource", "patient_id", "patient", "object_id",
              "ip", "path", "metadata"]
    rows = (
        [e.at.isoformat(), e.actor_email, e.actor_role, e.action, e.resource, e.patient_id or "",
         e.patient.full_name if e.patient else "", e.object_id, e.ip or "", e.path, e.metadata]
        for e in db.iterate(qs.select_related("patient"), chunk_size=2000)
    )
    return stream_csv(header, rows, f"audit-{timezone.now():%Y%m%d-%H%M}.csv")
