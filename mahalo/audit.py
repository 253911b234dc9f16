"""Audit trail: who read or changed what, when, from where.

`record()` is the one writer. Reads of a patient's record are recorded by the
gate's loader (`access.patient_for_request`), lists and exports by their views,
writes by the services that make them, and logins, logouts, failed logins and
lockouts by the signal receivers below.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from mahalo.actors import actor_role, project_of
from mahalo.models import AuditEvent


def client_ip(request) -> str | None:
    # Behind a proxy, gunicorn's forwarded-allow-ips rewrites REMOTE_ADDR.
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


def record(*, action: str, request=None, actor=None, resource: str = "", patient=None, object_id="",
           project=None, metadata: dict | None = None) -> AuditEvent:
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if project is None:
        project = patient.project if patient is not None else (project_of(actor) if actor else None)
    return AuditEvent.objects.create(
        actor=actor,
        actor_email=actor.email if actor else "",
        actor_role=actor_role(actor) if actor else "anonymous",
        project=project,
        patient=patient,
        action=action,
        resource=resource,
        object_id=str(object_id or (patient.pk if patient is not None else "")),
        ip=client_ip(request),
        path=(request.get_full_path()[:300] if request is not None else ""),
        metadata=metadata or {},
    )


def record_many(*, action: str, patients, request=None, actor=None, resource: str = "", project=None,
                metadata: dict | None = None) -> list[AuditEvent]:
    """`record()` for one event per patient, written in batches (a bulk import of 10,000 records
    audits each record without 10,000 INSERTs). Same fields as `record`."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    common = {"actor": actor, "actor_email": actor.email if actor else "",
              "actor_role": actor_role(actor) if actor else "anonymous", "action": action,
              "resource": resource, "ip": client_ip(request),
              "path": request.get_full_path()[:300] if request is not None else ""}
    events = [AuditEvent(**common, project=project or patient.project, patient=patient, object_id=str(patient.pk),
                         metadata=metadata or {}) for patient in patients]
    return AuditEvent.objects.bulk_create(events, batch_size=500)


def axes_username(request, credentials):
    """django-axes: allauth authenticates with `email`; its login form posts `login`."""
    value = (credentials or {}).get("email") or (credentials or {}).get("username")
    if not value and request is not None:
        value = request.POST.get("login") or request.POST.get("email")
    return (value or "").strip().lower() or None


def axes_lockout_response(request, original_response=None, credentials=None):
    """django-axes: the lockout answer. JSON for the API (the mobile app), a page otherwise."""
    from django.http import JsonResponse
    from django.shortcuts import render

    message = "Too many failed sign-ins: this account is locked for a while."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "account/locked.html", status=429)


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    record(action="login", request=request, actor=user, resource="session")


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(action="logout", request=request, actor=user, resource="session")


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    attempted = axes_username(request, credentials) or ""
    record(action="login_failed", request=request, resource="session", metadata={"login": attempted[:254]})


def _on_locked_out(sender, request, username, ip_address, **kwargs):
    record(action="locked_out", request=request, resource="session", metadata={"login": (username or "")[:254]})


def connect_axes():
    from axes.signals import user_locked_out

    user_locked_out.connect(_on_locked_out, dispatch_uid="mahalo_audit_locked_out")
