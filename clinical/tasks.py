"""Celery tasks of the rules engine. Thin: ids in, clinical.alerting does the work."""

from celery import shared_task

from clinical import alerting
from patients.models import Patient

EVALUATE_CHUNK = 200


@shared_task(name="clinical.evaluate_patient", acks_late=True)
def evaluate_patient(patient_id: str) -> int:
    """Run the rules for one patient (after an ingest, a manual entry, or nightly).
    Idempotent: a re-run updates the open alerts instead of adding any."""
    patient = Patient.objects.select_related("program", "project").filter(pk=patient_id).first()
    if patient is None:
        return 0
    return sum(1 for o in alerting.evaluate_patient(patient) if o.result.fired)


@shared_task(name="clinical.evaluate_patients", acks_late=True)
def evaluate_patients(patient_ids: list[str]) -> int:
    return sum(evaluate_patient(pk) for pk in patient_ids)


@shared_task(name="clinical.evaluate_all")
def evaluate_all() -> int:
    """Beat (nightly): every active patient of every active program, in chunks of
    EVALUATE_CHUNK ids per task so one slow patient doesn't hold up the rest."""
    ids = (Patient.objects.filter(status=Patient.Status.ACTIVE, program__is_active=True, project__is_active=True)
           .order_by("pk").values_list("pk", flat=True))
    chunk, queued = [], 0
    for pk in ids.iterator(chunk_size=2000):
        chunk.append(str(pk))
        if len(chunk) == EVALUATE_CHUNK:
            evaluate_patients.delay(chunk)
            queued += len(chunk)
            chunk = []
    if chunk:
        evaluate_patients.delay(chunk)
        queued += len(chunk)
    return queued


@shared_task(name="clinical.escalate_alerts")
def escalate_alerts() -> int:
    """Beat (every 5 minutes): unacknowledged critical alerts past their time go to the leads."""
    return alerting.escalate_due()
