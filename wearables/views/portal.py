"""The patient's devices page (/portal/devices/): connect and disconnect wearables,
see each one's status and last sync, upload an Apple Health export and follow it.

Every view gets the login's own Patient (`patients.shell.portal_page`); connections and
imports are loaded through the gate among that patient's own."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from patients.shell import portal_page
from wearables import apple_import, providers, services
from wearables.forms import AppleHealthForm, max_label
from wearables.models import AppleHealthImport, Connection, Provider
from wearables.views.apple import import_fragment, with_poll_urls

# Connection status -> (badge text, badge class). No live connection: "Not connected".
BADGES = {
    Connection.Status.LINKED: ("Connected", "badge-active"),
    Connection.Status.NEEDS_RECONSENT: ("Reconnect needed", "badge-paused"),
    Connection.Status.ERROR: ("Sync problem", "badge-danger"),
}


def devices_context(patient) -> dict:
    """Every provider with the patient's live connection (if any), in one query. Those the
    program doesn't offer (no credentials) and the patient never connected are only named."""
    live = {c.provider: c for c in Connection.objects.filter(patient=patient).exclude(  # gate: the portal's own patient
        status=Connection.Status.DISCONNECTED)}
    rows = []
    for name in providers.available():
        client = providers.get(name)
        connection = live.get(name)
        badge, badge_class = BADGES.get(connection.status, ("", "")) if connection else ("Not connected", "")
        rows.append({"name": name, "label": client.label, "configured": client.configured,
                     "connection": connection, "badge": badge, "badge_class": badge_class})
    # What the patient can act on first: connected ones, then those offered.
    rows.sort(key=lambda r: r["connection"] is None)
    return {"devices": [r for r in rows if r["connection"] or r["configured"]],
            "unavailable": [r["label"] for r in rows if not (r["connection"] or r["configured"])]}


def portal_status_url(job) -> str:
    return reverse("portal_apple_health_status", args=[job.pk])


def render_devices(request: HttpRequest, patient, *, apple_form=None) -> HttpResponse:
    return render(request, "wearables/portal_devices.html", {
        "patient": patient, "portal_nav": "devices", **devices_context(patient),
        "tz": str(patient.tz),
        "apple_form": apple_form or AppleHealthForm(),
        "apple_imports": with_poll_urls(apple_import.recent_imports(patient), portal_status_url),
        "apple_max_label": max_label(),
    })


@portal_page
def portal_devices(request: HttpRequest, patient) -> HttpResponse:
    audit.record(request=request, action="read", resource="wearables", patient=patient,
                 metadata={"via": "portal", "page": "devices"})
    return render_devices(request, patient)


@require_POST
@portal_page
def portal_disconnect(request: HttpRequest, patient, connection_id) -> HttpResponse:
    live = [s for s in Connection.Status.values if s != Connection.Status.DISCONNECTED]
    connection = services.connection_load(request, connection_id, patient=patient, action="write", statuses=live)
    services.connection_disconnect(connection=connection, actor=request.user, request=request)
    messages.success(request, f"{Provider(connection.provider).label} is disconnected. "
                              "The data already shared stays in your record.")
    return redirect("portal_devices")


@require_http_methods(["POST"])
@portal_page
def portal_apple_upload(request: HttpRequest, patient) -> HttpResponse:
    form = AppleHealthForm(request.POST, request.FILES)
    if form.is_valid():
        apple_import.import_create(patient=patient, upload=form.cleaned_data["file"], actor=request.user,
                                   request=request)
        messages.success(request, "Your Apple Health export is uploaded. It is being imported; "
                                  "you can follow it below and leave this page at any time.")
        return redirect(reverse("portal_devices") + "#apple-health")
    return render_devices(request, patient, apple_form=form)


@vary_on_headers("HX-Request")
@require_GET
@portal_page
def portal_apple_status(request: HttpRequest, patient, import_id) -> HttpResponse:
    # Polled every few seconds while the import runs: the devices page audited the read.
    job = access.load(request, AppleHealthImport.objects.filter(patient=patient), import_id, resource="wearables",
                      audit_read=False)
    if not request.htmx:
        return redirect(reverse("portal_devices") + "#apple-health")
    return import_fragment(request, job, portal_status_url(job), patient)
