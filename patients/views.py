from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from mahalo import access, audit
from mahalo.decorators import permission_required
from mahalo.shell import current_program
from patients.models import Patient

SORTS = {
    "name": ("last_name", "first_name"),
    "-name": ("-last_name", "-first_name"),
    "age": ("-date_of_birth",),
    "-age": ("date_of_birth",),
    "program": ("program__name", "last_name"),
    "status": ("status", "last_name"),
    "-created": ("-created_at",),
}


def _registry(request):
    """The patients the user may see, narrowed by the query string (filters live in the URL)."""
    qs = access.patients_for(request.user).select_related("program")
    f = {k: request.GET.get(k, "").strip() for k in ("q", "program", "status", "sort")}
    focus = current_program(request)
    if f["program"]:
        qs = qs.filter(program_id=f["program"]) if _is_uuid(f["program"]) else qs.none()
    elif focus:
        qs = qs.filter(program=focus)
    if f["status"] in Patient.Status.values:
        qs = qs.filter(status=f["status"])
    elif not f["status"]:
        qs = qs.exclude(status=Patient.Status.ARCHIVED)
    for term in f["q"].upper().split():
        qs = qs.filter(search_text__contains=term)
    qs = qs.order_by(*SORTS.get(f["sort"], SORTS["name"]), "id")
    return qs, f, focus


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@vary_on_headers("HX-Request")
@permission_required("patients", "read")
def patient_list(request: HttpRequest) -> HttpResponse:
    qs, filters, focus = _registry(request)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    audit.record(request=request, action="list", resource="patients",
                 metadata={"filters": {k: v for k, v in filters.items() if v}, "page": page.number,
                           "count": len(page.object_list)})
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = request.GET.copy()
    sort_query.pop("sort", None)
    sort_query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "focus": focus,
        "programs": access.programs_for(request.user),
        "statuses": Patient.Status.choices,
        "query": query.urlencode(),
        "sort_query": sort_query.urlencode(),
    }
    template = "patients/list.html#results" if request.htmx else "patients/list.html"
    return render(request, template, context)


@vary_on_headers("HX-Request")
@permission_required("patients", "read")
def patient_detail(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id)
    return render(request, "patients/detail.html", {"patient": patient})
