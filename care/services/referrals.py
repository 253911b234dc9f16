"""Referrals and excuse notes (Referral, ExcuseNote 003): the only writers, and their PDFs.

Referral: PENDING -> SENT -> ACCEPTED -> COMPLETED, or CANCELLED (with a reason) from any open state;
each change stamps its date. A care.Task always says who must act next (send it, confirm it was
accepted, get the consult report); the previous step's task is closed with the change.

Excuse note: drafted (DRAFT), issued (SENT: rendered once through mahalo.pdf and stored as issued),
revoked (EXPIRED with revoked_at/by/reason; the seed's statuses have no "revoked"). Every write, every
issue and every download is audited. PDFs come only from `mahalo.pdf.render_pdf`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from care.models import ExcuseNote, Referral, ReferralAttachment, Task
from care.services import tasks as task_services
from mahalo import access, audit
from mahalo.pdf import render_pdf

RESOURCE = "clinical"
Status = Referral.Status
TRANSITIONS: dict[str, set[str]] = {
    Status.PENDING: {Status.SENT, Status.CANCELLED},
    Status.SENT: {Status.ACCEPTED, Status.CANCELLED},
    Status.ACCEPTED: {Status.COMPLETED, Status.CANCELLED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
}
STAMPS = {Status.SENT: "sent_at", Status.ACCEPTED: "accepted_at", Status.COMPLETED: "completed_at",
          Status.CANCELLED: "cancelled_at"}
# The next step's task: (title, hours until due per priority, task priority per referral priority).
NEXT_STEP = {
    Status.PENDING: ("Send the {specialty} referral{to}", {"STAT": 2, "URGENT": 24, "ROUTINE": 72}),
    Status.SENT: ("Confirm the {specialty} referral{to} was accepted", {"STAT": 24, "URGENT": 72, "ROUTINE": 14 * 24}),
    Status.ACCEPTED: ("Get the {specialty} consult report{to}", {"STAT": 3 * 24, "URGENT": 7 * 24,
                                                                 "ROUTINE": 30 * 24}),
}
TASK_PRIORITY = {"STAT": Task.Priority.URGENT, "URGENT": Task.Priority.HIGH, "ROUTINE": Task.Priority.NORMAL}
MAX_EXCUSE_DAYS = 180


def _err(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _check_write(actor, patient):
    # Staff only: a patient login has clinical:write on itself (to log readings), not to write these.
    if not access.is_staff_user(actor) or not access.can(actor, RESOURCE, "write", patient):
        raise _err("__all__", "You may not write referrals or notes for this patient.")


def practice_name(patient) -> str:
    project = patient.project
    return project.brand_name or project.name


# --- Referrals ---------------------------------------------------------------------------

@dataclass
class ReferralIn:
    specialty: str
    reason: str
    referred_to: str = ""
    priority: str = Referral.Priority.ROUTINE
    notes: str = ""


def referrals_for(patient):
    return (Referral.objects.filter(patient_id=patient.pk).select_related("provider", "visit")
            .prefetch_related("attachments").order_by("-created_at"))


def _next_task(referral: Referral, actor, request=None):
    step = NEXT_STEP.get(referral.status)
    if step is None:
        return None
    title, hours = step
    to = f" to {referral.referred_to}" if referral.referred_to else ""
    return task_services.task_create(
        patient=referral.patient, title=title.format(specialty=referral.specialty, to=to)[:200],
        actor=actor, assignee=referral.provider if access.can(referral.provider, RESOURCE, "read", referral.patient)
        else None, due_at=timezone.now() + timedelta(hours=hours[referral.priority]),
        priority=TASK_PRIORITY[referral.priority], source=Task.Source.REFERRAL, source_obj=referral,
        description=f"Referral reason: {referral.reason[:500]}", request=request, via="referral")


def _close_step_task(referral: Referral, actor, outcome: str):
    """Close the open task of the previous step (it is done: the referral moved on)."""
    ct = ContentType.objects.get_for_model(Referral)
    for task in Task.objects.select_for_update().filter(source_type=ct, source_id=str(referral.pk),
                                                        status__in=Task.OPEN_STATES):
        task.status, task.outcome = Task.Status.DONE, outcome
        task.completed_at, task.completed_by = timezone.now(), actor
        task.save()


@transaction.atomic
def referral_create(*, patient, actor, data: ReferralIn, visit=None, files=(), request=None,
                    via: str = "page") -> Referral:
    _check_write(actor, patient)
    errors = {}
    if not data.specialty.strip():
        errors["specialty"] = ["Name the specialty (e.g. Cardiology) or service."]
    if not data.reason.strip():
        errors["reason"] = ["Give the reason for the referral."]
    if data.priority not in Referral.Priority.values:
        errors["priority"] = ["Choose routine, urgent or stat."]
    if visit is not None and visit.patient_id != patient.pk:
        errors["visit"] = ["That visit is not this patient's."]
    checked = []
    if files:
        from messaging import attachments

        try:
            checked = attachments.validate(list(files))
        except ValidationError as exc:
            errors["files"] = exc.messages
    if errors:
        raise ValidationError(errors)
    referral = Referral.objects.create(
        project_id=patient.project_id, program_id=patient.program_id, patient=patient, visit=visit, provider=actor,
        specialty=data.specialty.strip()[:120], referred_to=data.referred_to.strip()[:200],
        reason=data.reason.strip(), priority=data.priority, notes=data.notes.strip())
    for upload, content_type, ext in checked:
        _store_attachment(referral, upload, content_type, ext, actor)
    _next_task(referral, actor, request)
    audit.record(action="write", request=request, actor=actor, resource="care.referral", patient=patient,
                 object_id=referral.pk, metadata={"event": "referral_created", "via": via,
                                                  "priority": referral.priority, "files": len(checked)})
    return referral


def _store_attachment(referral, upload, content_type, ext, actor) -> ReferralAttachment:
    import uuid

    from django.core.files.storage import default_storage

    from messaging.attachments import safe_name

    path = default_storage.save(f"referrals/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{ext}", upload)
    row = ReferralAttachment(referral=referral, filename=safe_name(upload.name, ext), content_type=content_type,
                             size=upload.size, uploaded_by=actor)
    row.file.name = path
    row.save()
    return row


@transaction.atomic
def referral_transition(*, referral: Referral, to: str, actor, reason: str = "", request=None,
                        via: str = "page") -> Referral:
    referral = (Referral.objects.select_for_update(of=("self",)).select_related("patient", "provider")
                .get(pk=referral.pk))
    _check_write(actor, referral.patient)
    current = referral.status
    if to not in TRANSITIONS.get(current, set()):
        label = Status(to).label.lower() if to in Status.values else to
        raise _err("status", f"A {referral.get_status_display().lower()} referral can't be marked {label}.")
    reason = (reason or "").strip()
    if to == Status.CANCELLED:
        if not reason:
            raise _err("reason", "Give a reason for cancelling.")
        referral.cancel_reason = reason[:1000]
    referral.status = to
    setattr(referral, STAMPS[to], timezone.now())
    referral._change_reason = reason[:100] or f"{current} -> {to}"
    referral.save()
    _close_step_task(referral, actor, f"Referral marked {Status(to).label.lower()}.")
    _next_task(referral, actor, request)
    audit.record(action="update", request=request, actor=actor, resource="care.referral", patient=referral.patient,
                 object_id=referral.pk, metadata={"event": "referral_transition", "from": current, "to": to,
                                                  "via": via})
    return referral


def referral_letter(*, referral: Referral, actor, request=None, via: str = "page") -> bytes:
    """The referral letter as PDF (rendered now from the referral; audited as a read of PHI)."""
    patient = referral.patient
    _, pdf = render_pdf("care/pdf/referral_letter.html", {
        "referral": referral, "patient": patient, "practice": practice_name(patient),
        "today": timezone.localtime(timezone.now(), patient.tz).date(),
        "attachments": list(referral.attachments.all()), "provider": referral.provider})
    audit.record(action="read", request=request, actor=actor, resource="care.referral", patient=patient,
                 object_id=referral.pk, metadata={"event": "referral_letter", "via": via})
    return pdf


# --- Excuse notes --------------------------------------------------------------------------

@dataclass
class ExcuseIn:
    type: str
    start_date: date | None
    end_date: date | None
    reason: str
    restrictions: str = ""


def excuse_notes_for(patient):
    return ExcuseNote.objects.filter(patient_id=patient.pk).select_related("provider", "revoked_by").defer(
        "issued_pdf", "issued_html").order_by("-created_at")


def patient_documents(patient):
    """Issued notes the patient may download (revoked ones are listed as revoked, without a file)."""
    return excuse_notes_for(patient).exclude(status=ExcuseNote.Status.DRAFT)


def _validate_excuse(data: ExcuseIn):
    errors = {}
    if data.type not in ExcuseNote.Type.values:
        errors["type"] = ["Choose work, school or general."]
    if data.start_date is None:
        errors["start_date"] = ["Give the first day."]
    if data.end_date is None:
        errors["end_date"] = ["Give the last day."]
    if data.start_date and data.end_date:
        if data.end_date < data.start_date:
            errors["end_date"] = ["The last day can't be before the first."]
        elif (data.end_date - data.start_date).days > MAX_EXCUSE_DAYS:
            errors["end_date"] = [f"At most {MAX_EXCUSE_DAYS} days in one note."]
    if not data.reason.strip():
        errors["reason"] = ["Give the reason (shown on the note)."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def excuse_create(*, patient, actor, data: ExcuseIn, visit=None, request=None, via: str = "page") -> ExcuseNote:
    _check_write(actor, patient)
    _validate_excuse(data)
    if visit is not None and visit.patient_id != patient.pk:
        raise _err("visit", "That visit is not this patient's.")
    note = ExcuseNote.objects.create(
        project_id=patient.project_id, program_id=patient.program_id, patient=patient, visit=visit, provider=actor,
        type=data.type, start_date=data.start_date, end_date=data.end_date, reason=data.reason.strip(),
        restrictions=data.restrictions.strip())
    audit.record(action="write", request=request, actor=actor, resource="care.excuse_note", patient=patient,
                 object_id=note.pk, metadata={"event": "excuse_created", "via": via, "type": note.type})
    return note


def _locked_note(note) -> ExcuseNote:
    return ExcuseNote.objects.select_for_update(of=("self",)).select_related("patient", "provider").get(pk=note.pk)


@transaction.atomic
def excuse_update(*, note: ExcuseNote, actor, data: ExcuseIn, request=None, via: str = "page") -> ExcuseNote:
    note = _locked_note(note)
    _check_write(actor, note.patient)
    if note.status != ExcuseNote.Status.DRAFT:
        raise _err("__all__", "An issued note can't be edited: revoke it and issue a new one.")
    _validate_excuse(data)
    note.type, note.start_date, note.end_date = data.type, data.start_date, data.end_date
    note.reason, note.restrictions = data.reason.strip(), data.restrictions.strip()
    note.save()
    audit.record(action="update", request=request, actor=actor, resource="care.excuse_note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "excuse_saved", "via": via})
    return note


def _excuse_render(note: ExcuseNote, *, draft: bool) -> tuple[str, bytes]:
    patient = note.patient
    return render_pdf("care/pdf/excuse_note.html", {
        "note": note, "patient": patient, "practice": practice_name(patient), "provider": note.provider,
        "issued_on": timezone.localtime(note.sent_at or timezone.now(), patient.tz).date(), "draft": draft})


@transaction.atomic
def excuse_issue(*, note: ExcuseNote, actor, request=None, via: str = "page") -> ExcuseNote:
    note = _locked_note(note)
    _check_write(actor, note.patient)
    if note.status != ExcuseNote.Status.DRAFT:
        raise _err("__all__", "This note was already issued.")
    note.status, note.sent_at = ExcuseNote.Status.SENT, timezone.now()
    note.issued_html, pdf = _excuse_render(note, draft=False)
    note.issued_pdf = pdf
    note.save()
    audit.record(action="update", request=request, actor=actor, resource="care.excuse_note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "excuse_issued", "via": via, "bytes": len(pdf)})
    if note.patient.user_id:
        from messaging.notify import notify

        notify(event_type="excuse_note_issued", recipients=[note.patient.user], patient=note.patient, context={},
               key=f"excuse_issued:{note.pk}", link="/portal/documents/")
    return note


@transaction.atomic
def excuse_revoke(*, note: ExcuseNote, actor, reason: str, request=None, via: str = "page") -> ExcuseNote:
    note = _locked_note(note)
    _check_write(actor, note.patient)
    reason = (reason or "").strip()
    if note.status != ExcuseNote.Status.SENT or note.is_revoked:
        raise _err("__all__", "Only an issued note can be revoked.")
    if not reason:
        raise _err("reason", "Give a reason for revoking.")
    note.status, note.revoked_at, note.revoked_by = ExcuseNote.Status.EXPIRED, timezone.now(), actor
    note.revoke_reason = reason[:1000]
    note._change_reason = reason[:100]
    note.save()
    audit.record(action="update", request=request, actor=actor, resource="care.excuse_note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "excuse_revoked", "via": via})
    return note


def excuse_pdf(*, note: ExcuseNote, actor, request=None, via: str = "page") -> bytes:
    """The note's PDF: as issued (stored bytes) once issued; a marked DRAFT preview before that.
    The portal refuses drafts and revoked notes before calling this. Every download is audited."""
    if note.status == ExcuseNote.Status.DRAFT:
        _, pdf = _excuse_render(note, draft=True)
    else:
        pdf = bytes(ExcuseNote.objects.filter(pk=note.pk).values_list("issued_pdf", flat=True).first() or b"")
    audit.record(action="read", request=request, actor=actor, resource="care.excuse_note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "excuse_download", "via": via, "status": note.status})
    return pdf
