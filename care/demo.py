"""Demo data for `seed_demo` (mahalo.signals.demo_seeded): medications with 30 days of simulated dose
history for a few patients, and tasks (one per clinician) so the task list and Today count show; rehab's
default library (exercises, phases, routines, activities: `ensure_library`, also every tenant's on first use)
and simulated rehab data for the demo patient (`on_demo_seeded_rehab`)."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from care.models import (
    Activity,
    Exercise,
    ExerciseLog,
    Goal,
    Medication,
    MedicationDose,
    RehabSession,
    SleepLog,
    Task,
    TherapyPhase,
    TherapyRoutine,
)
from care.services import dose_rules, medications, plans, rehab, scores, tasks

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


SIMULATED = "Simulated demo data."
EXERCISES = [
    ("Walking", "aerobic", "", "Walk at a pace where you can talk but not sing. Warm up and cool down 5 minutes.",
     "Chest pain, dizziness, unusual breathlessness", "walk,hike"),
    ("Stationary cycling", "aerobic", "Exercise bike", "Low resistance, steady cadence.",
     "Chest pain, dizziness", "cycl,bike,biking,ride"),
    ("Sit-to-stand", "strength", "Chair", "Stand up from a chair without using your hands, sit down slowly.",
     "Sternal pain (first 6 weeks after sternotomy: no pushing with the arms)", ""),
    ("Calf stretch", "flexibility", "Wall", "Hands on the wall, one leg back, heel down; hold 30 seconds.", "", ""),
    ("Single-leg stand", "balance", "Chair for support", "Stand on one leg holding the chair; 10-30 seconds.",
     "Dizziness", ""),
]
PHASES = [
    ("Phase I: early recovery", 1, 0, 1, "Walking in short bouts; no lifting over 5 kg.",
     ["Medically stable", "Walking 5 minutes unassisted"], ["Walks 10 minutes twice a day", "No chest pain at rest"]),
    ("Phase II: supervised rehab", 2, 2, 12, "No lifting over 5 kg until week 6; no driving until cleared.",
     ["Referred to cardiac rehab", "Exercise test done"],
     ["30 minutes of moderate exercise 5 days a week", "RPE 11-14 at target heart rate", "Attended 36 sessions"]),
    ("Phase III: maintenance", 3, 13, 52, "", ["Completed phase II"], ["Exercising independently 150 min/week"]),
]
ACTIVITIES = [("Driving", 4), ("Lifting more than 5 kg", 6), ("Returning to work (desk)", 6),
              ("Sexual activity", 4), ("Swimming", 8)]


def ensure_library(project) -> None:
    """The tenant's default exercises, phases (with a routine each) and activities (idempotent)."""
    for name, category, equipment, instructions, contra, words in EXERCISES:
        if not Exercise.objects.filter(project=project, program__isnull=True, name=name).exists():
            try:
                with transaction.atomic():
                    Exercise.objects.create(project=project, name=name, category=category, equipment=equipment,
                                            instructions=instructions, contraindications=contra,
                                            device_keywords=words)
            except IntegrityError:
                pass
    if not TherapyPhase.objects.filter(project=project, program__isnull=True).exists():
        walking = Exercise.objects.get(project=project, program__isnull=True, name="Walking")
        for name, order, start, end, restrictions, entry, exit_ in PHASES:
            phase = TherapyPhase.objects.create(project=project, name=name, order=order, week_start=start,
                                                week_end=end, restrictions=restrictions, entry_criteria=entry,
                                                exit_criteria=exit_)
            TherapyRoutine.objects.create(project=project, phase=phase, name=f"{name.split(':')[0]} walking",
                                          frequency="daily" if order == 1 else "5 days a week",
                                          items=[{"exercise": str(walking.pk), "minutes": [10, 30, 40][order - 1],
                                                  "sessions_per_week": [7, 5, 5][order - 1], "hrr_low": "0.40",
                                                  "hrr_high": ["0.50", "0.60", "0.70"][order - 1]}])
    if not Activity.objects.filter(project=project, program__isnull=True).exists():
        for i, (name, week) in enumerate(ACTIVITIES, 1):
            Activity.objects.create(project=project, name=name, usual_week=week, order=i)


def on_demo_seeded_rehab(sender, demo, cardiac, metabolic, kai, cardio, lead, **kwargs):
    ensure_library(demo)
    if ExerciseLog.objects.filter(patient=kai).exists():
        return  # seeded before
    changed = []
    for name, value in (("resting_heart_rate", 68), ("max_heart_rate", 140)):
        if not getattr(kai, name):
            setattr(kai, name, value)
            changed.append(name)
    if not kai.surgery_date:
        kai.surgery_date = kai.today - timedelta(weeks=5)
        changed.append("surgery_date")
    if changed:
        kai.save(update_fields=changed)
    walking = Exercise.objects.get(project=demo, program__isnull=True, name="Walking")
    start = kai.today - timedelta(days=21)
    rx = rehab.prescription_create(patient=kai, actor=cardio, via="demo", data=rehab.PrescriptionIn(
        exercise=walking, minutes=20, sessions_per_week=4, hrr_low=Decimal("0.40"), hrr_high=Decimal("0.60"),
        rpe_low=11, rpe_high=13, start_date=start, progression=[{"week": 3, "minutes": 30, "sessions_per_week": 5}],
        notes=SIMULATED))
    rng = random.Random(17)
    low, high = rehab.hr_zone(rx)
    for d in range(14, 0, -1):
        day = kai.today - timedelta(days=d)
        if rng.random() < 0.35:
            continue
        at = datetime.combine(day, time(7, 30), tzinfo=kai.tz)
        avg = rng.randint(low - 6, high - 2)
        rehab.exercise_log(patient=kai, actor=kai.user, via="demo", now=at + timedelta(hours=1), data=rehab.LogIn(
            duration_min=rng.choice([20, 25, 30]), performed_at=at, prescription=rx, avg_hr=avg,
            max_hr=min(avg + rng.randint(4, 10), high), rpe=rng.choice([11, 12, 13]), notes=SIMULATED))
        if rng.random() < 0.7:
            SleepLog.objects.get_or_create(patient=kai, night=day, defaults={
                "project": demo, "quality": rng.randint(2, 5), "interruptions": rng.randint(0, 3),
                "notes": SIMULATED})
    for k in range(6):
        day = kai.today - timedelta(days=2 + 3 * k)
        RehabSession.objects.create(project=demo, patient=kai, local_date=day,
                                    starts_at=datetime.combine(day, time(9), tzinfo=kai.tz),
                                    status="attended" if k != 2 else "absent", notes=SIMULATED, recorded_by=cardio)
    Goal.objects.get_or_create(patient=kai, title="Walk 150 minutes a week", defaults={
        "project": demo, "kind": "therapy", "category": "activity", "metric": "exercise_minutes",
        "target_value": 150, "baseline_value": 0, "unit": "min", "description": SIMULATED})
    for d in range(7, 0, -1):
        scores.day_score(kai, kai.today - timedelta(days=d))
