"""Test data for care: medications through the service, doses at chosen times, tasks."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

from django.utils import timezone

from care.models import Medication, MedicationDose, Task
from care.services import medications, tasks
from care.services.medications import MedicationIn


def medication(patient, actor, *, name="Metoprolol", times=(time(8), time(20)), start=None, **kwargs) -> Medication:
    data = MedicationIn(name=name, start_date=start or patient.today - timedelta(days=40), dose=Decimal("25"),
                        dose_unit="mg", schedule=medications.schedule_build(list(times)), **kwargs)
    return medications.medication_create(patient=patient, actor=actor, data=data, via="test")


def dose(med, at, status=MedicationDose.Status.SCHEDULED) -> MedicationDose:
    return MedicationDose.objects.create(project_id=med.project_id, patient=med.patient, medication=med,
                                         scheduled_at=at, local_date=at.astimezone(med.patient.tz).date(),
                                         status=status)


def task(patient, *, assignee=None, title="Call the patient", due_in_hours=24, **kwargs) -> Task:
    return tasks.task_create(patient=patient, title=title, assignee=assignee,
                             due_at=timezone.now() + timedelta(hours=due_in_hours), **kwargs)
