"""Video calls from a message thread: the panel on the thread page (staff and portal), starting or
scheduling a call, the call's page, joining, cancelling and hanging up.

Threads load through messaging's gate (`thread_load`), calls through `access.load` (scoped to
the patients the user may see; a patient login to their own record): 404 for missing and
forbidden alike. Who may join, cancel or end is the service's rule (`calls.side_of`).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from mahalo import access
from messaging import threads
from patients.shell import portal_page
from scheduling import calls, telehealth
from scheduling.models import VirtualVisitSession
from scheduling.views.common import room_page

UNREACHABLE = "The video service isn't answering. Try again in a minute."


def call_load(request, call_id, action: str = "read", *, audit_read: bool = True) -> VirtualVisitSession:
    """One call from a thread that the user may `action` (404 for missing and forbidden alike)."""
    queryset = VirtualVisitSession.objects.filter(thread__isnull=False).select_related(  # gate: access.load below
        "thread__program", "thread__pair_staff__user", "patient__user", "patient__program", "started_by")
    return access.load(request, queryset, call_id, resource="scheduling", action=action, audit_read=audit_read)


def _back(request, call) -> str:
    """Where a button returns: the thread page of the user's side."""
    return threads.thread_url(call.thread, request.user) + "#calls"


# --- The panel on the thread page ---------------------------------------------------------------

def panel_context(request, thread) -> dict | None:
    """Registered with messaging.panels: live calls, the last few, and the call buttons."""
    user = request.user
    if not access.can(user, "scheduling", "read", thread.patient):
        return None
    is_staff = access.is_staff_user(user)
    live = list(calls.live_calls(thread))
    for call in live:
        call.side = calls.side_of(user, call)
    past = [c for c in calls.recent_calls(thread) if not c.is_live][:3]
    why_not = calls.may_call(user, thread) if is_staff else ""
    busy = any(c.call_status in (calls.S.RINGING, calls.S.ACTIVE) for c in live)
    tz = thread.patient.tz
    return {"thread": thread, "live": live, "past": past, "is_staff": is_staff, "why_not": why_not,
            "can_call": is_staff and not why_not and not busy, "tz": tz, "today": timezone.localdate(timezone=tz),
            "poll_url": reverse("call_thread_panel", args=[thread.pk]),
            "ringing": any(c.call_status == calls.S.RINGING for c in live)}


@login_required
def thread_panel(request: HttpRequest, thread_id) -> HttpResponse:
    """The panel alone, polled every few seconds while the thread is open (a poll isn't audited)."""
    thread = threads.thread_load(request, thread_id, audit_read=False)
    context = panel_context(request, thread)
    if context is None:
        raise Http404
    response = render(request, "scheduling/_call_panel.html", {"panel": context})
    response["Cache-Control"] = "no-store"
    return response


# --- Starting ------------------------------------------------------------------------------------

def _parse_when(post, tz) -> tuple[datetime | None, dict]:
    """(scheduled_for or None for "now", field errors). Date and time are the patient's program clock."""
    if post.get("when", "now") != "later":
        return None, {}
    errors = {}
    try:
        day = datetime.strptime(post.get("date", ""), "%Y-%m-%d").date()
    except ValueError:
        errors["date"] = "Enter a date."
    try:
        at = datetime.strptime(post.get("time", ""), "%H:%M").time()
    except ValueError:
        errors["time"] = "Enter a time (HH:MM)."
    if errors:
        return None, errors
    return datetime.combine(day, at, tzinfo=tz), {}


@login_required
def call_new(request: HttpRequest, thread_id) -> HttpResponse:
    """Start a call now or schedule one (the panel's form posts here; errors re-render it, keeping input)."""
    if not access.is_staff_user(request.user):
        raise Http404
    thread = threads.thread_load(request, thread_id, audit_read=request.method == "GET")
    context = panel_context(request, thread)
    if context is None:
        raise Http404
    errors, values = {}, {"when": "later" if request.GET.get("when") == "later" else "now"}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("when", "date", "time")}
        scheduled_for, errors = _parse_when(request.POST, thread.patient.tz)
        if not errors:
            try:
                call = calls.call_start(thread=thread, actor=request.user, scheduled_for=scheduled_for,
                                        request=request)
            except calls.CallError as exc:
                errors = {"__all__": str(exc)}
            else:
                if call.call_status == calls.S.FAILED:
                    messages.error(request, f"The call couldn't connect: {call.last_error}")
                elif scheduled_for:
                    messages.success(request, "Call scheduled. The patient has been told.")
                else:
                    messages.success(request, "Calling… the patient's phone and portal are ringing.")
                return redirect(_back(request, call))
    return render(request, "scheduling/call_new.html", {"panel": context, "thread": thread,
                                                        "patient": thread.patient, "errors": errors,
                                                        "values": values}, status=400 if errors else 200)


# --- One call ------------------------------------------------------------------------------------

@login_required
def call_detail(request: HttpRequest, call_id) -> HttpResponse:
    """Staff: a call's page (status, who, when, duration, provider error)."""
    if not access.is_staff_user(request.user):
        raise Http404
    call = call_load(request, call_id)
    call.side = calls.side_of(request.user, call)
    return render(request, "scheduling/call.html", {"call": call, "patient": call.patient,
                                                    "tz": call.patient.tz})


@login_required
@require_POST
def call_act(request: HttpRequest, call_id, action: str) -> HttpResponse:
    """join | ring | cancel | end, for both audiences. Join answers with a redirect into the room."""
    if action not in ("join", "ring", "cancel", "end"):
        raise Http404
    call = call_load(request, call_id, "read" if action == "join" else "write", audit_read=False)
    back = _back(request, call) if access.is_staff_user(request.user) else reverse("portal_call", args=[call.pk])
    if action == "join":
        try:
            url = calls.call_join(call=call, user=request.user, request=request)
        except PermissionError as exc:
            messages.error(request, str(exc))
            return redirect(back)
        except telehealth.TelehealthError:
            messages.error(request, UNREACHABLE)
            return redirect(back)
        return room_page(request, url)
    service = {"ring": calls.call_ring, "cancel": calls.call_cancel, "end": calls.call_end}[action]
    try:
        call = service(call=call, **({"actor": request.user} if action == "ring" else {"user": request.user}),
                       request=request)
    except calls.CallError as exc:
        messages.error(request, str(exc))
    else:
        if call.call_status == calls.S.FAILED:
            messages.error(request, f"The call couldn't connect: {call.last_error}")
    return redirect(back if access.is_staff_user(request.user) or action != "end"
                    else reverse("portal_message_thread", args=[call.thread_id]))


# --- The patient's side --------------------------------------------------------------------------

@portal_page
def portal_call(request: HttpRequest, patient, call_id) -> HttpResponse:
    """Where the ringing notification leads: answer, or see what became of the call."""
    call = call_load(request, call_id, audit_read=not request.htmx)
    if call.patient_id != patient.pk:
        raise Http404
    call.side = calls.side_of(request.user, call)
    context = {"call": call, "patient": patient, "portal_nav": "messages", "tz": patient.tz}
    if request.htmx:
        response = render(request, "scheduling/portal/call.html#status", context)
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "scheduling/portal/call.html", context)
