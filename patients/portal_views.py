"""The patient portal (/portal/): a patient's own record, nothing else."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from mahalo import access, audit


@login_required
def portal_home(request: HttpRequest) -> HttpResponse:
    """The patient's own page. Staff have the registry instead."""
    patient = access.patient_of(request.user)
    if patient is None:
        raise Http404
    audit.record(request=request, action="read", resource="patients", patient=patient,
                 metadata={"via": "portal"})
    return render(request, "portal/home.html", {"patient": patient})
