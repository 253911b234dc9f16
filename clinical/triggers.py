"""When the rules run: after an ingest (clinical.ingest.data_ingested), after a
manual observation entry (`queue_evaluation`), for a new program (its default
rules). The receivers are connected in clinical/apps.py."""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

from clinical.default_rules import ensure_default_rules

logger = logging.getLogger(__name__)


def queue_evaluation(patient_id) -> None:
    """Evaluate the patient's rules once the current transaction commits (at once
    outside one). For the vitals entry service and the API: call it after saving.

    A broker outage is logged, not raised: the reading is already stored, and the
    nightly `clinical.evaluate_all` run picks the patient up."""
    transaction.on_commit(lambda: _queue(str(patient_id)))


def _queue(patient_id: str) -> None:
    try:
        # By name: clinical.tasks imports alerting, which imports this module (the task is
        # registered when ClinicalConfig.ready() imports clinical.tasks).
        current_app.tasks["clinical.evaluate_patient"].apply_async(args=[patient_id], retry=False)
    except Exception:  # noqa: BLE001 - never fail the ingest that triggered us
        logger.warning("Couldn't run or queue rule evaluation for patient %s; the nightly run will",
                       patient_id, exc_info=True)


def on_data_ingested(sender, patient_id, **kwargs) -> None:
    """clinical.ingest sends this after the transaction that stored readings commits."""
    queue_evaluation(patient_id)


def on_program_saved(sender, instance, created, raw=False, **kwargs) -> None:
    """A new program starts with the default rule set."""
    if created and not raw:
        transaction.on_commit(lambda: ensure_default_rules(instance))
