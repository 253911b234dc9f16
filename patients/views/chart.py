"""The patient chart's own tabs: Overview and Timeline (other apps register theirs in patients.shell)."""

from datetime import UTC, datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from mahalo import access
from mahalo.decorators import permission_required
from patients import shell, timeline


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("patients", "read")
def patient_detail(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id)
    context = {"enrollments": patient.enrollments.select_related("program", "enrolled_by").order_by("-started_at")}
    context["overview_facts"] = shell.blocks(shell.OVERVIEW, request, patient, context)  # registered by apps
    return shell.render_chart(request, patient, "overview", context)


@vary_on_headers("HX-Request", "HX-Target")
@permission_required("patients", "read")
def patient_timeline(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id)  # audited read
    before = None
    if raw := request.GET.get("before"):
        try:
            before = datetime.fromisoformat(raw)
            if timezone.is_naive(before) or not 1900 <= before.year <= 2200:
                raise ValueError
            before = before.astimezone(UTC)
        except (ValueError, OverflowError):
            raise Http404 from None
    entries, cursor = timeline.feed(patient, before=before)
    context = {"entries": entries, "cursor": cursor.isoformat() if cursor else ""}
    if request.htmx and request.headers.get("HX-Target") == "timeline-more":
        return render(request, "patients/tab_timeline.html#entries", {**context, "patient": patient})
    return shell.render_chart(request, patient, "timeline", context)
