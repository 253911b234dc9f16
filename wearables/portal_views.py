"""The patient's devices page (/portal/devices/): connect and disconnect wearables,
see the last sync, upload an Apple Health export."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mahalo import audit
from patients.portal_views import portal_page
from wearables import providers, services
from wearables.models import Connection, Provider


def devices_context(patient) -> dict:
    """Every provider with the patient's live connection (if any), in one query."""
    live = {c.provider: c for c in Connection.objects.filter(patient=patient).exclude(
        status=Connection.Status.DISCONNECTED)}
    rows = []
    for name in providers.available():
        client = providers.get(name)
        rows.append({"name": name, "label": client.label, "configured": client.configured,
                     "connection": live.get(name)})
    return {"devices": rows}


@portal_page
def portal_devices(request: HttpRequest, patient) -> HttpResponse:
    audit.record(request=request, action="read", resource="wearables", patient=patient,
                 metadata={"via": "portal", "page": "devices"})
    return render(request, "wearables/portal_devices.html", {
        "patient": patient, "portal_nav": "devices", **devices_context(patient)})


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
