"""Demo data for `seed_demo` (mahalo.signals.demo_seeded): medications with 30 days of simulated dose
history for a few patients, and tasks (one per clinician) so the task list and Today count show."""

from __future__ import annotations

import random
from datetime import time, timedelta
from decimal import Decimal

from django.utils import timezone

from care.models import Medication, MedicationDose, Task
from care.services import dose_rules, medications, plans, tasks

SIMULATED = "Simulated demo data."
MEDS = [
    ("Metoprolol succinate", Decimal("25"), "mg", [time(8)], "High blood pressure", False),
    ("Apixaban", Decimal("5"), "mg", [time(8), time(20)], "Atrial fibrillation (anticoagulant)", True),
    ("Atorvastatin", Decimal("40"), "mg", [time(21)], "Cholesterol", False),
    ("Metformin", Decimal("500"), "mg", [time(8), time(18)], "Type 2 diabetes", False),
]


def on_demo_seeded(sender, demo, cardiac, metabolic, kai, cardio, lead, **kwargs):
    project = demo
    for program in (cardiac, metabolic):
        dose_rules.ensure_care_rules(program)
    plans.ensure_default_templates(project)
    if Medication.objects.filter(project=project).exists():
        return  # seeded before: seed_demo may run again
    template = plans.templates_for(kai).filter(name__startswith="Cardiac rehab").first()
    if template is not None:
        plans.plan_apply(template=template, patient=kai, actor=cardio,
                         start=kai.surgery_date or kai.today - timedelta(weeks=5), via="demo")
    rng = random.Random(16)
    now = timezone.now()
    patients = [kai] + [p for p in cardiac.patients.exclude(pk=kai.pk).order_by("mrn")[:3]] + list(
        metabolic.patients.order_by("mrn")[:2])
    for i, patient in enumerate(patients):
        chosen = MEDS[i % 2: i % 2 + 2] if i % 3 else MEDS[:3]
        for name, dose, unit, times, reason, critical in chosen:
            med = Medication.objects.create(
                project=project, program=patient.program, patient=patient, name=name, dose=dose, dose_unit=unit,
                schedule=medications.schedule_build(times), start_date=patient.today - timedelta(days=40),
                reason=reason, critical=critical, instructions="Take with water. " + SIMULATED)
            # History: the generator only fills from now; the past is simulated directly.
            Medication.objects.filter(pk=med.pk).update(created_at=now - timedelta(days=31))
            med.refresh_from_db()
            rows = []
            for at in medications.occurrences(med, now - timedelta(days=30), now + timedelta(days=1)):
                status, taken_at = MedicationDose.Status.SCHEDULED, None
                if at < now - timedelta(hours=2):
                    roll = rng.random() - (0.15 if i == 1 else 0)
                    status = ("taken" if roll > 0.12 else "missed" if roll > 0.04 else "skipped")
                    taken_at = at + timedelta(minutes=rng.randint(-20, 50)) if status == "taken" else None
                rows.append(MedicationDose(project=project, patient=patient, medication=med, scheduled_at=at,
                                           local_date=at.astimezone(patient.tz).date(), status=status,
                                           taken_at=taken_at, logged_at=taken_at, note=""))
            MedicationDose.objects.bulk_create(rows, ignore_conflicts=True)
    for j, patient in enumerate(patients):
        user = cardio if tasks.access.can(cardio, "clinical", "read", patient) else lead
        tasks.task_create(patient=patient, title=["Call about missed doses", "Review home BP log",
                                                  "Confirm medication list at next visit"][j % 3],
                          description=SIMULATED, assignee=user,
                          due_at=now + timedelta(hours=(-20 if j % 2 else 30)),
                          priority=[Task.Priority.HIGH, Task.Priority.NORMAL, Task.Priority.URGENT][j % 3],
                          via="demo")
