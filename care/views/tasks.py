"""The staff task list (/tasks/: mine, my team, unassigned; filters; bulk complete and reassign),
one task's page (comments, history, complete with an outcome, reassign, cancel) and a new task
from the chart. Views parse, gate, call care.services.tasks and render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from care.forms import TaskForm
from care.models import Task
from care.services import tasks as services
from mahalo import access, audit
from mahalo.decorators import permission_required

R = services.RESOURCE


def _next(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _messages_of(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for errs in exc.message_dict.values() for m in errs]
    return exc.messages


def _task_load(request, task_id, action: str = "read") -> Task:
    return access.load(request, Task.objects.select_related("patient__program", "assignee", "assignee_role",
                                                            "completed_by", "created_by"),
                       task_id, resource=R, action=action, via="patient")


@permission_required(R, "read")
def task_list(request: HttpRequest) -> HttpResponse:
    f = services.parse_filter(request.GET)
    tasks = services.filter_tasks(request.user, f)
    page = Paginator(tasks, 50).get_page(request.GET.get("page"))
    audit.record(request=request, action="list", resource="care.task", metadata={"filters": f.as_params(),
                                                                                 "errors": f.errors})
    context = {
        "page": page, "tasks": page.object_list, "filters": f, "errors": f.errors, "now": timezone.now(),
        "views": services.VIEWS, "statuses": services.STATUSES, "dues": services.DUES,
        "priorities": Task.Priority.choices, "sources": Task.Source.choices,
        "query": urlencode(f.as_params()), "staff": services.assignable_staff(request.user),
        "counts": {"mine": services.open_count(request.user), "overdue": services.overdue_count(request.user)},
    }
    if request.htmx and request.headers.get("HX-Target") == "results":
        return render(request, "care/task_list.html#results", context, status=400 if f.errors else 200)
    return render(request, "care/task_list.html", context, status=400 if f.errors else 200)


@require_POST
@permission_required(R, "read")
def task_bulk(request: HttpRequest) -> HttpResponse:
    """Complete or reassign the ticked tasks: each is gated and changed on its own; what fails is said."""
    back = _next(request, reverse("task_list"))
    action = request.POST.get("action")
    ids = request.POST.getlist("task")
    if action not in ("complete", "reassign") or not ids:
        messages.error(request, "Tick at least one task and choose what to do.")
        return redirect(back)
    assignee = None
    if action == "reassign":
        wanted = request.POST.get("assignee") or ""
        assignee = next((u for u in services.assignable_staff(request.user) if str(u.pk) == wanted), None)
        if assignee is None:
            messages.error(request, "Choose a colleague to reassign to.")
            return redirect(back)
    outcome = request.POST.get("outcome", "")
    if action == "complete" and not outcome.strip():
        messages.error(request, "Say what was done: the outcome is recorded on every task you complete.")
        return redirect(back)
    done, failed = 0, []
    for task_id in ids[:200]:
        try:
            task = _task_load(request, task_id)
        except Http404:
            failed.append("a task you can't see")
            continue
        try:
            if action == "complete":
                services.task_complete(task=task, actor=request.user, outcome=outcome, request=request, via="bulk")
            else:
                services.task_reassign(task=task, actor=request.user, assignee=assignee, request=request, via="bulk")
            done += 1
        except ValidationError as exc:
            failed.append(f"“{task.title}” ({' '.join(_messages_of(exc))})")
    verb = "completed" if action == "complete" else f"reassigned to {assignee.get_full_name() or assignee.email}"
    if done:
        messages.success(request, f"{done} task{'s' if done != 1 else ''} {verb}.")
    if failed:
        messages.error(request, "Not changed: " + "; ".join(failed))
    return redirect(back)


def _detail_context(request, task, **extra) -> dict:
    return {"task": task, "patient": task.patient, "comments": list(task.comments.select_related("author")),
            "history": services.task_history(task), "may_act": services.may_act(request.user, task),
            "staff": services.assignable_staff(request.user, task.patient), "now": timezone.now(), **extra}


@permission_required(R, "read")
def task_detail(request: HttpRequest, task_id) -> HttpResponse:
    task = _task_load(request, task_id)
    return render(request, "care/task_detail.html", _detail_context(request, task))


ACTIONS = ("start", "complete", "cancel", "reassign", "comment")


@require_POST
@permission_required(R, "read")
def task_action(request: HttpRequest, task_id, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    task = _task_load(request, task_id)
    text = request.POST.get("outcome") or request.POST.get("body") or request.POST.get("note") or ""
    try:
        if action == "start":
            services.task_start(task=task, actor=request.user, request=request, via="page")
            messages.success(request, "Task started.")
        elif action == "complete":
            services.task_complete(task=task, actor=request.user, outcome=text, request=request, via="page")
            messages.success(request, "Task completed.")
        elif action == "cancel":
            services.task_cancel(task=task, actor=request.user, reason=text, request=request, via="page")
            messages.success(request, "Task cancelled.")
        elif action == "reassign":
            wanted = request.POST.get("assignee") or ""
            assignee = next((u for u in services.assignable_staff(request.user, task.patient)
                             if str(u.pk) == wanted), None)
            services.task_reassign(task=task, actor=request.user, assignee=assignee,
                                   note=request.POST.get("note", ""), request=request, via="page")
            messages.success(request, "Task reassigned.")
        else:
            services.task_comment(task=task, actor=request.user, body=text, request=request, via="page")
            messages.success(request, "Comment added.")
    except ValidationError as exc:
        task.refresh_from_db()
        return render(request, "care/task_detail.html", _detail_context(
            request, task, error=" ".join(_messages_of(exc)), failed_action=action, posted=request.POST), status=400)
    return redirect(_next(request, reverse("task_detail", args=[task.pk])))


@permission_required(R, "write")
def task_new(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", R)
    staff = services.assignable_staff(request.user, patient)
    form = TaskForm(request.POST or None, staff=staff, tz=patient.tz,
                    initial={"assignee": str(request.user.pk)} if request.user in staff else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                task = services.task_create(patient=patient, title=d["title"], description=d["description"],
                                            actor=request.user, assignee=d["assignee_user"], due_at=d["due_at"],
                                            priority=d["priority"], request=request, via="page")
            except ValidationError as exc:
                for name, errs in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errs)
            else:
                messages.success(request, "Task created.")
                return redirect(reverse("task_detail", args=[task.pk]))
        status = 400
    return render(request, "care/task_new.html", {"form": form, "patient": patient}, status=status)
