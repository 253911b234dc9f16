"""Referrals and excuse notes on the chart (/patients/<id>/referrals/: the list, new referral, new excuse
note; one referral with its status changes, letter PDF and attachments; one excuse note: edit the draft,
preview, issue, revoke), and the patient's documents in the portal (/portal/documents/: shared visit
summaries and issued excuse notes, downloaded as issued). Views parse, gate, call
care.services.referrals / notes, and render; every download is audited by the service."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from care.models import ExcuseNote, Referral, ReferralAttachment, VisitNote
from care.services import notes as note_services
from care.services import referrals as services
from mahalo import access, audit
from mahalo.decorators import permission_required
from patients import shell

R = services.RESOURCE


def _errors(exc: ValidationError) -> str:
    return " ".join(m for errs in exc.message_dict.values() for m in errs) if hasattr(exc, "error_dict") \
        else " ".join(exc.messages)


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _tab(request, patient, context: dict, status: int = 200) -> HttpResponse:
    base = {"tzname": str(patient.tz), "can_write": access.can(request.user, R, "write", patient),
            "priorities": Referral.Priority.choices, "excuse_types": ExcuseNote.Type.choices,
            "transitions": services.TRANSITIONS}
    response = shell.render_chart(request, patient, "referrals", {**base, **context})
    response.status_code = status
    return response


def _list_context(patient) -> dict:
    return {"referrals": list(services.referrals_for(patient)),
            "excuse_notes": list(services.excuse_notes_for(patient)),
            "visits": list(note_services.visits_for_notes(patient)), "today": patient.today}


def _visit(patient, wanted: str):
    if not wanted:
        return None
    visit = next((v for v in note_services.visits_for_notes(patient) if str(v.pk) == wanted), None)
    if visit is None:
        raise ValidationError({"visit": ["Choose one of this patient's visits."]})
    return visit


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def patient_referrals(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    if request.method != "POST":
        audit.record(request=request, action="list", resource="care.referral", patient=patient,
                     metadata={"via": "page"})
        return _tab(request, patient, _list_context(patient))
    if not access.can(request.user, R, "write", patient):
        raise Http404
    p = request.POST
    data = services.ReferralIn(specialty=p.get("specialty", ""), reason=p.get("reason", ""),
                               referred_to=p.get("referred_to", ""), priority=p.get("priority", ""),
                               notes=p.get("notes", ""))
    try:
        referral = services.referral_create(patient=patient, actor=request.user, data=data,
                                            visit=_visit(patient, p.get("visit", "")),
                                            files=request.FILES.getlist("files"), request=request)
    except ValidationError as exc:
        return _tab(request, patient, {**_list_context(patient), "referral_error": _errors(exc), "posted": p},
                    status=400)
    messages.success(request, "Referral created; a task to send it is on your list.")
    return redirect(reverse("referral_detail", args=[patient.pk, referral.pk]))


def _referral_load(request, patient, referral_id, action="read") -> Referral:
    return access.load(request, Referral.objects.filter(patient_id=patient.pk).select_related("provider", "visit",
                                                                                             "patient"),
                       referral_id, resource=R, action=action)


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def referral_detail(request: HttpRequest, patient_id, referral_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    if request.method == "POST":
        if not access.can(request.user, R, "write", patient):
            raise Http404
        referral = _referral_load(request, patient, referral_id, "write")
        try:
            services.referral_transition(referral=referral, to=request.POST.get("status", ""), actor=request.user,
                                         reason=request.POST.get("reason", ""), request=request)
        except ValidationError as exc:
            referral.refresh_from_db()
            return _tab(request, patient, {"referral": referral, "attachments": list(referral.attachments.all()),
                                           "error": _errors(exc), "posted": request.POST}, status=400)
        messages.success(request, "Referral updated.")
        return redirect(reverse("referral_detail", args=[patient.pk, referral.pk]))
    referral = _referral_load(request, patient, referral_id)
    return _tab(request, patient, {"referral": referral, "attachments": list(referral.attachments.all()),
                                   "history": list(referral.history.select_related("history_user")
                                                   .order_by("-history_date")[:20])})


def _pdf_response(pdf: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@permission_required(R, "read")
def referral_letter(request: HttpRequest, patient_id, referral_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    referral = _referral_load(request, patient, referral_id)
    pdf = services.referral_letter(referral=referral, actor=request.user, request=request)
    return _pdf_response(pdf, f"referral-{referral.specialty.lower().replace(' ', '-')[:40]}.pdf")


@permission_required(R, "read")
def referral_attachment(request: HttpRequest, patient_id, attachment_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    row = access.load(request, ReferralAttachment.objects.filter(referral__patient_id=patient.pk), attachment_id,
                      resource=R, via="referral__patient")
    response = FileResponse(row.file.open("rb"), as_attachment=True, filename=row.filename,
                            content_type=row.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Excuse notes ------------------------------------------------------------------------

def _excuse_in(p) -> services.ExcuseIn:
    return services.ExcuseIn(type=p.get("type", ""), start_date=_date(p.get("start_date", "")),
                             end_date=_date(p.get("end_date", "")), reason=p.get("reason", ""),
                             restrictions=p.get("restrictions", ""))


@require_POST
@permission_required(R, "write")
def excuse_new(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "write", R)
    try:
        note = services.excuse_create(patient=patient, actor=request.user, data=_excuse_in(request.POST),
                                      visit=_visit(patient, request.POST.get("visit", "")), request=request)
    except ValidationError as exc:
        return _tab(request, patient, {**_list_context(patient), "excuse_error": _errors(exc),
                                       "posted_excuse": request.POST}, status=400)
    messages.success(request, "Draft note saved. Check the preview, then issue it.")
    return redirect(reverse("excuse_detail", args=[patient.pk, note.pk]))


def _excuse_load(request, patient, excuse_id, action="read") -> ExcuseNote:
    return access.load(request, ExcuseNote.objects.filter(patient_id=patient.pk).select_related(
        "provider", "revoked_by", "patient").defer("issued_pdf", "issued_html"), excuse_id, resource=R, action=action)


@vary_on_headers("HX-Request", "HX-Target")
@permission_required(R, "read")
def excuse_detail(request: HttpRequest, patient_id, excuse_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    if request.method != "POST":
        return _tab(request, patient, {"excuse": _excuse_load(request, patient, excuse_id)})
    if not access.can(request.user, R, "write", patient):
        raise Http404
    note = _excuse_load(request, patient, excuse_id, "write")
    action = request.POST.get("action", "")
    try:
        if action == "save":
            services.excuse_update(note=note, actor=request.user, data=_excuse_in(request.POST), request=request)
            messages.success(request, "Draft saved.")
        elif action == "issue":
            services.excuse_issue(note=note, actor=request.user, request=request)
            messages.success(request, "Note issued: the patient can download it from the portal.")
        elif action == "revoke":
            services.excuse_revoke(note=note, actor=request.user, reason=request.POST.get("reason", ""),
                                   request=request)
            messages.success(request, "Note revoked: the patient can no longer download it.")
        else:
            raise ValidationError({"action": ["Unknown action."]})
    except ValidationError as exc:
        note = _excuse_load(request, patient, excuse_id, "write")
        return _tab(request, patient, {"excuse": note, "error": _errors(exc), "posted_excuse": request.POST},
                    status=400)
    return redirect(reverse("excuse_detail", args=[patient.pk, note.pk]))


@permission_required(R, "read")
def excuse_pdf(request: HttpRequest, patient_id, excuse_id) -> HttpResponse:
    patient = access.patient_for_request(request, patient_id, "read", R)
    note = _excuse_load(request, patient, excuse_id)
    pdf = services.excuse_pdf(note=note, actor=request.user, request=request)
    suffix = "-draft" if note.status == ExcuseNote.Status.DRAFT else ""
    return _pdf_response(pdf, f"{note.type.lower()}-note{suffix}.pdf")


# --- The portal: the patient's documents --------------------------------------------------

@shell.portal_page
def portal_documents(request: HttpRequest, patient) -> HttpResponse:
    audit.record(request=request, action="list", resource="care.documents", patient=patient,
                 metadata={"via": "portal"})
    return render(request, "care/portal_documents.html", {
        "patient": patient, "portal_nav": "documents", "tzname": str(patient.tz),
        "summaries": list(note_services.shared_summaries(patient)),
        "excuse_notes": list(services.patient_documents(patient))})


@shell.portal_page
def portal_visit_summary(request: HttpRequest, patient, note_id) -> HttpResponse:
    note = access.load(request, VisitNote.objects.filter(patient=patient, status=VisitNote.Status.SIGNED,
                                                         shareable=True).select_related("visit", "patient"),
                       note_id, resource=R)
    return render(request, "care/portal_visit_summary.html", {
        "patient": patient, "portal_nav": "documents", "tzname": str(patient.tz), "note": note,
        "note_sections": note_services.sections_of(note), "addenda": list(note.addenda.all())})


@shell.portal_page
def portal_excuse_pdf(request: HttpRequest, patient, excuse_id) -> HttpResponse:
    # Issued and not revoked only: a draft or a revoked note is a 404, like another patient's.
    note = access.load(request, ExcuseNote.objects.filter(patient=patient, status=ExcuseNote.Status.SENT,
                                                          revoked_at__isnull=True).select_related("patient", "provider")
                       .defer("issued_pdf", "issued_html"), excuse_id, resource=R)
    pdf = services.excuse_pdf(note=note, actor=request.user, request=request, via="portal")
    return _pdf_response(pdf, f"{note.type.lower()}-note.pdf", inline=False)
