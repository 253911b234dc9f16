"""The only writers of visits, slots and visit requests: booking, holds, cancel,
reschedule and the visit status machine. Web pages, the API and tasks call these.

No double booking: every write that takes a staff member's time first locks
that StaffMember row (SELECT ... FOR UPDATE; PostgreSQL serialises concurrent
bookers on it), then checks for overlapping live visits, holds and blocked
time. The database backs it up: a partial unique constraint (one live visit per
slot) everywhere and, on PostgreSQL, an exclusion constraint (no overlapping
live visits per staff member). A constraint violation becomes a `Conflict`,
never a 500.

Errors are `SchedulingError` (a ValidationError): pages show the message
inline, the API answers 400.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from mahalo import access, audit, config
from mahalo.models import StaffMember
from messaging.models import Notification
from messaging.notify import notify
from scheduling import slots, telehealth
from scheduling.models import Arrival, Mode, Severity, Slot, Visit, VisitRequest

POLICY_KEY = "scheduling_booking_policy"
POLICIES = ("view_only", "request", "self_book")
DEFAULT_POLICY = "request"
HOLD_MINUTES_KEY = "scheduling_hold_minutes"
# Issue 19: patients book only clinicians whose licence an admin verified (program setting, default on).
VERIFIED_ONLY_KEY = "scheduling_self_booking_verified_only"
DEFAULT_HOLD_MINUTES = 48 * 60
MIN_NOTICE_KEY = "scheduling_min_notice_minutes"
HORIZON_KEY = "scheduling_booking_horizon_days"
REMINDERS_KEY = "scheduling_reminder_offsets_minutes"
DEFAULT_REMINDERS = "1440,60"


class SchedulingError(ValidationError):
    """A booking rule said no (shown to the user; 400 in the API)."""


class Conflict(SchedulingError):
    """The time is taken (another visit, a hold, blocked time)."""


class InvalidTransition(SchedulingError):
    """The visit (or request) can't go from its status to the one asked for."""


# --- Program policy --------------------------------------------------------------------

def booking_policy(program) -> str:
    """What the program's patients may do in the portal: view_only | request | self_book."""
    value = (config.get_setting(POLICY_KEY, default=DEFAULT_POLICY, program=program) or "").strip().lower()
    return value if value in POLICIES else DEFAULT_POLICY


def hold_minutes(program) -> int:
    return max(5, config.get_int(HOLD_MINUTES_KEY, DEFAULT_HOLD_MINUTES, program=program) or DEFAULT_HOLD_MINUTES)


def booking_window(program, now: datetime) -> tuple[datetime, datetime]:
    """(earliest, latest) start a patient may self-book."""
    notice = config.get_int(MIN_NOTICE_KEY, 120, program=program) or 0
    horizon = config.get_int(HORIZON_KEY, 60, program=program) or 60
    return now + timedelta(minutes=max(0, notice)), now + timedelta(days=max(1, horizon))


def reminder_offsets(program) -> list[int]:
    """Minutes before a visit at which reminders go out, largest first."""
    raw = config.get_setting(REMINDERS_KEY, default=DEFAULT_REMINDERS, program=program) or ""
    out = set()
    for part in str(raw).replace(" ", "").split(","):
        if part.isdigit() and 0 < int(part) <= 14 * 24 * 60:
            out.add(int(part))
    return sorted(out, reverse=True)


# --- Who may do what (one rule for pages and API) ------------------------------------------

def is_own(user, patient) -> bool:
    mine = access.patient_of(user)
    return mine is not None and mine.pk == patient.pk and not access.is_staff_user(user)


def can_manage(user, obj) -> bool:
    """Staff who may change this patient's visits (scheduling:update in scope)."""
    return access.is_staff_user(user) and access.can(user, "scheduling", "update", obj)


def can_cancel(user, visit: Visit) -> bool:
    return can_manage(user, visit) or (is_own(user, visit.patient) and access.can(user, "scheduling", "write"))


def verified_only(program) -> bool:
    return config.get_bool(VERIFIED_ONLY_KEY, True, program=program)


def bookable_staff(patient, *, mode: str = "", by_patient: bool = False) -> list[StaffMember]:
    """Active staff of the patient's project who may see the patient's scheduling
    (their program, or a care-team grant); telehealth-enabled ones for video visits;
    for the patient's own booking, verified ones (unless the program turned that off)."""
    qs = StaffMember.objects.filter(project_id=patient.project_id, is_active=True).select_related("user", "role")
    if mode == Mode.VIRTUAL:
        qs = qs.filter(telehealth_enabled=True)
    if by_patient and verified_only(patient.program):
        qs = qs.filter(is_verified=True)
    return [s for s in qs.order_by("user__full_name") if access.can(s.user, "scheduling", "read", patient)]


def _check_staff_for(staff: StaffMember, patient, mode: str) -> None:
    if not staff.is_active or staff.project_id != patient.project_id:
        raise SchedulingError({"staff": "Pick someone from the patient's care team or program."})
    if not access.can(staff.user, "scheduling", "read", patient):
        raise SchedulingError({"staff": "That clinician doesn't work with this patient's program."})
    if mode == Mode.VIRTUAL and not staff.telehealth_enabled:
        raise SchedulingError({"mode": "That clinician doesn't offer video visits."})


# --- Occupying time ------------------------------------------------------------------

def _lock_staff(*staff_members) -> None:
    """Lock StaffMember rows (in id order: two bookers never wait on each other crosswise)."""
    ids = sorted({str(s.pk) for s in staff_members})
    list(StaffMember.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def _check_free(*, staff, patient, starts_at, ends_at, now, allow_slot: Slot | None = None,
                ignore_visit: Visit | None = None) -> None:
    """Caller holds the staff lock. Conflict if any live visit, unexpired hold or
    blocked time of `staff` (or a live visit of `patient`) overlaps."""
    overlap = Q(starts_at__lt=ends_at, ends_at__gt=starts_at)
    visits = Visit.objects.filter(overlap).exclude(status__in=Visit.INACTIVE)
    if ignore_visit is not None:
        visits = visits.exclude(pk=ignore_visit.pk)
    if visits.filter(staff=staff).exists():
        raise Conflict("That time is already booked.")
    if patient is not None and visits.filter(patient=patient).exists():
        raise Conflict("The patient already has a visit at that time.")
    slots = Slot.objects.filter(overlap, staff=staff).filter(
        Q(status=Slot.Status.BLOCKED) | Q(status=Slot.Status.HELD, held_until__gt=now))
    if allow_slot is not None:
        slots = slots.exclude(pk=allow_slot.pk)
    if slots.exists():
        raise Conflict("That time is held for someone else or blocked.")


def _slot_row(*, staff, program, starts_at, ends_at, mode, location, actor, availability_id=None) -> Slot:
    """The Slot row at (staff, start), made or reused. Caller holds the staff lock."""
    slot = Slot.objects.filter(staff=staff, starts_at=starts_at).first()
    if slot is None:
        try:
            with transaction.atomic():
                return Slot.objects.create(project_id=staff.project_id, program=program, staff=staff,
                                           starts_at=starts_at, ends_at=ends_at, mode=mode, location=location,
                                           created_by=actor, availability_id=availability_id)
        except IntegrityError:
            # SQLite ignores row locks: another booker made the row first.
            raise Conflict("That time was just taken. Pick another.") from None
    slot.ends_at, slot.mode, slot.location, slot.program = ends_at, mode, location, program
    return slot


def _release(slot: Slot | None) -> None:
    if slot is not None and slot.status in (Slot.Status.HELD, Slot.Status.BOOKED):
        slot.status, slot.held_until = Slot.Status.FREE, None
        slot.save(update_fields=["status", "held_until", "updated_at"])


def _history(obj, actor, reason: str = "") -> None:
    obj._history_user = actor if getattr(actor, "is_authenticated", False) else None
    obj._change_reason = reason[:100] if reason else None


def _when(visit: Visit) -> str:
    local = visit.starts_at.astimezone(visit.tz)
    return f"{local:%a %b} {local.day}, {local:%H:%M} ({visit.timezone})"


def _notify(visit: Visit, event_type: str, *, to_patient: bool, to_staff: bool, extra: str = "") -> None:

    context = {"when": _when(visit), "with": visit.staff.user.get_full_name(), "mode": visit.get_mode_display(),
               "patient_name": visit.patient.full_name, "reason": extra}
    if to_patient and visit.patient.user_id:
        notify(event_type=event_type, recipients=[visit.patient.user], context=context,
               key=f"{event_type}:{visit.pk}:patient", patient=visit.patient, link=f"/portal/visits/{visit.pk}/")
    if to_staff:
        notify(event_type=event_type, recipients=[visit.staff.user], context=context,
               key=f"{event_type}:{visit.pk}:staff", patient=visit.patient, link=f"/schedule/visits/{visit.pk}/")


# --- Booking ---------------------------------------------------------------------------

def visit_book(*, patient, staff: StaffMember, starts_at: datetime, ends_at: datetime, actor, mode: str,
               visit_type: str = Visit.Type.CONSULTATION, reason: str = "", location: str = "",
               arrival: str = Arrival.SCHEDULED, patient_initiated: bool = False, held_slot: Slot | None = None,
               rescheduled_from: Visit | None = None, availability_id=None, request=None,
               now: datetime | None = None) -> Visit:
    """Book `patient` with `staff` for [starts_at, ends_at). Raises Conflict when the
    time is taken. `held_slot`: a hold made for this booking (a confirmed proposal)."""
    now = now or timezone.now()
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise SchedulingError("Times must carry a timezone.")
    if ends_at <= starts_at:
        raise SchedulingError({"ends_at": "The visit must end after it starts."})
    if ends_at - starts_at > timedelta(hours=8):
        raise SchedulingError({"ends_at": "A visit can't be longer than eight hours."})
    if mode not in Mode.values:
        raise SchedulingError({"mode": "Pick video or in person."})
    if visit_type not in Visit.Type.values:
        raise SchedulingError({"visit_type": "Unknown visit type."})
    _check_staff_for(staff, patient, mode)
    try:
        with transaction.atomic():
            _lock_staff(staff)
            _check_free(staff=staff, patient=patient, starts_at=starts_at, ends_at=ends_at, now=now,
                        allow_slot=held_slot)
            slot = _slot_row(staff=staff, program=patient.program, starts_at=starts_at, ends_at=ends_at, mode=mode,
                             location=location, actor=actor, availability_id=availability_id)
            slot.status, slot.held_until = Slot.Status.BOOKED, None
            slot.save()
            visit = Visit(project_id=patient.project_id, program_id=patient.program_id, patient=patient,
                          staff=staff, slot=slot, visit_type=visit_type, arrival=arrival, mode=mode,
                          location=location, reason=reason.strip(), starts_at=starts_at, ends_at=ends_at,
                          timezone=str(patient.tz), patient_initiated=patient_initiated,
                          rescheduled_from=rescheduled_from, created_by=actor)
            _history(visit, actor, "Rescheduled" if rescheduled_from else "Booked")
            with transaction.atomic():
                visit.save()
            if mode == Mode.VIRTUAL:

                telehealth.session_for(visit)
            # In the booking's transaction (issue 20 fault 3): a process that dies after the commit
            # can't leave a booked visit without its outbox rows.
            _notify(visit, "visit_booked", to_patient=not patient_initiated or rescheduled_from is not None,
                    to_staff=patient_initiated)
    except IntegrityError:
        # The database's own no-overlap / one-visit-per-slot rule fired (a race the
        # lock didn't cover, e.g. SQLite): the same answer as the check above.
        raise Conflict("That time was just taken. Pick another.") from None
    audit.record(request=request, actor=actor, action="write", resource="scheduling", patient=patient,
                 object_id=visit.pk, metadata={"what": "visit_booked", "starts_at": starts_at.isoformat(),
                                               "staff": str(staff.pk), "patient_initiated": patient_initiated})
    return visit


def patient_self_book(*, patient, actor, staff_id, starts_at: datetime, visit_type: str = Visit.Type.CONSULTATION,
                      reason: str = "", request=None, now: datetime | None = None) -> Visit:
    """A patient books an open slot in the portal (program policy self_book)."""

    now = now or timezone.now()
    if booking_policy(patient.program) != "self_book":
        raise SchedulingError("Your program books visits for you. Send a request instead.")
    earliest, latest = booking_window(patient.program, now)
    if not earliest <= starts_at <= latest:
        raise SchedulingError("That time is outside the booking window.")
    staff = StaffMember.objects.select_related("user").filter(pk=staff_id, project_id=patient.project_id,
                                                              is_active=True).first()
    if staff is None or (not staff.is_verified and verified_only(patient.program)):
        raise SchedulingError("Pick a time from the list.")
    open_slot = slots.find_open_slot(staff=staff, starts_at=starts_at, program=patient.program, now=now)
    if open_slot is None:
        raise Conflict("That time is no longer available. Pick another.")
    return visit_book(patient=patient, staff=staff, starts_at=open_slot.starts_at, ends_at=open_slot.ends_at,
                      actor=actor, mode=open_slot.mode, location=open_slot.location, visit_type=visit_type,
                      reason=reason, patient_initiated=True, availability_id=open_slot.availability_id,
                      request=request, now=now)


# --- The visit status machine -----------------------------------------------------------

S = Visit.Status
# Seed 003's machine, plus PLANNED → NO_SHOW: a patient who never arrives is never checked in.
TRANSITIONS: dict[str, set[str]] = {
    S.PLANNED: {S.CHECKED_IN, S.CANCELLED, S.NO_SHOW},
    S.CHECKED_IN: {S.IN_PROGRESS, S.NO_SHOW, S.CANCELLED},
    S.IN_PROGRESS: {S.COMPLETED, S.CANCELLED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
    S.NO_SHOW: set(),
}
TRANSITION_LABELS = {S.CHECKED_IN: "Check in", S.IN_PROGRESS: "Start visit", S.COMPLETED: "Complete",
                     S.NO_SHOW: "Mark no-show", S.CANCELLED: "Cancel"}


def allowed_transitions(visit: Visit, now: datetime | None = None) -> list[str]:
    """The buttons a clinician sees now (cancel has its own form; no-show only once it has started)."""
    now = now or timezone.now()
    return [s for s in (S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED, S.NO_SHOW) if s in TRANSITIONS[visit.status]
            and not (s == S.NO_SHOW and now < visit.starts_at)]


def _locked(visit: Visit) -> Visit:
    return Visit.objects.select_for_update(of=("self",)).select_related("patient__program", "staff__user", "slot").get(
        pk=visit.pk)


def visit_transition(*, visit: Visit, to: str, actor, reason: str = "", request=None,
                     now: datetime | None = None) -> Visit:
    """Move a visit along its status machine; InvalidTransition otherwise."""
    if to == S.CANCELLED:
        return visit_cancel(visit=visit, actor=actor, reason=reason, request=request, now=now)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(visit)
        if to not in S.values or to not in TRANSITIONS[locked.status]:
            raise InvalidTransition(f"A visit that is {locked.get_status_display().lower()} can't be moved to "
                                    f"{S(to).label.lower() if to in S.values else to!r}.")
        if to == S.NO_SHOW and now < locked.starts_at:
            raise InvalidTransition("A visit can't be a no-show before it starts.")
        before = locked.status
        locked.status = to
        stamp = {S.CHECKED_IN: "checked_in_at", S.IN_PROGRESS: "started_at", S.COMPLETED: "completed_at"}.get(to)
        if stamp:
            setattr(locked, stamp, now)
        if to == S.NO_SHOW:
            _release(locked.slot)
        _history(locked, actor, reason)
        locked.save()
        session = getattr(locked, "session", None) if locked.is_virtual else None
        if session is not None:

            telehealth.on_visit_status(session, locked, now)
    audit.record(request=request, actor=actor, action="update", resource="scheduling", patient=locked.patient,
                 object_id=locked.pk, metadata={"what": "visit_status", "from": before, "to": to})
    visit.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return locked


def visit_cancel(*, visit: Visit, actor, reason: str, request=None, now: datetime | None = None,
                 notify: bool = True) -> Visit:
    """Cancel, keeping the visit, who cancelled, when and why; the slot is free again."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError({"reason": "Say why the visit is cancelled."})
    with transaction.atomic():
        locked = _locked(visit)
        if S.CANCELLED not in TRANSITIONS[locked.status]:
            raise InvalidTransition(f"A visit that is {locked.get_status_display().lower()} can't be cancelled.")
        by_patient = is_own(actor, locked.patient)
        locked.status, locked.cancel_reason = S.CANCELLED, reason[:500]
        locked.cancelled_at, locked.cancelled_by = now, actor
        _history(locked, actor, f"Cancelled: {reason}")
        locked.save()
        _release(locked.slot)
        session = getattr(locked, "session", None) if locked.is_virtual else None
        if session is not None:

            telehealth.on_visit_status(session, locked, now)
        if notify:
            _notify(locked, "visit_cancelled", to_patient=not by_patient, to_staff=by_patient, extra=reason)
    audit.record(request=request, actor=actor, action="update", resource="scheduling", patient=locked.patient,
                 object_id=locked.pk, metadata={"what": "visit_cancelled", "reason": reason[:200],
                                                "by_patient": by_patient})
    visit.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return locked


def visit_reschedule(*, visit: Visit, actor, starts_at: datetime, ends_at: datetime | None = None,
                     staff: StaffMember | None = None, reason: str, request=None,
                     now: datetime | None = None) -> Visit:
    """Move a planned visit: this one is cancelled ("Rescheduled: reason") and a new
    one, pointing back at it, is booked, both in one transaction."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError({"reason": "Say why the visit moves."})
    staff = staff or visit.staff
    ends_at = ends_at or starts_at + (visit.ends_at - visit.starts_at)
    if visit.status != S.PLANNED:
        raise InvalidTransition("Only a planned visit can be rescheduled.")
    by_patient = is_own(actor, visit.patient)
    with transaction.atomic():
        _lock_staff(visit.staff, staff)
        visit_cancel(visit=visit, actor=actor, reason=f"Rescheduled: {reason}", request=request, now=now,
                     notify=False)
        new = visit_book(patient=visit.patient, staff=staff, starts_at=starts_at, ends_at=ends_at, actor=actor,
                         mode=visit.mode, visit_type=visit.visit_type, reason=visit.reason, location=visit.location,
                         arrival=visit.arrival, patient_initiated=by_patient or visit.patient_initiated,
                         rescheduled_from=visit, request=request, now=now)
        if by_patient:
            _notify(new, "visit_booked", to_patient=False, to_staff=True)
    return new


# --- Blocked time ------------------------------------------------------------------------

def time_block(*, staff: StaffMember, starts_at: datetime, ends_at: datetime, actor, note: str = "",
               now: datetime | None = None) -> Slot:
    """Block time in a staff member's calendar (no slots are offered there)."""
    now = now or timezone.now()
    if ends_at <= starts_at:
        raise SchedulingError({"ends_at": "The block must end after it starts."})
    with transaction.atomic():
        _lock_staff(staff)
        _check_free(staff=staff, patient=None, starts_at=starts_at, ends_at=ends_at, now=now)
        slot = _slot_row(staff=staff, program=None, starts_at=starts_at, ends_at=ends_at, mode=Mode.IN_PERSON,
                         location="", actor=actor)
        slot.status, slot.note = Slot.Status.BLOCKED, note[:200]
        slot.save()
    audit.record(actor=actor, action="write", resource="scheduling", object_id=slot.pk,
                 project=staff.project, metadata={"what": "time_blocked", "starts_at": starts_at.isoformat()})
    return slot


def time_unblock(*, slot: Slot, actor) -> None:
    if slot.status == Slot.Status.BLOCKED:
        slot.status = Slot.Status.FREE
        slot.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, action="update", resource="scheduling", object_id=slot.pk,
                     project=slot.staff.project, metadata={"what": "time_unblocked"})


# --- Visit requests -----------------------------------------------------------------------

R = VisitRequest.Status

# Words that commonly signal urgency in a request's reason (issue 21 item 3). A program's
# (else the project's) setting replaces the list: one term per line or comma-separated.
# A term's words must appear in order, each as a word start ("faint" finds "fainted"),
# with up to three words between them ("chest tight" finds "chest feels tight").
URGENCY_TERMS_KEY = "scheduling.urgency_terms"
DEFAULT_URGENCY_TERMS = (
    "chest pain", "pain chest", "chest tight", "tight chest", "chest pressure", "pressure chest", "chest hurts",
    "short breath", "breathless", "can't breathe", "cannot breathe", "trouble breathing", "faint", "passed out",
    "blacked out", "collapse", "bleeding", "blood in", "slurred speech", "face droop", "numb", "stroke",
    "heart racing", "palpitation", "suicid", "overdose",
)
URGENCY_GAP_WORDS = 3


def urgency_terms_for(program) -> list[str]:
    raw = config.get_setting(URGENCY_TERMS_KEY, program=program, project=program.project if program else None)
    if not (raw or "").strip():
        return list(DEFAULT_URGENCY_TERMS)
    return [t.strip() for t in re.split(r"[\n,;]+", raw) if t.strip()]


def _term_pattern(term: str) -> re.Pattern:
    words = [re.escape(w) for w in term.lower().split()]
    gap = rf"(?:\W+\w+){{0,{URGENCY_GAP_WORDS}}}?\W+"
    return re.compile(r"\b" + gap.join(w + r"\w*" for w in words), re.IGNORECASE)


def urgency_matches(text: str, *, program) -> list[str]:
    """The program's urgency terms found in `text` (decision support, not triage: it
    does not understand negation, "no chest pain" is flagged too - safer that way)."""
    text = text or ""
    return [term for term in urgency_terms_for(program) if _term_pattern(term).search(text)]



def request_create(*, patient, actor, reason: str, request_type: str = Arrival.SCHEDULED,
                   mode: str = Mode.VIRTUAL, preferred_date=None, window_start=None, window_end=None,
                   reason_category: str = "", request=None, now: datetime | None = None) -> VisitRequest:
    now = now or timezone.now()
    errors = {}
    if is_own(actor, patient) and booking_policy(patient.program) == "view_only":
        raise SchedulingError("Your program arranges visits for you. Message your care team to ask for one.")
    if not (reason or "").strip():
        errors["reason"] = "Tell us what the visit is about."
    if request_type not in Arrival.values:
        errors["request_type"] = "Pick walk-in or scheduled."
    if mode not in Mode.values:
        errors["mode"] = "Pick video or in person."
    if preferred_date and preferred_date < now.astimezone(patient.tz).date():
        errors["preferred_date"] = "Pick today or a later date."
    if window_start and window_end and window_end <= window_start:
        errors["window_end"] = "The window must end after it starts."
    if errors:
        raise SchedulingError(errors)
    terms = urgency_matches(f"{reason_category} {reason}", program=patient.program)
    req = VisitRequest(project_id=patient.project_id, program_id=patient.program_id, patient=patient,
                       request_type=request_type, mode=mode, preferred_date=preferred_date,
                       window_start=window_start, window_end=window_end, reason=reason.strip()[:2000],
                       reason_category=reason_category[:60], created_by=actor, urgency_terms=terms,
                       urgent_review=bool(terms))
    _history(req, actor, "Requested" + (" (flagged for immediate review)" if terms else ""))
    req.save()
    audit.record(request=request, actor=actor, action="write", resource="scheduling", patient=patient,
                 object_id=req.pk, metadata={"what": "visit_requested", "type": request_type,
                                             "urgency_terms": terms})
    return req


def _locked_request(req: VisitRequest) -> VisitRequest:
    return VisitRequest.objects.select_for_update(of=("self",)).select_related("patient__program", "proposed_slot").get(
        pk=req.pk)


def request_triage(*, req: VisitRequest, actor, severity: str, note: str = "", request=None) -> VisitRequest:

    if severity not in Severity.values:
        raise SchedulingError({"severity": "Pick a severity."})
    with transaction.atomic():
        locked = _locked_request(req)
        if locked.status not in VisitRequest.OPEN:
            raise InvalidTransition("This request is closed.")
        locked.severity, locked.triage_note = severity, note.strip()[:500]
        locked.triaged_by, locked.triaged_at = actor, timezone.now()
        if locked.status == R.NEW:
            locked.status = R.TRIAGED
        _history(locked, actor, f"Triaged {severity}")
        locked.save()
    audit.record(request=request, actor=actor, action="update", resource="scheduling", patient=locked.patient,
                 object_id=locked.pk, metadata={"what": "request_triaged", "severity": severity})
    return locked


def request_propose(*, req: VisitRequest, actor, staff: StaffMember, starts_at: datetime, ends_at: datetime,
                    mode: str | None = None, location: str = "", request=None, now: datetime | None = None
                    ) -> VisitRequest:
    """Hold a slot for the patient to confirm until the program's hold deadline."""
    now = now or timezone.now()
    mode = mode or req.mode
    _check_staff_for(staff, req.patient, mode)
    with transaction.atomic():
        locked = _locked_request(req)
        if locked.status not in VisitRequest.OPEN:
            raise InvalidTransition("This request is closed.")
        _release(locked.proposed_slot)
        _lock_staff(staff)
        _check_free(staff=staff, patient=locked.patient, starts_at=starts_at, ends_at=ends_at, now=now)
        slot = _slot_row(staff=staff, program=locked.patient.program, starts_at=starts_at, ends_at=ends_at,
                         mode=mode, location=location, actor=actor)
        deadline = min(now + timedelta(minutes=hold_minutes(locked.patient.program)), starts_at)
        slot.status, slot.held_until = Slot.Status.HELD, deadline
        slot.save()
        locked.proposed_slot, locked.hold_expires_at = slot, deadline
        locked.status, locked.mode = R.AWAITING_PATIENT_CONFIRMATION, mode
        if locked.triaged_at is None:
            locked.triaged_by, locked.triaged_at = actor, now
        _history(locked, actor, "Slot proposed")
        locked.save()
    audit.record(request=request, actor=actor, action="update", resource="scheduling", patient=locked.patient,
                 object_id=locked.pk, metadata={"what": "slot_proposed", "starts_at": starts_at.isoformat(),
                                                "held_until": deadline.isoformat()})
    return locked


def request_confirm(*, req: VisitRequest, actor, visit_type: str = Visit.Type.CONSULTATION, request=None,
                    now: datetime | None = None) -> Visit:
    """The patient accepts the proposed slot: the request becomes a visit."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_request(req)
        slot = locked.proposed_slot
        if locked.status != R.AWAITING_PATIENT_CONFIRMATION or slot is None:
            raise InvalidTransition("There is no proposed time to confirm.")
        if not slot.is_held(now):
            raise Conflict("The proposed time has expired. Your care team will propose another.")
        visit = visit_book(patient=locked.patient, staff=slot.staff, starts_at=slot.starts_at, ends_at=slot.ends_at,
                           actor=actor, mode=slot.mode, location=slot.location, visit_type=visit_type,
                           reason=locked.reason, arrival=locked.request_type, held_slot=slot,
                           patient_initiated=True, request=request, now=now)
        locked.status, locked.visit, locked.hold_expires_at = R.CONVERTED_TO_VISIT, visit, None
        _history(locked, actor, "Confirmed")
        locked.save()
    return visit


def request_book(*, req: VisitRequest, actor, staff: StaffMember, starts_at: datetime, ends_at: datetime,
                 visit_type: str = Visit.Type.CONSULTATION, mode: str | None = None, location: str = "",
                 request=None, now: datetime | None = None) -> Visit:
    """Staff turn a request straight into a visit (walk-ins, phone agreement)."""
    with transaction.atomic():
        locked = _locked_request(req)
        if locked.status not in VisitRequest.OPEN:
            raise InvalidTransition("This request is closed.")
        _release(locked.proposed_slot)
        visit = visit_book(patient=locked.patient, staff=staff, starts_at=starts_at, ends_at=ends_at, actor=actor,
                           mode=mode or locked.mode, location=location, visit_type=visit_type,
                           reason=locked.reason, arrival=locked.request_type, patient_initiated=True,
                           request=request, now=now)
        locked.status, locked.visit = R.CONVERTED_TO_VISIT, visit
        locked.proposed_slot, locked.hold_expires_at = None, None
        if locked.triaged_at is None:
            locked.triaged_by, locked.triaged_at = actor, timezone.now()
        _history(locked, actor, "Booked by staff")
        locked.save()
    return visit


def request_decline(*, req: VisitRequest, actor, request=None) -> VisitRequest:
    """The patient can't make the proposed time: back to the queue for another."""
    with transaction.atomic():
        locked = _locked_request(req)
        if locked.status != R.AWAITING_PATIENT_CONFIRMATION:
            raise InvalidTransition("There is no proposed time to decline.")
        _release(locked.proposed_slot)
        locked.status, locked.proposed_slot, locked.hold_expires_at = R.TRIAGED, None, None
        _history(locked, actor, "Proposed time declined")
        locked.save()
    audit.record(request=request, actor=actor, action="update", resource="scheduling", patient=locked.patient,
                 object_id=locked.pk, metadata={"what": "proposal_declined"})
    return locked


def request_cancel(*, req: VisitRequest, actor, reason: str = "", request=None) -> VisitRequest:
    with transaction.atomic():
        locked = _locked_request(req)
        if locked.status not in VisitRequest.OPEN:
            raise InvalidTransition("This request is already closed.")
        _release(locked.proposed_slot)
        locked.status, locked.cancel_reason = R.CANCELLED, (reason or "").strip()[:500]
        locked.proposed_slot, locked.hold_expires_at = None, None
        _history(locked, actor, "Cancelled")
        locked.save()
    audit.record(request=request, actor=actor, action="update", resource="scheduling", patient=locked.patient,
                 object_id=locked.pk, metadata={"what": "request_cancelled"})
    return locked


def release_expired_holds(now: datetime | None = None) -> int:
    """Beat: free held slots past their deadline; their requests go back to triage."""
    now = now or timezone.now()
    released = 0
    expired = list(Slot.objects.filter(status=Slot.Status.HELD, held_until__lte=now).values_list("pk", flat=True))
    for pk in expired:
        with transaction.atomic():
            slot = Slot.objects.select_for_update().filter(pk=pk, status=Slot.Status.HELD,
                                                           held_until__lte=now).first()
            if slot is None:
                continue  # confirmed or re-proposed meanwhile
            _release(slot)
            for req in VisitRequest.objects.select_for_update().filter(
                    proposed_slot=slot, status=R.AWAITING_PATIENT_CONFIRMATION):
                req.status, req.proposed_slot, req.hold_expires_at = R.TRIAGED, None, None
                _history(req, None, "Hold expired")
                req.save()
            released += 1
    return released


# --- Reminders ------------------------------------------------------------------------------

def send_due_reminders(now: datetime | None = None) -> int:
    """Beat: one reminder per visit and offset, to the patient and the clinician, when
    the offset's moment has passed and the visit hasn't started. Idempotent (the
    notification key), and only for visits booked before that moment."""

    now = now or timezone.now()
    sent = 0
    offsets_by_program: dict = {}
    visits = (Visit.objects.filter(status=S.PLANNED, starts_at__gt=now, starts_at__lte=now + timedelta(days=14))
              .select_related("patient__user", "patient__program", "patient__project", "staff__user")
              .order_by("starts_at"))
    for visit in visits:
        offsets = offsets_by_program.setdefault(visit.program_id, reminder_offsets(visit.patient.program))
        due = [o for o in offsets if visit.starts_at - timedelta(minutes=o) <= now
               and visit.created_at <= visit.starts_at - timedelta(minutes=o)]
        if not due:
            continue
        offset = min(due)  # the nearest one only: no burst of stale reminders after an outage
        key = f"visit-reminder:{visit.pk}:{offset}"
        if Notification.objects.filter(idempotency_key__startswith=f"{key}:").exists():
            continue
        context = {"when": _when(visit), "with": visit.staff.user.get_full_name(),
                   "mode": visit.get_mode_display(), "patient_name": visit.patient.full_name}
        recipients = [u for u in (visit.patient.user, visit.staff.user) if u is not None]
        for user in recipients:
            link = f"/portal/visits/{visit.pk}/" if visit.patient.user_id == user.pk else \
                f"/schedule/visits/{visit.pk}/"
            notify(event_type="visit_reminder", recipients=[user], context=context, key=key,
                   patient=visit.patient, link=link, now=now)
        sent += 1
    return sent
