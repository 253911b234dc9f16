"""What scheduling adds to the portal's home page: the patient's next visit (or an open request)."""

from __future__ import annotations

from django.utils import timezone

from mahalo import access
from patients import shell
from scheduling.models import Visit, VisitRequest


def next_visit_section(request, patient) -> dict:
    visit = (access.scoped(request.user, Visit.objects, "scheduling")
             .filter(patient=patient, status__in=Visit.UPCOMING, ends_at__gte=timezone.now())
             .select_related("staff__user").order_by("starts_at").first())
    open_request = None
    if visit is None:
        open_request = (access.scoped(request.user, VisitRequest.objects, "scheduling")
                        .filter(patient=patient, status__in=VisitRequest.OPEN).order_by("-created_at").first())
    return {"visit": visit, "request": open_request,
            "local": timezone.localtime(visit.starts_at, visit.tz) if visit else None}


shell.register_portal_section(shell.PortalSection("next_visit", 10, "scheduling/_portal_home_visit.html",
                                                  next_visit_section))
