"""Secure messaging pages: staff inbox, thread view (staff and portal), compose,
polling fragment, edit/delete and the gated attachment download.

Threads, messages and attachments are loaded through the gate (`messaging.threads.*_load`,
which call `access.load`): 404 for missing and forbidden alike. A role that lacks
messaging:write at all gets 403 before anything is loaded, like every permission check.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit, confirm
from mahalo.decorators import permission_required
from mahalo.forms import error_messages
from messaging import panels, threads
from messaging.models import Message, Thread
from messaging.readings import reported_readings

PAGE_SIZE = 25


def _require_write(request) -> None:
    """Role-level check before any row is loaded: a role without messaging:write gets 403."""
    if not access.can(request.user, "messaging", "write"):
        audit.record(request=request, action="denied", resource="messaging", metadata={"wanted": "write"})
        raise PermissionDenied("Your role does not allow sending messages.")


def _messages_qs(thread: Thread):
    return (Message.objects.filter(thread=thread).select_related("sender")  # gate: a gated thread
            .prefetch_related("attachments", "receipts").order_by("created_at", "pk"))


def _decorate(rows, user):
    """Per message: mine?, and for my messages the read state shown as a receipt."""
    out = []
    for m in rows:
        m.mine = m.sender_id == user.pk
        if m.mine:
            receipts = list(m.receipts.all())
            reads = [r.read_at for r in receipts if r.read_at]
            m.read_time = max(reads) if receipts and len(reads) == len(receipts) else None
            m.delivered = bool(receipts) and all(r.delivered_at for r in receipts)
        out.append(m)
    return threads.decorate_record(out, user)  # can_change: the "messages are records" rule


def _reported(rows, request, thread: Thread) -> None:
    """Staff who may record readings see "Record … as a reading" under a patient's message that
    names one (messaging/readings.py): a link to the Vitals entry form, filled in."""
    if not (access.is_staff_user(request.user) and access.can(request.user, "clinical", "write", thread.patient)):
        return
    tz = thread.patient.tz
    base = reverse("patient_vitals", args=[thread.patient_id])
    for m in rows:
        m.reported = []
        if m.sender_role != "patient" or m.deleted_at or not m.body:
            continue
        for r in reported_readings(m.body):
            query = {"metric": r.metric, "value": f"{r.value:g}", "unit": r.unit, "from_message": str(m.pk),
                     "at": m.created_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M")}
            if r.value2 is not None:
                query["value2"] = f"{r.value2:g}"
            m.reported.append({"text": r.text, "url": f"{base}?{urlencode(query)}#vt-entry"})


def _thread_context(request, thread: Thread) -> dict:
    is_staff = access.is_staff_user(request.user)
    rows = _decorate(_messages_qs(thread), request.user)
    _reported(rows, request, thread)
    return {
        "thread": thread, "patient": thread.patient, "rows": rows, "last_id": rows[-1].pk if rows else "",
        "is_staff": is_staff,
        "portal_nav": "messages",
        "can_write": access.can(request.user, "messaging", "write", thread.patient),
        "participants": thread.participants.select_related("user").order_by("role", "joined_at"),
        "panels": panels.for_thread(request, thread),
    }


def _thread_template(user) -> str:
    return "messaging/thread.html" if access.is_staff_user(user) else "messaging/portal_thread.html"


# --- Staff inbox ----------------------------------------------------------------

@permission_required("messaging", "read")
@vary_on_headers("HX-Request")
def message_inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    staff = access.staff_of(user)
    filters = {k: request.GET.get(k, "") for k in ("program", "unread", "assigned")}
    version = threads.inbox_version(user)
    if request.htmx and request.GET.get("v") == version:
        return HttpResponse(status=204)  # the poll: nothing changed, nothing listed (or audited)
    qs = threads.with_inbox_fields(threads.threads_for(user), user)
    programs = access.program_list(user)
    if filters["program"] and filters["program"] in {str(p.pk) for p in programs}:
        qs = qs.filter(patient__program_id=filters["program"])
    if filters["unread"]:
        qs = qs.filter(unread__gt=0)
    if filters["assigned"] and staff:
        qs = qs.filter(assigned_to=staff)
    page = Paginator(qs.order_by("-last_message_at", "-created_at"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    audit.record(request=request, action="list", resource="messaging",
                 metadata={"count": len(page.object_list), "filters": {k: v for k, v in filters.items() if v}})
    ctx = {"page": page, "filters": filters, "programs": programs, "query": query, "version": version}
    template = "messaging/inbox.html#results" if request.htmx else "messaging/inbox.html"
    return render(request, template, ctx)


# --- Thread ---------------------------------------------------------------------

@login_required
@vary_on_headers("HX-Request")
def message_thread(request: HttpRequest, thread_id) -> HttpResponse:
    thread = threads.thread_load(request, thread_id)  # audited read
    threads.mark_read(thread=thread, user=request.user)
    return render(request, _thread_template(request.user), _thread_context(request, thread))


@login_required
def message_poll(request: HttpRequest, thread_id) -> HttpResponse:
    """Messages newer than ?after=<message id> (the HTMX poller replaces itself with them)."""
    # A poll every few seconds would flood the trail: only a poll that shows something is audited.
    thread = threads.thread_load(request, thread_id, audit_read=False)
    qs = _messages_qs(thread)
    after = request.GET.get("after", "")
    if after:
        try:
            qs = threads.messages_after(qs, thread=thread, after=after)
        except ValueError:
            return HttpResponse(status=400)
    rows = _decorate(qs, request.user)
    _reported(rows, request, thread)
    if rows:
        threads.mark_delivered(thread=thread, user=request.user)
        # The thread is open on screen: what arrives is read.
        threads.mark_read(thread=thread, user=request.user)
        audit.record(request=request, action="read", resource="messaging", patient=thread.patient,
                     object_id=thread.pk, metadata={"page": "poll", "count": len(rows)})
    response = render(request, "messaging/_thread_body.html#poll", {
        "thread": thread, "rows": rows, "last_id": rows[-1].pk if rows else after,
        "can_write": access.can(request.user, "messaging", "write", thread.patient),
    })
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def message_send(request: HttpRequest, thread_id) -> HttpResponse:
    _require_write(request)
    thread = threads.thread_load(request, thread_id, "write")
    try:
        threads.message_send(thread=thread, sender=request.user, body=request.POST.get("body", ""),
                             files=request.FILES.getlist("files"), request=request)
    except ValidationError as exc:
        ctx = _thread_context(request, thread)
        ctx.update(errors=error_messages(exc), body=request.POST.get("body", ""))
        return render(request, _thread_template(request.user), ctx, status=400)
    return redirect(threads.thread_url(thread, request.user) + "#compose")


@login_required
@require_POST
def message_edit(request: HttpRequest, message_id) -> HttpResponse:
    _require_write(request)
    message = threads.own_message_load(request, message_id)
    try:
        threads.message_edit(message=message, user=request.user, body=request.POST.get("body", ""), request=request)
    except ValidationError as exc:
        for e in error_messages(exc):
            flash.error(request, e)
    return redirect(threads.thread_url(message.thread, request.user) + f"#m-{message.pk}")


@login_required
@require_POST
def message_delete(request: HttpRequest, message_id) -> HttpResponse:
    _require_write(request)
    message = threads.own_message_load(request, message_id)
    if not confirm.confirmed(request):
        when = timezone.localtime(message.created_at)
        return confirm.ask(request, title="Delete this message?",
                           thing=f"“{(message.body or '')[:160]}” ({when:%b} {when.day}, {when:%H:%M})",
                           consequence="Nobody has read it yet, so it can still be taken back; the care team's "
                                       "record keeps that it was sent and deleted.",
                           button="Yes, delete it",
                           cancel_url=threads.thread_url(message.thread, request.user) + f"#m-{message.pk}")
    try:
        threads.message_delete(message=message, user=request.user, request=request)
    except ValidationError as exc:
        for e in error_messages(exc):
            flash.error(request, e)
    return redirect(threads.thread_url(message.thread, request.user) + f"#m-{message.pk}")


@permission_required("messaging", "read")
def message_record(request: HttpRequest, message_id) -> HttpResponse:
    """Staff: a message's earlier versions (edits, retracted text). Audited by the service."""
    message = access.load(request, Message.objects.select_related("thread__patient", "sender"), message_id,
                          resource="messaging", via="thread__patient", audit_read=False)  # the service audits
    if not access.is_staff_user(request.user):
        raise Http404  # the record of edits is the clinic's, not the author's
    thread = message.thread
    revisions = threads.message_record(message=message, user=request.user, request=request)
    return render(request, "messaging/message_record.html",
                  {"message": message, "thread": thread, "patient": thread.patient, "revisions": revisions})


# --- Starting conversations -------------------------------------------------------

@permission_required("messaging", "write")
def thread_new(request: HttpRequest) -> HttpResponse:
    """Staff: a topic thread about one patient (?patient=<uuid>)."""
    patient_id = request.GET.get("patient") or request.POST.get("patient") or ""
    if not threads.is_uuid(patient_id):
        raise Http404
    patient = access.patient_for_request(request, patient_id, "write", "messaging")
    errors, subject, body = [], "", ""
    if request.method == "POST":
        subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
        try:
            thread = threads.conversation_start(patient=patient, actor=request.user, subject=subject, body=body,
                                                files=request.FILES.getlist("files"), request=request)
        except ValidationError as exc:
            errors = error_messages(exc)
        else:
            return redirect("message_thread", thread.pk)
    return render(request, "messaging/thread_new.html", {"patient": patient, "errors": errors,
                                                          "subject": subject, "body": body},
                  status=400 if errors else 200)


@permission_required("messaging", "read")
def patient_messages(request: HttpRequest, patient_id) -> HttpResponse:
    """A patient's conversations, with a search of their message text."""
    patient = access.patient_for_request(request, patient_id, "read", "messaging")
    qs = threads.with_inbox_fields(threads.threads_for(request.user).filter(patient=patient), request.user)
    q = request.GET.get("q", "")
    results = threads.search_messages(user=request.user, patient=patient, q=q)
    return render(request, "messaging/patient_messages.html", {
        "patient": patient, "threads": qs.order_by("-last_message_at", "-created_at"), "q": q, "results": results,
        "can_write": access.can(request.user, "messaging", "write", patient),
    })


# --- Attachments ----------------------------------------------------------------

@login_required
def attachment_download(request: HttpRequest, attachment_id) -> HttpResponse:
    attachment = threads.attachment_load(request, attachment_id)
    audit.record(request=request, action="read", resource="messaging", patient=attachment.message.thread.patient,
                 object_id=attachment.pk, metadata={"download": attachment.original_name,
                                                    "sha256": attachment.sha256})
    content_type = attachment.content_type
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
