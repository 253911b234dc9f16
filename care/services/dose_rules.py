"""Missed doses of critical medications reach clinical's rules engine (issue 16: "N of the last M
for a medication flagged critical raise an alert").

When doses become missed, care writes, per patient, one observation `critical_doses_missed`: the
largest number of missed doses among the last M doses with a known outcome of any one critical
medication (setting `care.critical_window_doses`, default 6), at the time they were marked (only a
run that marks new doses writes, so nothing repeats). The default rule `care_critical_doses_missed` (program-level, like
nutrition's) fires at N or more (setting `care.critical_missed_doses`, default 2), through the
same engine, queue, dry run and notifications as vitals. Why an observation rather than a direct
alert: the threshold is then a rule a program can edit, disable or override like every other."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from care.models import Medication, MedicationDose
from mahalo import config

METRIC = "critical_doses_missed"
RULE_CODE = "care_critical_doses_missed"
WINDOW_SETTING = "care.critical_window_doses"
DEFAULT_WINDOW = 6


def register_metrics() -> None:
    from clinical.units import register_metric

    register_metric(METRIC, "Critical medication doses missed (of the last N)", "doses", pint_unit="count")


def care_rules() -> list[dict]:
    from clinical.models import ClinicalRule, Severity

    return [dict(code=RULE_CODE, name="Critical medication: doses missed", metric=METRIC,
                 condition=ClinicalRule.Condition.GTE, threshold=2, threshold_setting="care.critical_missed_doses",
                 window_days=1, severity=Severity.WARNING, action=ClinicalRule.Action.NOTIFY, priority=40,
                 description="A medication flagged critical (e.g. an anticoagulant) has N (setting "
                             "care.critical_missed_doses, default 2) or more missed doses among its last M doses "
                             "(setting care.critical_window_doses, default 6). Notifies the care team.")]


def ensure_care_rules(program) -> int:
    """Create the program's missing care rules (idempotent by code; an admin's edits are kept)."""
    from clinical.models import ClinicalRule

    have = set(ClinicalRule.objects.filter(program=program, code__startswith="care_").values_list("code", flat=True))
    created = 0
    for spec in care_rules():
        if spec["code"] in have:
            continue
        try:
            with transaction.atomic():
                ClinicalRule.objects.create(project_id=program.project_id, program=program, **spec)
        except IntegrityError:
            continue
        created += 1
    return created


def on_program_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        transaction.on_commit(lambda: ensure_care_rules(instance))


def record_missed(dose_ids: list, now) -> int:
    """After doses became missed: write the critical-dose count of each patient concerned."""
    from clinical.ingest import Reading, store

    newly = (MedicationDose.objects.filter(pk__in=dose_ids, medication__critical=True,
                                           medication__status=Medication.Status.ACTIVE)
             .select_related("patient__program", "medication").order_by("scheduled_at"))
    by_patient: dict = {}
    for d in newly:
        by_patient.setdefault(d.patient_id, (d.patient, []))[1].append(d)
    written = 0
    for patient, doses in by_patient.values():
        window = config.get_int(WINDOW_SETTING, DEFAULT_WINDOW, project=patient.project) or DEFAULT_WINDOW
        worst, detail = 0, {}
        for med in {d.medication for d in doses}:
            last = list(med.doses.exclude(status=MedicationDose.Status.SCHEDULED).order_by("-scheduled_at")
                        .values_list("status", flat=True)[:window])
            missed = sum(1 for s in last if s == MedicationDose.Status.MISSED)
            if missed >= worst:
                worst, detail = missed, {"medication": med.name, "medication_id": str(med.pk), "of_last": len(last)}
        # At the time they were found missed: the rule's window is "recent news", and one marking run
        # writes one row per patient (the run's clock is the same for all).
        written += store(patient, "patient", [Reading(METRIC, now, float(worst), details=detail)])
    return written
