"""The patient's devices page (/portal/devices/): connect and disconnect wearables,
see each one's status and last sync, upload an Apple Health export and follow it."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mahalo import audit
from patients.shell import portal_page
from wearables import providers, services
from wearables.models import Connection, Provider

# Connection status -> (badge text, badge class). No live connection: "Not connected".
BADGES = {
    Connection.Status.LINKED: ("Connected", "badge-active"),
    Connection.Status.NEEDS_RECONSENT: ("Reconnect needed", "badge-paused"),
    Connection.Status.ERROR: ("Sync problem", "badge-danger"),
}


def devices_context(patient) -> dict:
    """Every provider with the patient's live connection (if any), in one query. Those the
    program doesn't offer (no credentials) and the patient never connected are only named."""
    live = {c.provider: c for c in Connection.objects.filter(patient=patient).exclude(
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


def render_devices(request: HttpRequest, patient, *, apple_form=None) -> HttpResponse:
    from wearables.apple_views import AppleHealthForm, _portal_url, max_label, recent_imports

    return render(request, "wearables/portal_devices.html", {
        "patient": patient, "portal_nav": "devices", **devices_context(patient),
        "tz": patient.program.timezone if patient.program_id else "UTC",
        "apple_form": apple_form or AppleHealthForm(),
        "apple_imports": recent_imports(patient, _portal_url),
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
    connection = Connection.objects.filter(pk=connection_id, patient=patient).exclude(
        status=Connection.Status.DISCONNECTED).first()
    if connection is None:
        raise Http404
    services.connection_disconnect(connection=connection, actor=request.user, request=request)
    messages.success(request, f"{Provider(connection.provider).label} is disconnected. "
                              "The data already shared stays in your record.")
    return redirect("portal_devices")
