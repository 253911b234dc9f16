"""The in-app notification centre, the bell, notification settings and push subscriptions.

Every view works on the signed-in user's own rows only (messaging.notifications): another
user's notification id gets 404. Staff and patients alike; patients see their settings inside
the portal frame.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mahalo import access, safejson
from messaging import notifications
from messaging.delivery import vapid_configured
from messaging.forms import NotificationSettingsForm
from messaging.notify import user_timezone
from patients.shell import portal_page


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    version = notifications.list_version(request.user)
    if request.htmx and request.GET.get("v") == version:
        return HttpResponse(status=204)  # the poll: nothing new
    rows = notifications.notifications_for(request.user).select_related("patient").order_by("-created_at")
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    template = "messaging/notifications.html#list" if request.htmx else "messaging/notifications.html"
    response = render(request, template, {
        "page": page, "unseen": notifications.unseen_count(request.user), "tz": user_timezone(request.user),
        "version": version,
    })
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/notifications_bell.html", {"unseen": notifications.unseen_count(request.user)})


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("notification_list")
    return redirect(target)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk) -> HttpResponse:
    n = notifications.notification_for(request.user, pk)
    notifications.notification_mark_seen(notification=n)
    if n.link and request.POST.get("open") and url_has_allowed_host_and_scheme(n.link, {request.get_host()}):
        return redirect(n.link)
    return _back(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    done = notifications.notifications_mark_all_seen(user=request.user)
    if done:
        messages.success(request, f"Marked {done} notification{'s' if done != 1 else ''} as read.")
    return _back(request)


# --- Settings ----------------------------------------------------------------------------

def notification_settings_context(request: HttpRequest, form: NotificationSettingsForm | None = None) -> dict:
    """What the settings form needs; also for the portal's notifications page."""
    if form is None:
        form = NotificationSettingsForm(user=request.user, initial=notifications.settings_initial(request.user))
    return {"settings_form": form, "settings_tz": user_timezone(request.user),
            "push_available": vapid_configured(),
            "vapid_public_key": getattr(settings, "VAPID_PUBLIC_KEY", ""),
            "push_subscribed": notifications.has_push_subscription(request.user)}


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    form = None
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST, user=request.user,
                                        initial=notifications.settings_initial(request.user))
        if form.is_valid():
            changes = notifications.settings_save(user=request.user, choices=form.choices(),
                                                  quiet_start=form.cleaned_data.get("quiet_start"),
                                                  quiet_end=form.cleaned_data.get("quiet_end"), request=request)
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
        data = safejson.loads(request.body or b"{}")
        endpoint, keys = str(data["endpoint"]), data["keys"]
        p256dh, auth = str(keys["p256dh"]), str(keys["auth"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "endpoint, keys.p256dh and keys.auth are required"}, status=400)
    if not endpoint.startswith("https://") or len(endpoint) > 500 or len(p256dh) > 200 or len(auth) > 100:
        return JsonResponse({"error": "invalid subscription"}, status=400)
    notifications.push_subscribe(user=request.user, endpoint=endpoint, p256dh=p256dh, auth=auth,
                                 user_agent=request.headers.get("User-Agent", ""))
    return JsonResponse({"ok": True}, status=201)


@portal_page
def portal_notifications(request: HttpRequest, patient) -> HttpResponse:
    """The portal's notification settings page."""
    return render(request, "portal/notifications.html",
                  {"patient": patient, "portal_nav": "notifications", **notification_settings_context(request)})
