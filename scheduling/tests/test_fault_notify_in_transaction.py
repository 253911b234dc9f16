"""Issue 20 fault 3: an event's outbox rows are written in the event's transaction, so a
process that dies right after the commit can't leave a booked visit without notifications,
and a rolled-back booking leaves none."""

import pytest
from django.db import transaction

from messaging.models import Notification
from scheduling import services
from scheduling.models import Visit
from scheduling.tests.factories import book

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for SIGKILL right after the booking committed."""


def test_a_process_dying_after_the_booking_commits_leaves_its_notifications(world, monkeypatch):
    def die(*args, **kwargs):
        raise WorkerKilled

    # The first thing after the booking's transaction: the audit record.
    monkeypatch.setattr(services.audit, "record", die)
    with pytest.raises(WorkerKilled):
        book(world.me, world.clinician, reason="Check wound")
    visit = Visit.objects.get(patient=world.me)
    rows = Notification.objects.filter(idempotency_key__startswith=f"visit_booked:{visit.pk}:")
    assert rows.filter(recipient=world.patient_user).exists()


def test_a_rolled_back_booking_leaves_no_notification(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        book(world.me, world.clinician, reason="Check wound")
        assert Notification.objects.filter(event_type="visit_booked").exists()
        raise RuntimeError("the caller's transaction fails after the event")
    assert not Visit.objects.filter(patient=world.me).exists()
    assert not Notification.objects.filter(event_type="visit_booked").exists()
