"""The care team: which staff members look after a patient (CareTeamLink), and
the access an active link gives them.

States and who moves a link between them (the views check who; this module
checks what is allowed):

    (none) ──request──▶ requested ──approve──▶ active ──end──▶ ended
                          │  │                   │              │
                          │  └──decline──▶ ended │              └──request again──▶ requested
                          └───────block──────────┴──block──▶ blocked   (final)

- An active link is exactly one django-guardian grant, `view_patient` on the
  patient for the staff member's user, which `mahalo.access` reads to widen a
  program-scoped staff member's scope to that one patient (never across
  tenants; the role still decides what they may do). Entering `active` assigns
  it, leaving `active` removes it in the same transaction: grants never drift
  from the state.
- `blocked` is final: a blocked pair can't be requested or added again, and
  nothing in the product lifts a block today (a future "unblock" belongs here,
  never in an admin form that edits `status`).
- Every change is written to the audit trail (`resource="patients"`, the
  patient, metadata `{"care_team": {"staff", "from", "to"}}`).

Services take keyword arguments only, and callers have passed the gate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from mahalo import access, audit, events
from mahalo.models import ProgramAssignment, Role, StaffMember
from patients.models import CareTeamLink, Patient

Status = CareTeamLink.Status

# The transitions `care_team_transition` makes. `ended → requested` happens only
# through `care_team_request` (a new request after an ended link).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.REQUESTED: frozenset({Status.ACTIVE, Status.ENDED, Status.BLOCKED}),
    Status.ACTIVE: frozenset({Status.ENDED, Status.BLOCKED}),
    Status.ENDED: frozenset(),
    Status.BLOCKED: frozenset(),
}

VERBS = {Status.ACTIVE: "approved", Status.ENDED: "ended", Status.BLOCKED: "blocked"}


class TransitionError(ValueError):
    """A care-team change the state machine doesn't allow (shown to the user as is)."""


def _email(staff: StaffMember) -> str:
    return staff.user.email


def _sync_grant(link: CareTeamLink) -> None:
    """Make the guardian grant match the link's state: present iff active. Idempotent."""
    user = link.staff.user
    if link.status == Status.ACTIVE:
        assign_perm(access.GRANT_CODENAME, user, link.patient)
    else:
        remove_perm(access.GRANT_CODENAME, user, link.patient)


def _forget_scope(request, link: CareTeamLink) -> None:
    # The gate caches a user's granted patients for one request; when the grant
    # that changed is the requesting user's own, the cache is stale.
    if request is not None and getattr(request.user, "pk", None) == link.staff.user_id:
        request.user.__dict__.pop("_gate_scope", None)


def _audit(*, link: CareTeamLink, actor, request, before: str | None, via: str, action: str = "update",
           note: str = "") -> None:
    data = {"staff": _email(link.staff), "from": before, "to": link.status, "link": str(link.pk)}
    if note:
        data["note"] = note
    audit.record(action=action, request=request, actor=actor, resource="patients", patient=link.patient,
                 object_id=link.pk, metadata={"care_team": data, "via": via})


def _check_staff(*, patient: Patient, staff: StaffMember) -> None:
    if staff.project_id != patient.project_id:
        raise ValidationError("That staff member works for another organisation and can't join this care team.")
    if not staff.is_active or not staff.user.is_active:
        raise ValidationError(f"{staff.user} is no longer active and can't join a care team.")


def _locked(link_id) -> CareTeamLink:
    # Lock the link row only, not the patient and staff rows it reads with it:
    # concurrent clicks on the same link queue up here and see each other's result.
    return CareTeamLink.objects.select_for_update(of=("self",)).select_related(
        "patient__project", "staff__user", "staff__role"
    ).get(pk=link_id)


@transaction.atomic
def care_team_request(*, patient: Patient, staff: StaffMember, actor, note: str = "", request=None,
                      via: str = "web") -> CareTeamLink:
    """Ask for `staff` to join `patient`'s care team.

    Returns the existing link when one is already requested or active (so
    requesting twice changes nothing), turns an ended link back into a request,
    and refuses a blocked pair, a staff member of another tenant and an inactive
    one (ValidationError)."""
    _check_staff(patient=patient, staff=staff)
    note = (note or "").strip()[:300]
    link = CareTeamLink.objects.select_for_update(of=("self",)).filter(patient=patient, staff=staff).first()
    if link is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent request may have created it
                link = CareTeamLink.objects.create(project_id=patient.project_id, patient=patient, staff=staff,
                                                   status=Status.REQUESTED, requested_by=actor, note=note)
        except IntegrityError:
            link = CareTeamLink.objects.select_for_update(of=("self",)).get(patient=patient, staff=staff)
        else:
            link.patient, link.staff = patient, staff
            _audit(link=link, actor=actor, request=request, before=None, via=via, action="write", note=note)
            _notify_requested(link, actor)
            return link
    link.patient, link.staff = patient, staff
    if link.status in (Status.REQUESTED, Status.ACTIVE):
        return link
    if link.status == Status.BLOCKED:
        raise ValidationError(f"{staff.user} can't be added to this care team: the link was blocked.")
    # ended → requested: a fresh request.
    before = link.status
    link.status = Status.REQUESTED
    link.requested_by = actor
    link.note = note
    link.activated_at = None
    link.ended_at = None
    link.save(update_fields=["status", "requested_by", "note", "activated_at", "ended_at", "updated_at"])
    _sync_grant(link)
    _audit(link=link, actor=actor, request=request, before=before, via=via, note=note)
    _notify_requested(link, actor)
    return link


def _notify_requested(link: CareTeamLink, actor) -> None:
    """Tell the staff member a patient asked for them (not when staff add a colleague themselves)."""
    if actor is None or actor == link.staff.user or access.is_staff_user(actor):
        return
    # Delivered by messaging (its receiver of mahalo.events): patients sits below messaging.
    events.emit("care_team_request", recipients=[link.staff.user], patient=link.patient,
                context={"patient_name": link.patient.full_name, "note": link.note}, link="/care-team/requests/",
                key=f"care-team-request:{link.pk}:{link.updated_at.isoformat()}")


@transaction.atomic
def care_team_transition(*, link: CareTeamLink, to: str, actor, request=None, via: str = "web",
                         from_states: Iterable[str] | None = None) -> CareTeamLink:
    """Move a link along the state machine (see the module docstring), keeping
    the guardian grant in step. Raises TransitionError for anything else.

    `from_states` narrows where the move may start (checked on the locked row):
    "decline" is requested → ended only, "end" is active → ended only."""
    if to not in TRANSITIONS:
        raise TransitionError(f"{to!r} is not a care-team state.")
    locked = _locked(link.pk)
    before = locked.status
    if to not in TRANSITIONS[before] or (from_states is not None and before not in set(from_states)):
        raise TransitionError(_refusal(locked, to))
    now = timezone.now()
    locked.status = to
    fields = ["status", "updated_at"]
    if to == Status.ACTIVE:
        locked.activated_at = now
        locked.ended_at = None
        fields += ["activated_at", "ended_at"]
    elif to in (Status.ENDED, Status.BLOCKED):
        locked.ended_at = now
        fields.append("ended_at")
    locked.save(update_fields=fields)
    _sync_grant(locked)
    _forget_scope(request, locked)
    _audit(link=locked, actor=actor, request=request, before=before, via=via)
    # Keep the caller's object in step with the row.
    for field in ("status", "activated_at", "ended_at", "updated_at"):
        setattr(link, field, getattr(locked, field))
    return locked


def _refusal(link: CareTeamLink, to: str) -> str:
    who = str(link.staff.user)
    current = link.get_status_display().lower()
    if link.status == to:
        return f"{who}'s care-team link is already {current}."
    if link.status == Status.BLOCKED:
        return f"{who}'s care-team link is blocked; it can't be changed here."
    if link.status == Status.ENDED and to == Status.ACTIVE:
        return f"{who}'s care-team link has ended. Add them to the care team again instead."
    if link.status == Status.ENDED:
        return f"{who}'s care-team link has already ended."
    if link.status == Status.ACTIVE and to == Status.ENDED:
        return f"{who} is already on the care team: end their link instead of declining it."
    if link.status == Status.REQUESTED and to == Status.ENDED:
        return f"{who}'s request is still pending: decline it instead of ending it."
    return f"A {current} care-team link can't be {VERBS.get(to, to)}."


# The buttons: action name → (states it may start from, target state).
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({Status.REQUESTED}), Status.ACTIVE),
    "decline": (frozenset({Status.REQUESTED}), Status.ENDED),
    "end": (frozenset({Status.ACTIVE}), Status.ENDED),
    "block": (frozenset({Status.REQUESTED, Status.ACTIVE}), Status.BLOCKED),
}
DONE = {"approve": "approved", "decline": "declined", "end": "ended", "block": "blocked"}


def care_team_act(*, link: CareTeamLink, action: str, actor, request=None, via: str = "web") -> CareTeamLink:
    """approve / decline / end / block, as the buttons name them."""
    if action not in ACTIONS:
        raise TransitionError(f"{action!r} is not a care-team action.")
    from_states, to = ACTIONS[action]
    return care_team_transition(link=link, to=to, actor=actor, request=request, via=via, from_states=from_states)


@transaction.atomic
def care_team_add(*, patient: Patient, staff: StaffMember, actor, request=None, via: str = "web") -> CareTeamLink:
    """A staff member with patients:update on the patient puts a colleague of the
    same project straight onto the care team (request + approve in one step)."""
    link = care_team_request(patient=patient, staff=staff, actor=actor, request=request, via=via)
    if link.status == Status.REQUESTED:
        link = care_team_transition(link=link, to=Status.ACTIVE, actor=actor, request=request, via=via)
    return link


# --- Reads ----------------------------------------------------------------------

def _links(qs: QuerySet[CareTeamLink]) -> QuerySet[CareTeamLink]:
    return qs.select_related("staff__user", "staff__role", "requested_by")


def request_to_staff(*, staff: StaffMember, link_id) -> CareTeamLink:
    """A care-team link addressed to `staff` (who may answer it even when the patient is outside
    their scope: the patient asked for them), in their own tenant; Http404 for any other link,
    missing or malformed alike. The one loader that deliberately bypasses the patient gate: it
    can only ever return the caller's own links."""
    try:
        uuid.UUID(str(link_id))
    except ValueError:
        raise Http404 from None
    link = (CareTeamLink.objects.select_related("staff__user", "patient")
            .filter(pk=link_id, staff=staff, patient__project_id=staff.project_id).first())
    if link is None:
        raise Http404("No such request.")
    return link


def care_team_for(patient: Patient) -> QuerySet[CareTeamLink]:
    """The patient's active care team (staff, user and role in the same query)."""
    return _links(CareTeamLink.objects.filter(patient=patient, status=Status.ACTIVE)).order_by(
        "staff__user__full_name", "staff__user__email"
    )


def links_for(patient: Patient) -> list[CareTeamLink]:
    """Every link of the patient, newest change first (one query)."""
    return list(_links(CareTeamLink.objects.filter(patient=patient)).order_by("-updated_at"))


def pending_requests_for_staff(staff: StaffMember | None) -> QuerySet[CareTeamLink]:
    """Requests addressed to `staff`, oldest first, with the patient and program."""
    if staff is None:
        return CareTeamLink.objects.none()
    return (
        CareTeamLink.objects.filter(staff=staff, status=Status.REQUESTED, patient__project_id=staff.project_id)
        .select_related("patient__program", "requested_by")
        .order_by("updated_at")
    )


def active_links_for_staff(staff: StaffMember | None) -> QuerySet[CareTeamLink]:
    if staff is None:
        return CareTeamLink.objects.none()
    return (
        CareTeamLink.objects.filter(staff=staff, status=Status.ACTIVE, patient__project_id=staff.project_id)
        .select_related("patient__program")
        .order_by("patient__last_name", "patient__first_name")
    )


def project_staff(project_id) -> QuerySet[StaffMember]:
    """Active staff (with an active login) of one project."""
    return (
        StaffMember.objects.filter(project_id=project_id, is_active=True, user__is_active=True)
        .select_related("user", "role")
        .order_by("user__full_name", "user__email")
    )


def requestable_staff(patient: Patient) -> QuerySet[StaffMember]:
    """Whom a patient may ask for from the portal: active staff of their own
    project who work in their program (assigned to it, or with a whole-project
    role), not already requested, on the team, or blocked."""
    taken = CareTeamLink.objects.filter(patient=patient).exclude(status=Status.ENDED).values("staff_id")
    in_program = ProgramAssignment.objects.filter(program_id=patient.program_id).values("staff_id")
    return (
        project_staff(patient.project_id)
        .filter(Q(role__scope=Role.SCOPE_GLOBAL) | Q(pk__in=in_program))
        .exclude(pk__in=taken)
    )


def addable_staff(patient: Patient) -> QuerySet[StaffMember]:
    """Whom staff may add to the patient's care team: any active colleague of the
    patient's project not already requested, on the team, or blocked."""
    taken = CareTeamLink.objects.filter(patient=patient).exclude(status=Status.ENDED).values("staff_id")
    return project_staff(patient.project_id).exclude(pk__in=taken)


def portal_status(patient: Patient) -> str:
    """`none` (no login), `disabled`, `invited` (no password chosen yet) or `active`."""
    user = patient.user
    if user is None:
        return "none"
    if not user.is_active:
        return "disabled"
    return "active" if user.has_usable_password() else "invited"


def care_team_context(request, patient: Patient, *, message: str = "", message_level: str = "") -> dict:
    """Everything templates/patients/_care_team.html needs, for the chart view
    (`context.update(care_team_context(request, patient))`) and the HTMX re-render."""
    user = request.user
    links = links_for(patient)
    can_manage = access.can(user, "patients", "update", patient)
    viewer = access.staff_of(user)
    pending = [x for x in links if x.status == Status.REQUESTED]
    for link in pending:
        # The requested staff member may answer their own request.
        link.viewer_answers = viewer is not None and link.staff_id == viewer.pk
    active = sorted((x for x in links if x.status == Status.ACTIVE),
                    key=lambda x: ((x.staff.user.full_name or x.staff.user.email).lower()))
    return {
        # The chart includes `{% include care_team_template %}` when this is set.
        "care_team_template": "patients/_care_team.html",
        "care_team": {
            "patient": patient,
            "active": active,
            "pending": pending,
            "past": [x for x in links if x.status in (Status.ENDED, Status.BLOCKED)],
            "can_manage": can_manage,
            "addable": list(addable_staff(patient)) if can_manage else [],
            "portal_status": portal_status(patient),
            "pending_actions": [("approve", "Approve"), ("decline", "Decline"), ("block", "Block")],
            "answer_actions": [("approve", "Accept"), ("decline", "Decline")],
            "message": message,
            "message_level": message_level,
        }
    }
