"""The portal's Messages page: the patient's conversations, and starting one with a member
of their care team (the same service, and the same rule, as the API)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from mahalo import audit
from messaging import threads
from patients.care_team import care_team_for
from patients.shell import portal_page


@portal_page
def portal_messages(request: HttpRequest, patient) -> HttpResponse:
    if request.method == "POST":
        team = {str(link.staff_id): link.staff for link in care_team_for(patient)}
        staff = team.get(request.POST.get("staff") or "")
        if staff is None:
            raise Http404  # the page lists the care team only; any other id is not found
        try:
            thread = threads.conversation_start(patient=patient, actor=request.user, staff=staff, request=request)
        except ValidationError:
            raise Http404 from None
        return redirect("portal_message_thread", thread.pk)
    qs = threads.with_inbox_fields(threads.threads_for(request.user), request.user)
    audit.record(request=request, action="list", resource="messaging", patient=patient, metadata={"via": "portal"})
    return render(request, "messaging/portal_messages.html", {
        "patient": patient, "threads": qs.order_by("-last_message_at", "-created_at"),
        "team": care_team_for(patient), "portal_nav": "messages",
    })
