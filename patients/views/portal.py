"""The patient portal (/portal/): a patient's own record, nothing else.

Every view gets the patient from `patients.shell.portal_page` (the login's own
record) and reaches other rows only through it (and the gate), so another patient's data
can't be named by any URL or form. Staff and logins without a patient record get
404. Reads of the record are audited with `metadata.via = "portal"`; writes go
through the services, which audit them.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from mahalo import access, audit, confirm
from patients import care_team, shell
from patients.forms import CareTeamRequestForm, ProfileForm
from patients.models import CareTeamLink, Patient
from patients.services import patient_update
from patients.shell import portal_page


def _audit_read(request, patient: Patient, page: str) -> None:
    audit.record(request=request, action="read", resource="patients", patient=patient,
                 metadata={"via": "portal", "page": page})


@portal_page
def portal_home(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The patient's own page. Staff have the registry instead."""
    _audit_read(request, patient, "home")
    links = care_team.links_for(patient)
    return render(request, "portal/home.html", {
        "patient": patient,
        "team": [x for x in links if x.status == CareTeamLink.Status.ACTIVE],
        "pending": [x for x in links if x.status == CareTeamLink.Status.REQUESTED],
        "sections": shell.portal_sections(request, patient),
        "portal_nav": "home",
    })


# --- Profile ------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@portal_page
def portal_profile(request: HttpRequest, patient: Patient) -> HttpResponse:
    # The form works on a copy: a failed validation must not leave typed values
    # on the request's cached patient, and patient_update compares against it.
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=copy.copy(patient))
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                changed = patient_update(patient=patient, actor=request.user, changes=changes, request=request,
                                         via="portal")
            except ValidationError as exc:
                # A rule of the whole record (Patient.clean) the form couldn't see.
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                if changed:
                    messages.success(request, "Your details are saved. Your care team sees the update.")
                else:
                    messages.info(request, "Nothing changed.")
                return redirect("portal_profile")
    else:
        form = ProfileForm(instance=copy.copy(patient))
        _audit_read(request, patient, "profile")
    return render(request, "portal/profile.html", {"patient": patient, "form": form, "portal_nav": "profile"})


# --- Care team ------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@portal_page
def portal_care_team(request: HttpRequest, patient: Patient) -> HttpResponse:
    if request.method == "POST":
        form = CareTeamRequestForm(request.POST, patient=patient)
        if form.is_valid():
            staff = form.cleaned_data["staff"]
            try:
                care_team.care_team_request(patient=patient, staff=staff, actor=request.user,
                                            note=form.cleaned_data["note"], request=request, via="portal")
            except ValidationError as exc:
                form.add_error("staff", exc.messages)
            else:
                messages.success(request, f"Request sent to {staff.user}. They join your care team once they accept.")
                return redirect("portal_care_team")
    else:
        form = CareTeamRequestForm(patient=patient)
        _audit_read(request, patient, "care_team")
    links = care_team.links_for(patient)
    selected = str(form["staff"].value() or "")
    return render(request, "portal/care_team.html", {
        "patient": patient,
        "form": form,
        "options": list(form.fields["staff"].queryset),
        "selected": selected,
        "team": [x for x in links if x.status == CareTeamLink.Status.ACTIVE],
        "pending": [x for x in links if x.status == CareTeamLink.Status.REQUESTED],
        "past": [x for x in links if x.status in (CareTeamLink.Status.ENDED, CareTeamLink.Status.BLOCKED)],
        "portal_nav": "care_team",
    })


@require_POST
@portal_page
def portal_care_team_withdraw(request: HttpRequest, patient: Patient, link_id) -> HttpResponse:
    """Withdraw one of my own pending requests."""
    link = access.load(request, CareTeamLink.objects.select_related("staff__user").filter(patient=patient), link_id,
                       resource="patients", action="update")
    if not confirm.confirmed(request):
        return confirm.ask(request, title="Withdraw your request?",
                           thing=f"Your request to {link.staff.user.get_full_name() or link.staff.user}",
                           consequence="They won't be asked to join your care team. You can ask again later.",
                           button="Yes, withdraw it", cancel_url=reverse("portal_care_team"))
    try:
        care_team.care_team_transition(link=link, to=CareTeamLink.Status.ENDED, actor=request.user, request=request,
                                       via="portal", from_states=[CareTeamLink.Status.REQUESTED])
    except care_team.TransitionError:
        messages.error(request, f"Your request to {link.staff.user} was already answered, so it can't be withdrawn.")
    else:
        messages.success(request, f"Your request to {link.staff.user} is withdrawn.")
    return redirect("portal_care_team")

