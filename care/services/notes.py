"""Visit notes (issue 16): written from a template per visit type (SOAP by default), with recent
data pulled in on request; draft -> signed (locked: the signer's name and the time are stored) ->
addenda only. Signed notes marked shareable are the patient's visit summaries in the portal.

The one writer for pages (and any future API). Every write and every read of a note is audited;
a signed note refuses every change here, so no page or task can edit it."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from care.models import NoteAddendum, VisitNote
from mahalo import access, audit

RESOURCE = "clinical"
MAX_SECTION = 20_000

# key -> (name, [(section key, heading)]). SOAP is the default for any visit type not listed.
TEMPLATES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "soap": ("SOAP note", [("subjective", "Subjective"), ("objective", "Objective"), ("assessment", "Assessment"),
                           ("plan", "Plan")]),
    "rehab": ("Rehab session", [("session", "Session (exercise, duration, intensity)"),
                                ("objective", "Response (symptoms, exertion, vitals)"),
                                ("progress", "Progress toward goals"), ("plan", "Plan")]),
    "nutrition": ("Nutrition counselling", [("subjective", "Intake and habits"), ("objective", "Measurements"),
                                            ("assessment", "Assessment"), ("plan", "Goals and plan")]),
    "wellness": ("Wellness session", [("subjective", "What the patient reports"), ("objective", "Observations"),
                                      ("assessment", "Assessment"), ("plan", "Plan")]),
}
DEFAULT_TEMPLATE = "soap"
VISIT_TYPE_TEMPLATE = {"REHAB_SESSION": "rehab", "NUTRITION": "nutrition", "MENTAL_HEALTH": "wellness"}
# Where pulled-in data goes: the template's objective-like section.
DATA_SECTION = {"soap": "objective", "rehab": "objective", "nutrition": "objective", "wellness": "objective"}
RECENT_DAYS = 30


def template_for_visit(visit) -> str:
    return VISIT_TYPE_TEMPLATE.get(getattr(visit, "visit_type", ""), DEFAULT_TEMPLATE)


def sections_of(note: VisitNote) -> list[dict]:
    """The note's sections in its template's order, with headings and text."""
    _, sections = TEMPLATES.get(note.template, TEMPLATES[DEFAULT_TEMPLATE])
    return [{"key": key, "heading": heading, "text": (note.sections or {}).get(key, "")} for key, heading in sections]


def _name(user) -> str:
    return user.get_full_name() if user is not None else ""


def _err(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


# --- Reads ---------------------------------------------------------------------------------

def notes_for(patient):
    """A gated patient's notes, newest first (the view gated the patient)."""
    return (VisitNote.objects.filter(patient_id=patient.pk)
            .select_related("author", "signed_by", "visit").order_by("-created_at"))


def shared_summaries(patient):
    """The patient's own visit summaries: signed and marked shareable only."""
    return notes_for(patient).filter(status=VisitNote.Status.SIGNED, shareable=True).order_by("-signed_at")


def visits_for_notes(patient):
    """The patient's recent and upcoming visits a note can belong to (the view gated the patient)."""
    from scheduling.models import Visit

    return (Visit.objects.filter(patient_id=patient.pk).exclude(status__in=Visit.INACTIVE)
            .filter(starts_at__gte=timezone.now() - timedelta(days=120)).order_by("-starts_at")[:30])


def recent_data_text(patient, now=None) -> str:
    """Latest vitals, recent lab results and active medications as plain text for a note."""
    from care.models import Medication
    from clinical.chart import GLANCE_METRICS
    from clinical.metrics import METRICS
    from clinical.models import BloodTest, Interpretation, Observation
    from clinical.observations import decorate

    now = now or timezone.now()
    since = now - timedelta(days=RECENT_DAYS)
    tz = patient.tz
    lines = [f"Data pulled {timezone.localtime(now, tz):%Y-%m-%d %H:%M} (last {RECENT_DAYS} days):"]
    rows = Observation.objects.filter(patient_id=patient.pk, effective_at__gte=since).exclude(
        interpretation=Interpretation.INVALID)
    latest = Q()
    for metric in GLANCE_METRICS:
        latest |= Q(pk__in=rows.filter(metric=metric).order_by("-effective_at").values("pk")[:1])
    found = {o.metric: decorate(o) for o in Observation.objects.filter(latest)}
    vitals = [f"- {METRICS[m].label if m in METRICS else m}: {found[m].display} {found[m].unit_label} "
              f"({timezone.localtime(found[m].effective_at, tz):%Y-%m-%d})" for m in GLANCE_METRICS if m in found]
    lines += ["Vitals:"] + (vitals or ["- none recorded"])
    labs = BloodTest.objects.filter(patient_id=patient.pk, recorded_at__gte=since).order_by("test_name", "-recorded_at")
    seen, lab_lines = set(), []
    for r in labs:
        if r.test_name.lower() in seen:
            continue
        seen.add(r.test_name.lower())
        mark = {True: "in range", False: "OUT OF RANGE", None: "no range"}[r.in_range]
        when = f"{timezone.localtime(r.recorded_at, tz):%Y-%m-%d}"
        lab_lines.append(f"- {r.test_name}: {r.value:.6g} {r.unit} ({mark}, {when})")
    lines += ["Labs:"] + (lab_lines or ["- none in this period"])
    meds = Medication.objects.filter(patient_id=patient.pk, status=Medication.Status.ACTIVE).order_by("name")
    lines += ["Active medications:"] + ([f"- {m.name} {m.dose_label}".rstrip() for m in meds] or ["- none"])
    return "\n".join(lines)


# --- Writes --------------------------------------------------------------------------------

def _check_write(actor, patient):
    # Staff only: a patient login has clinical:write on itself (to log readings), not to write these.
    if not access.is_staff_user(actor) or not access.can(actor, RESOURCE, "write", patient):
        raise _err("__all__", "You may not write notes for this patient.")


@transaction.atomic
def note_create(*, patient, actor, visit=None, template: str = "", title: str = "", request=None,
                via: str = "page") -> VisitNote:
    _check_write(actor, patient)
    if visit is not None and visit.patient_id != patient.pk:
        raise _err("visit", "That visit is not this patient's.")
    template = template or (template_for_visit(visit) if visit is not None else DEFAULT_TEMPLATE)
    if template not in TEMPLATES:
        raise _err("template", "Unknown note template.")
    if not title.strip():
        title = f"{visit.get_visit_type_display()} {timezone.localtime(visit.starts_at, patient.tz):%Y-%m-%d}" \
            if visit is not None else TEMPLATES[template][0]
    note = VisitNote.objects.create(project_id=patient.project_id, program_id=patient.program_id, patient=patient,
                                    visit=visit, template=template, title=title.strip()[:200],
                                    sections={k: "" for k, _ in TEMPLATES[template][1]}, author=actor)
    audit.record(action="write", request=request, actor=actor, resource="care.note", patient=patient,
                 object_id=note.pk, metadata={"event": "note_created", "via": via,
                                              "visit": str(visit.pk) if visit else None, "template": template})
    return note


def _locked(note: VisitNote) -> VisitNote:
    return VisitNote.objects.select_for_update(of=("self",)).select_related("patient").get(pk=note.pk)


def _check_draft(note: VisitNote):
    if note.is_signed:
        raise _err("__all__", f"This note was signed by {note.signed_name} on "
                              f"{timezone.localtime(note.signed_at, note.patient.tz):%Y-%m-%d %H:%M} and is locked: "
                              "add an addendum instead.")


@transaction.atomic
def note_update(*, note: VisitNote, actor, sections: dict, title: str | None = None, shareable: bool | None = None,
                request=None, via: str = "page") -> VisitNote:
    note = _locked(note)
    _check_write(actor, note.patient)
    _check_draft(note)
    allowed = [k for k, _ in TEMPLATES[note.template][1]]
    errors = {k: [f"At most {MAX_SECTION} characters."] for k in allowed if len(sections.get(k) or "") > MAX_SECTION}
    if title is not None and not title.strip():
        errors["title"] = ["Give the note a title."]
    if errors:
        raise ValidationError(errors)
    note.sections = {k: (sections.get(k) or "").replace("\r\n", "\n") for k in allowed}
    if title is not None:
        note.title = title.strip()[:200]
    if shareable is not None:
        note.shareable = shareable
    note.save()
    audit.record(action="update", request=request, actor=actor, resource="care.note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "note_saved", "via": via})
    return note


@transaction.atomic
def note_pull_data(*, note: VisitNote, actor, request=None, via: str = "page") -> VisitNote:
    """Append recent vitals, labs and medications to the note's objective section (on request only)."""
    note = _locked(note)
    _check_write(actor, note.patient)
    _check_draft(note)
    key = DATA_SECTION.get(note.template, "objective")
    current = (note.sections or {}).get(key, "").rstrip()
    pulled = recent_data_text(note.patient)
    note.sections = {**(note.sections or {}), key: (current + "\n\n" if current else "") + pulled}
    note.save()
    audit.record(action="update", request=request, actor=actor, resource="care.note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "note_data_pulled", "via": via})
    return note


@transaction.atomic
def note_sign(*, note: VisitNote, actor, request=None, via: str = "page") -> VisitNote:
    note = _locked(note)
    _check_write(actor, note.patient)
    _check_draft(note)
    if not any((v or "").strip() for v in (note.sections or {}).values()):
        raise _err("__all__", "An empty note can't be signed: write at least one section.")
    note.status, note.signed_by, note.signed_at = VisitNote.Status.SIGNED, actor, timezone.now()
    note.signed_name = _name(actor)[:200]
    note.save()
    audit.record(action="update", request=request, actor=actor, resource="care.note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "note_signed", "via": via, "shareable": note.shareable})
    if note.shareable and note.patient.user_id:
        from messaging.notify import notify

        notify(event_type="visit_summary_shared", recipients=[note.patient.user], patient=note.patient,
               context={}, key=f"visit_summary:{note.pk}", link="/portal/visit-summaries/")
    return note


@transaction.atomic
def note_addendum(*, note: VisitNote, actor, body: str, request=None, via: str = "page") -> NoteAddendum:
    note = _locked(note)
    _check_write(actor, note.patient)
    body = (body or "").strip()
    if not note.is_signed:
        raise _err("body", "A draft is edited directly; addenda are for signed notes.")
    if not body:
        raise _err("body", "Write the addendum.")
    if len(body) > MAX_SECTION:
        raise _err("body", f"At most {MAX_SECTION} characters.")
    addendum = NoteAddendum.objects.create(note=note, author=actor, author_name=_name(actor)[:200], body=body)
    audit.record(action="write", request=request, actor=actor, resource="care.note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "note_addendum", "via": via, "addendum": str(addendum.pk)})
    return addendum


@transaction.atomic
def note_share(*, note: VisitNote, actor, shareable: bool, request=None, via: str = "page") -> VisitNote:
    """Show or hide a note in the patient's portal. Not an edit of its content, so allowed once signed."""
    note = _locked(note)
    _check_write(actor, note.patient)
    note.shareable = bool(shareable)
    note.save(update_fields=["shareable", "updated_at"])
    audit.record(action="update", request=request, actor=actor, resource="care.note", patient=note.patient,
                 object_id=note.pk, metadata={"event": "note_shared" if shareable else "note_unshared", "via": via})
    if note.shareable and note.is_signed and note.patient.user_id:
        from messaging.notify import notify

        notify(event_type="visit_summary_shared", recipients=[note.patient.user], patient=note.patient,
               context={}, key=f"visit_summary:{note.pk}", link="/portal/visit-summaries/")
    return note
