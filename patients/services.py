"""Writes to the patient record. The HTML views, the API, imports and tasks all
call these, so each rule lives once: the enrollment history, the flags, the
change history (django-simple-history) and the audit trail.

Callers have already passed the gate (they hold a Patient from
`access.patient_for_request` / `get_patient_for` with the right action, or
checked `access.can(actor, "patients", "write")` for a new one).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from mahalo import access, audit
from patients.models import Patient, PatientFlag, Program, ProgramEnrollment


def _diff(patient: Patient, changes: dict) -> dict:
    return {k: v for k, v in changes.items() if getattr(patient, k) != v}


def patient_set_flags(*, patient: Patient, flags: Iterable[str]) -> tuple[set[str], set[str]]:
    """Make the patient's flags exactly `flags`; returns (added, removed)."""
    wanted = set(flags)
    unknown = wanted - set(PatientFlag.Flag.values)
    if unknown:
        raise ValueError(f"Unknown flags: {sorted(unknown)}")
    have = set(PatientFlag.objects.filter(patient=patient).values_list("flag", flat=True))
    PatientFlag.objects.bulk_create([PatientFlag(patient=patient, flag=f) for f in wanted - have])
    PatientFlag.objects.filter(patient=patient, flag__in=have - wanted).delete()
    return wanted - have, have - wanted


BATCH_SIZE = 500


def enrolment_reason(*, source: str = "") -> str:
    """Why a new record's first enrolment exists: the one wording for every way in."""
    return f"Imported from {source}"[:300] if source else "Enrolled"


@transaction.atomic
def patients_create(*, actor, rows: list[tuple[Patient, Iterable[str]]], via: str, source: str = "", request=None,
                    metadata: dict | None = None) -> list[Patient]:
    """The one writer of new patient records: the form, the API and the bulk import all end here.

    `rows` are unsaved Patients (project and program set) that passed the model's validation,
    each with its flags. Writes the records with their history, the first enrolment (reason from
    `enrolment_reason`), the flags, and one audit event per patient (`created`, `via`, flags, plus
    `metadata`, e.g. the import job), in one transaction: all or nothing."""
    wanted = [sorted(set(flags)) for _, flags in rows]
    unknown = {f for flags in wanted for f in flags} - set(PatientFlag.Flag.values)
    if unknown:
        raise ValueError(f"Unknown flags: {sorted(unknown)}")
    reason = enrolment_reason(source=source)
    patients = bulk_create_with_history([patient for patient, _ in rows], Patient, batch_size=BATCH_SIZE,
                                        default_user=actor, default_change_reason=reason[:100])
    now = timezone.now()
    ProgramEnrollment.objects.bulk_create(
        [ProgramEnrollment(patient=p, program=p.program, started_at=now, enrolled_by=actor, reason=reason)
         for p in patients], batch_size=BATCH_SIZE)
    PatientFlag.objects.bulk_create([PatientFlag(patient=p, flag=f) for p, flags in zip(patients, wanted, strict=True)
                                     for f in flags], batch_size=BATCH_SIZE)
    # One event per record, the same shape whichever way it came in (flags differ per record,
    # so records are grouped by their flags: usually one or two batches).
    by_flags: dict[tuple, list[Patient]] = {}
    for patient, flags in zip(patients, wanted, strict=True):
        by_flags.setdefault(tuple(flags), []).append(patient)
    for flags, group in by_flags.items():
        audit.record_many(action="write", request=request, actor=actor, resource="patients", patients=group,
                          metadata={"via": via, "created": True, "flags": list(flags), **(metadata or {})})
    return patients


def patient_create(*, actor, program: Program, data: dict, flags: Iterable[str] = (), request=None,
                   via: str = "web") -> Patient:
    """A new patient in `program` (which must be one the actor may write to). ValidationError
    for a record the model refuses (nothing is written)."""
    patient = Patient(project=program.project, program=program, **data)
    patient.full_clean()
    return patients_create(actor=actor, rows=[(patient, flags)], via=via, request=request)[0]


@transaction.atomic
def patient_update(*, patient: Patient, actor, changes: dict, flags: Iterable[str] | None = None, request=None,
                   via: str = "web") -> dict:
    """Apply field changes (not program or status: see move/archive) and record what changed."""
    for forbidden in ("program", "program_id", "project", "project_id", "status", "user", "user_id"):
        if forbidden in changes:
            raise ValueError(f"{forbidden} changes through its own service, not patient_update")
    changed = _diff(patient, changes)
    for field, value in changed.items():
        setattr(patient, field, value)
    flag_change = patient_set_flags(patient=patient, flags=flags) if flags is not None else (set(), set())
    if changed:
        patient._history_user = actor
        patient.full_clean()
        patient.save()
    if changed or any(flag_change):
        audit.record(action="update", request=request, actor=actor, resource="patients", patient=patient,
                     metadata={"via": via, "fields": sorted(changed), "flags_added": sorted(flag_change[0]),
                               "flags_removed": sorted(flag_change[1])})
    return changed


def can_move(*, actor, patient: Patient, program: Program | None = None) -> bool:
    """Moving a patient needs both programs in the actor's own scope: a per-patient
    (care-team) grant lets you care for someone, not take them into your program."""
    if actor is None or actor.is_superuser:
        return True
    allowed = {p.pk for p in access.program_list(actor)}
    return patient.program_id in allowed and (program is None or program.pk in allowed)


@transaction.atomic
def patient_move_program(*, patient: Patient, program: Program, actor, reason: str = "", request=None,
                         via: str = "web") -> ProgramEnrollment | None:
    """Move a patient to another program of the same tenant, keeping the history."""
    if program.project_id != patient.project_id:
        raise ValueError("A patient can only move between programs of their own tenant.")
    if program.pk == patient.program_id:
        return None
    if not can_move(actor=actor, patient=patient, program=program):
        raise PermissionDenied("You can only move patients between programs you work in.")
    now = timezone.now()
    old = patient.program
    ProgramEnrollment.objects.filter(patient=patient, ended_at__isnull=True).update(
        ended_at=now, ended_by=actor
    )
    enrollment = ProgramEnrollment.objects.create(patient=patient, program=program, started_at=now,
                                                  enrolled_by=actor, reason=reason[:300])
    patient.program = program
    patient._history_user = actor
    patient.save(update_fields=["program", "updated_at"])
    audit.record(action="update", request=request, actor=actor, resource="patients", patient=patient,
                 metadata={"via": via, "moved_from": old.name, "moved_to": program.name, "reason": reason[:300]})
    return enrollment


@transaction.atomic
def patient_set_status(*, patient: Patient, status: str, actor, reason: str = "", request=None,
                       via: str = "web") -> bool:
    """Active, paused, discharged or archived. PHI is never deleted from the UI: archive it."""
    if status not in Patient.Status.values:
        raise ValueError(f"Unknown status {status!r}")
    if patient.status == status:
        return False
    old = patient.status
    patient.status = status
    patient._history_user = actor
    patient._change_reason = reason[:100] if reason else None
    patient.save(update_fields=["status", "updated_at"])
    audit.record(action="archive" if status == Patient.Status.ARCHIVED else "update", request=request, actor=actor,
                 resource="patients", patient=patient,
                 metadata={"via": via, "status_from": old, "status_to": status, "reason": reason[:300]})
    return True


def patient_archive(*, patient: Patient, actor, reason: str = "", request=None, via: str = "web") -> bool:
    return patient_set_status(patient=patient, status=Patient.Status.ARCHIVED, actor=actor, reason=reason,
                              request=request, via=via)
