"""What scheduling adds to the portal's home page: the patient's next visit (or an open request)."""

from __future__ import annotations

from django.utils import timezone

from patients import shell
from scheduling.models import Visit, VisitRequest


def next_visit_section(request, patient) -> dict:
    # The patient was gated by `portal_page` (their own record): every row is bounded by it.
    visit = (Visit.objects.filter(patient=patient, status__in=Visit.UPCOMING, ends_at__gte=timezone.now())
             .select_related("staff__user").order_by("starts_at").first())
    open_request = None
    if visit is None:
        open_request = VisitRequest.objects.filter(patient=patient, status__in=VisitRequest.OPEN).order_by(
            "-created_at").first()
    return {"visit": visit, "request": open_request,
            "local": timezone.localtime(visit.starts_at, visit.tz) if visit else None}


shell.register_portal_section(shell.PortalSection("next_visit", 10, "scheduling/_portal_home_visit.html",
                                                  next_visit_section))
