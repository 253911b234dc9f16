"""The in-app notification centre, the bell, notification settings and push subscriptions.

Every view works on the signed-in user's own rows only: another user's notification id
gets 404. Staff and patients alike; patients see their settings inside the portal frame.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mahalo import access, audit
from messaging.models import (
    CHANNELS,
    EVENT_TYPES,
    SAFETY_CRITICAL_EVENTS,
    Notification,
    NotificationPreference,
    NotificationSettings,
    PushSubscription,
)
from messaging.notify import ALWAYS_CHANNELS, sms_configured, user_timezone, vapid_configured
from patients.shell import portal_page


def _inbox(user):
    return Notification.objects.filter(recipient=user, channel="in_app", status=Notification.Status.DELIVERED)


def unseen_count(user) -> int:
    return _inbox(user).filter(seen_at__isnull=True).count()


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(_inbox(request.user).order_by("-created_at"), 30).get_page(request.GET.get("page"))
    response = render(request, "messaging/notifications.html", {
        "page": page, "unseen": unseen_count(request.user), "tz": user_timezone(request.user),
    })
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/notifications_bell.html", {"unseen": unseen_count(request.user)})


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("notification_list")
    return redirect(target)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk) -> HttpResponse:
    n = get_object_or_404(_inbox(request.user), pk=pk)
    if n.seen_at is None:
        n.seen_at = timezone.now()
        n.save(update_fields=["seen_at"])
    if n.link and request.POST.get("open") and url_has_allowed_host_and_scheme(n.link, {request.get_host()}):
        return redirect(n.link)
    return _back(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    done = _inbox(request.user).filter(seen_at__isnull=True).update(seen_at=timezone.now())
    if done:
        messages.success(request, f"Marked {done} notification{'s' if done != 1 else ''} as read.")
    return _back(request)


# --- Settings ----------------------------------------------------------------------------

def events_for(user) -> list[tuple[str, str]]:
    """Staff get every event; patients everything but staff-only alerts and requests."""
    if access.is_staff_user(user):
        return list(EVENT_TYPES)
    return [(k, v) for k, v in EVENT_TYPES if k not in ("alert_created", "care_team_request")]


def channels_for() -> list[tuple[str, str]]:
    return [(k, v) for k, v in CHANNELS if k != "sms" or sms_configured()]


def _field(event: str, channel: str) -> str:
    return f"pref__{event}__{channel}"


class NotificationSettingsForm(forms.Form):
    quiet_start = forms.TimeField(required=False, label="Quiet hours start",
                                  widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    quiet_end = forms.TimeField(required=False, label="Quiet hours end",
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.staff = access.is_staff_user(user)
        self.events, self.channels = events_for(user), channels_for()
        for event, event_label in self.events:
            for channel, channel_label in self.channels:
                forced = self.staff and event in SAFETY_CRITICAL_EVENTS and channel in ALWAYS_CHANNELS
                self.fields[_field(event, channel)] = forms.BooleanField(
                    required=False, label=f"{event_label}: {channel_label}", disabled=forced,
                    initial=True if forced else None)

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if not self.errors.get("quiet_start") and not self.errors.get("quiet_end"):
            if (start is None) != (end is None):
                self.add_error("quiet_end" if start else "quiet_start",
                               "Give both a start and an end, or leave both empty.")
            elif start is not None and start == end:
                self.add_error("quiet_end", "The end must differ from the start.")
        return data

    def grid(self) -> list[dict]:
        return [{"label": label, "event": event,
                 "cells": [{"channel": label_c, "field": self[_field(event, ch)]} for ch, label_c in self.channels]}
                for event, label in self.events]


def _initial(user) -> dict:
    outs = set(NotificationPreference.objects.filter(user=user, opted_out=True).values_list("event_type", "channel"))
    initial = {_field(e, c): (e, c) not in outs for e, _ in EVENT_TYPES for c, _ in CHANNELS}
    quiet = NotificationSettings.objects.filter(user=user).first()
    if quiet:
        initial.update(quiet_start=quiet.quiet_start, quiet_end=quiet.quiet_end)
    return initial


def _save(form: NotificationSettingsForm, request: HttpRequest) -> dict:
    user, changes = form.user, {}
    existing = {(p.event_type, p.channel): p for p in NotificationPreference.objects.filter(user=user)}
    for event, _ in form.events:
        for channel, _ in form.channels:
            name = _field(event, channel)
            if form.fields[name].disabled:
                continue
            out = not form.cleaned_data.get(name)
            row = existing.get((event, channel))
            if (row.opted_out if row else False) != out:
                changes[f"{event}/{channel}"] = "off" if out else "on"
                NotificationPreference.objects.update_or_create(user=user, event_type=event, channel=channel,
                                                                defaults={"opted_out": out})
    quiet, _ = NotificationSettings.objects.get_or_create(user=user)
    start, end = form.cleaned_data.get("quiet_start"), form.cleaned_data.get("quiet_end")
    if (quiet.quiet_start, quiet.quiet_end) != (start, end):
        changes["quiet_hours"] = f"{start:%H:%M}-{end:%H:%M}" if start and end else "off"
        quiet.quiet_start, quiet.quiet_end = start, end
        quiet.save()
    if changes:
        audit.record(request=request, action="update", resource="messaging", patient=access.patient_of(user),
                     metadata={"notification_settings": changes})
    return changes


def notification_settings_context(request: HttpRequest, form: NotificationSettingsForm | None = None) -> dict:
    """What the settings form needs; also for the portal's notifications page."""
    if form is None:
        form = NotificationSettingsForm(user=request.user, initial=_initial(request.user))
    return {"settings_form": form, "settings_tz": user_timezone(request.user),
            "push_available": vapid_configured(),
            "vapid_public_key": getattr(settings, "VAPID_PUBLIC_KEY", ""),
            "push_subscribed": PushSubscription.objects.filter(user=request.user).exists()}


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    form = None
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST, user=request.user, initial=_initial(request.user))
        if form.is_valid():
            with transaction.atomic():
                changes = _save(form, request)
            messages.success(request, "Notification settings saved." if changes else "Nothing changed.")
            return redirect("portal_notifications" if _is_patient(request.user) else "notification_settings")
    context = notification_settings_context(request, form)
    status = 400 if form is not None else 200
    if getattr(request, "htmx", False):  # the form alone (the portal page loads it this way)
        template = "messaging/_notification_settings_form.html"
    elif _is_patient(request.user):
        context.update(patient=access.patient_of(request.user), portal_nav="notifications")
        template = "portal/notifications.html"
    else:
        template = "messaging/notification_settings.html"
    response = render(request, template, context, status=status)
    response["Vary"] = "HX-Request"
    return response


def _is_patient(user) -> bool:
    return access.patient_of(user) is not None and not access.is_staff_user(user)


# --- Web push ----------------------------------------------------------------------------

@login_required
@require_POST
def push_subscribe(request: HttpRequest) -> JsonResponse:
    """The browser's PushSubscription (JSON: endpoint, keys.p256dh, keys.auth)."""
    if not vapid_configured():
        raise Http404
    try:
        data = json.loads(request.body or b"{}")
        endpoint, keys = str(data["endpoint"]), data["keys"]
        p256dh, auth = str(keys["p256dh"]), str(keys["auth"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "endpoint, keys.p256dh and keys.auth are required"}, status=400)
    if not endpoint.startswith("https://") or len(endpoint) > 500 or len(p256dh) > 200 or len(auth) > 100:
        return JsonResponse({"error": "invalid subscription"}, status=400)
    PushSubscription.objects.update_or_create(endpoint=endpoint, defaults={
        "user": request.user, "p256dh": p256dh, "auth": auth,
        "user_agent": request.headers.get("User-Agent", "")[:300]})
    return JsonResponse({"ok": True}, status=201)


@portal_page
def portal_notifications(request: HttpRequest, patient) -> HttpResponse:
    """The portal's notification settings page."""
    return render(request, "portal/notifications.html",
                  {"patient": patient, "portal_nav": "notifications", **notification_settings_context(request)})
