"""Visit notes on the chart (/patients/<id>/notes/): the list, a new note (for a visit or free-standing,
from the visit type's template), one note (edit the draft, pull in recent data, sign; once signed:
addenda and sharing only). The patient reads their shared, signed summaries in the portal
(care/views/referrals.py's documents page). Views parse, gate, call care.services.notes, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from care.models import VisitNote
from care.services import notes as services
from mahalo import access, audit
from mahalo.decorators import permission_required
from patients import shell

R = services.RESOURCE


def _errors(exc: ValidationError) -> str:
    return " ".join(m for errs in exc.message_dict.values() for m in errs) if hasattr(exc, "error_dict") \
        else " ".join(exc.messages)


def _tab(request, patient, context: dict, status: int = 200) -> HttpResponse:
    base = {"tzname": str(patient.tz), "can_write": access.can(request.user, R, "write", patient),
            "templates": [(k, v[0]) for k, v in services.TEMPLATES.items()]}
    response = shell.render_chart(request, patient, "notes", {**base, **context})
    response.status_code = status
    return response


def _list_context(patient) -> dict:
    return {"notes": list(services.notes_for(patient)), "visits": list(services.visits_for_notes(patient))}


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def patient_notes(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    audit.record(request=request, action="list", resource="care.note", patient=patient, metadata={"via": "page"})
    return _tab(request, patient, _list_context(patient))


@require_POST
@permission_required(R, "write")
def note_new(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", R)
    visit = None
    wanted = request.POST.get("visit") or ""
    if wanted:
        visit = next((v for v in services.visits_for_notes(patient) if str(v.pk) == wanted), None)
    try:
        if wanted and visit is None:
            raise ValidationError({"visit": ["Choose one of this patient's visits."]})
        note = services.note_create(patient=patient, actor=request.user, visit=visit,
                                    template=request.POST.get("template", ""), title=request.POST.get("title", ""),
                                    request=request)
    except ValidationError as exc:
        return _tab(request, patient, {**_list_context(patient), "error": _errors(exc), "posted": request.POST},
                    status=400)
    return redirect(reverse("note_detail", args=[patient.pk, note.pk]))


def _note_load(request, patient, note_id, action="read") -> VisitNote:
    return access.load(request, VisitNote.objects.filter(patient_id=patient.pk).select_related(
        "author", "signed_by", "visit", "patient"), note_id, resource=R, action=action)


def _note_context(note, **extra) -> dict:
    return {"note": note, "note_sections": services.sections_of(note),
            "addenda": list(note.addenda.select_related("author")), **extra}


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def note_detail(request: HttpRequest, patient_id, note_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    if request.method != "POST":
        note = _note_load(request, patient, note_id)
        return _tab(request, patient, _note_context(note))
    if not access.can(request.user, R, "write", patient):
        raise Http404
    note = _note_load(request, patient, note_id, action="write")
    action = request.POST.get("action", "save")
    fields = {k: request.POST.get(f"section_{k}", "") for k, _ in services.TEMPLATES[note.template][1]}
    try:
        if action in ("save", "sign", "pull"):
            # On a signed note this refuses (locked): edits after signing never reach the record.
            note = services.note_update(note=note, actor=request.user, sections=fields,
                                        title=request.POST.get("title", note.title),
                                        shareable=request.POST.get("shareable") == "on", request=request)
            if action == "pull":
                services.note_pull_data(note=note, actor=request.user, request=request)
                messages.success(request, "Recent vitals, labs and medications added to the note.")
            elif action == "sign":
                services.note_sign(note=note, actor=request.user, request=request)
                messages.success(request, "Note signed and locked.")
            else:
                messages.success(request, "Draft saved.")
        elif action == "addendum":
            services.note_addendum(note=note, actor=request.user, body=request.POST.get("body", ""), request=request)
            messages.success(request, "Addendum added.")
        elif action in ("share", "unshare"):
            services.note_share(note=note, actor=request.user, shareable=action == "share", request=request)
            messages.success(request, "Shared with the patient." if action == "share" else "No longer shared.")
        else:
            raise ValidationError({"action": ["Unknown action."]})
    except ValidationError as exc:
        note.refresh_from_db()
        posted_sections = [{**s, "text": fields.get(s["key"], s["text"])} for s in services.sections_of(note)]
        context = _note_context(note, error=_errors(exc), posted=request.POST)
        if not note.is_signed:
            context["note_sections"] = posted_sections  # nothing typed is lost
        return _tab(request, patient, context, status=400)
    return redirect(reverse("note_detail", args=[patient.pk, note.pk]))
