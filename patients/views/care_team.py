"""Staff side of the care team and portal invitations.

Who may do what:
- Staff whose role grants patients:update *on that patient* (the gate decides:
  program scope, global scope, or an active care-team grant) approve, decline,
  end and block any of the patient's links, add a colleague of the same project
  straight onto the team (active at once), and invite the patient to the portal.
  The patient is loaded with `access.patient_for_request(..., "update")` and the
  link only among that patient's links: anything else is 404.
- The staff member a request is addressed to may approve or decline it even when
  the patient is outside their scope (the patient asked for them). The link is
  loaded only among their own StaffMember's links, and only a `requested` link can
  be answered this way: anything else is 404 or a refused transition.

Forms post back here; a plain request redirects (to the chart, or to the
requests page) with a message, an HTMX request gets the re-rendered card.
"""

from __future__ import annotations

import smtplib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required, staff_required
from patients import care_team, invitations
from patients.forms import AddMemberForm
from patients.models import CareTeamLink, Patient

CARD_TEMPLATE = "patients/_care_team.html"
REQUESTS_TEMPLATE = "portal/staff_care_team_requests.html"


def _message_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _card_response(request: HttpRequest, patient: Patient, *, ok: str = "", error: str = "") -> HttpResponse:
    """Back to the chart with a message, or the re-rendered card for HTMX."""
    still_visible = access.can(request.user, "patients", "read", patient)
    if request.htmx:
        if not still_visible:
            # The actor just ended their own access: leave the chart.
            messages.info(request, ok or error)
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("patient_list")
            return response
        context = care_team.care_team_context(request, patient, message=error or ok,
                                              message_level="error" if error else "success")
        return render(request, CARD_TEMPLATE, context)
    if error:
        messages.error(request, error)
    elif ok:
        messages.success(request, ok)
    return redirect("patient_detail", patient.pk) if still_visible else redirect("patient_list")


@require_POST
@vary_on_headers("HX-Request")
@permission_required("patients", "update")
def care_team_add(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "update")
    form = AddMemberForm(request.POST, patient=patient)
    if not form.is_valid():
        return _card_response(request, patient, error=" ".join(form.errors["staff"]))
    staff = form.cleaned_data["staff"]
    try:
        care_team.care_team_add(patient=patient, staff=staff, actor=request.user, request=request)
    except (ValidationError, care_team.TransitionError) as exc:
        return _card_response(request, patient, error=_message_of(exc))
    return _card_response(request, patient, ok=f"{staff.user} is now on {patient.full_name}'s care team.")


@require_POST
@vary_on_headers("HX-Request")
@permission_required("patients", "update")
def care_team_act(request: HttpRequest, patient_id, link_id, action: str) -> HttpResponse:
    """approve / decline / end / block one of the patient's links (patients:update on the patient)."""
    if action not in care_team.ACTIONS:
        raise Http404
    patient = access.patient_for_request(request, patient_id, "update")
    link = access.load(request, CareTeamLink.objects.select_related("staff__user").filter(patient=patient), link_id,
                       resource="patients", action="update")
    try:
        care_team.care_team_act(link=link, action=action, actor=request.user, request=request)
    except care_team.TransitionError as exc:
        return _card_response(request, patient, error=str(exc))
    return _card_response(request, patient, ok=f"{link.staff.user}: {care_team.DONE[action]}.")


@require_POST
@vary_on_headers("HX-Request")
@staff_required
def care_team_respond(request: HttpRequest, link_id, action: str) -> HttpResponse:
    """The requested staff member approves or declines a request addressed to them."""
    if action not in ("approve", "decline"):
        raise Http404
    staff = access.staff_of(request.user)
    if staff is None:
        raise Http404
    link = care_team.request_to_staff(staff=staff, link_id=link_id)
    try:
        care_team.care_team_act(link=link, action=action, actor=request.user, request=request)
    except care_team.TransitionError:
        link.refresh_from_db(fields=["status"])
        ok, error = "", f"This request was already answered: the link is {link.get_status_display().lower()}."
    else:
        verb = "You joined" if action == "approve" else "You declined a request to join"
        ok, error = f"{verb} {link.patient.full_name}'s care team.", ""
    if request.htmx:
        context = _requests_context(request, staff)
        context.update(message=error or ok, message_level="error" if error else "success")
        return render(request, f"{REQUESTS_TEMPLATE}#requests", context)
    (messages.error if error else messages.success)(request, error or ok)
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return redirect(nxt)
    return redirect("care_team_requests")


def _requests_context(request, staff) -> dict:
    pending = list(care_team.pending_requests_for_staff(staff))
    active = list(care_team.active_links_for_staff(staff))
    return {"pending": pending, "active": active, "staff": staff,
            "answers": [("approve", "Accept"), ("decline", "Decline")]}


@vary_on_headers("HX-Request")
@staff_required
def care_team_requests(request: HttpRequest) -> HttpResponse:
    """Care-team requests addressed to me, and the patients whose team I'm on."""
    staff = access.staff_of(request.user)
    context = _requests_context(request, staff)
    audit.record(request=request, action="list", resource="patients",
                 metadata={"care_team_requests": len(context["pending"]), "care_team_active": len(context["active"])})
    template = f"{REQUESTS_TEMPLATE}#requests" if request.htmx else REQUESTS_TEMPLATE
    return render(request, template, context)


@require_POST
@vary_on_headers("HX-Request")
@permission_required("patients", "update")
def patient_invite(request: HttpRequest, patient_id) -> HttpResponse:
    """Create the patient's portal login (or re-send) and email the set-password link."""
    patient = access.patient_for_request(request, patient_id, "update")
    try:
        user = invitations.patient_invite(patient=patient, actor=request.user, request=request)
    except ValueError as exc:
        return _card_response(request, patient, error=str(exc))
    except (OSError, smtplib.SMTPException):
        return _card_response(request, patient, error="The login is ready, but the invitation email couldn't be "
                                                      "sent. Try again in a few minutes.")
    return _card_response(request, patient, ok=f"Invitation sent to {user.email}.")
