"""access.load: the one loader for protected rows (404 for missing and forbidden, audited)."""

import uuid

import pytest
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone

from clinical.tests.alert_helpers import reading
from mahalo import access
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().get("/x/")
    request.user = user
    return request


def _obs(world, patient):
    from clinical.models import Observation

    reading(patient, "heart_rate", 71, timezone.now())
    return Observation.objects.filter(patient=patient).get()


def test_in_scope_row_loads_and_the_read_is_audited(world):
    from clinical.models import Observation

    obs = _obs(world, world.me)
    got = access.load(_request(world.clinician), Observation.objects, obs.pk, resource="clinical")
    assert got == obs
    event = AuditEvent.objects.filter(action="read", object_id=str(obs.pk)).get()
    assert event.patient_id == world.me.pk and event.actor_id == world.clinician.pk


@pytest.mark.parametrize("who", ["other_clinician", "outsider", "patient_user"])
def test_out_of_scope_row_is_404_and_the_denial_is_audited(world, who):
    from clinical.models import Observation

    patient = world.cardiac_patients[1]  # not the portal patient: kai may only see himself
    obs = _obs(world, patient)
    with pytest.raises(Http404):
        access.load(_request(getattr(world, who)), Observation.objects, obs.pk, resource="clinical")
    assert AuditEvent.objects.filter(action="denied", object_id=str(obs.pk), patient=patient).exists()


@pytest.mark.parametrize("pk", [uuid.uuid4(), "not-a-uuid", 12])
def test_missing_or_malformed_id_is_404(world, pk):
    from clinical.models import Observation

    with pytest.raises(Http404):
        access.load(_request(world.lead), Observation.objects, pk, resource="clinical")


def test_follows_a_path_to_the_patient(world):
    from clinical.models import Observation

    obs = _obs(world, world.metabolic_patients[0])
    # Observation -> patient -> program is not a patient path; `patient` is, and scope follows it.
    with pytest.raises(Http404):
        access.load(_request(world.clinician), Observation.objects.select_related("patient"), obs.pk,
                    resource="clinical", via="patient")
    assert access.load(_request(world.other_clinician), Observation.objects, obs.pk, resource="clinical") == obs
