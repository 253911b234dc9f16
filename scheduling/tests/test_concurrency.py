"""Double booking under real concurrency (PostgreSQL): threads, each with its own
database connection, racing for one slot or for overlapping times of one clinician."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Mode, Slot, Visit
from scheduling.tests.factories import future, staff

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises all writers; row locks and "
                                                                "exclusion constraints are PostgreSQL's"),
]


def race(jobs):
    """Run every job at the same moment in its own thread; returns the outcomes."""
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait(timeout=30)
            job()
            outcomes[i] = "booked"
        except services.Conflict:
            outcomes[i] = "conflict"
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes[i] = repr(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _booker(patient_id, staff_id, start, minutes=30):
    def job():
        from mahalo.models import StaffMember
        from patients.models import Patient

        patient = Patient.objects.select_related("program", "project").get(pk=patient_id)
        member = StaffMember.objects.select_related("user").get(pk=staff_id)
        services.visit_book(patient=patient, staff=member, starts_at=start, ends_at=start + timedelta(minutes=minutes),
                            actor=member.user, mode=Mode.IN_PERSON)
    return job


def test_twenty_simultaneous_bookings_of_one_slot_give_exactly_one_visit(world):
    patients = [PatientFactory(program=world.cardiac) for _ in range(20)]
    member = staff(world.clinician)
    start = future(3, 10)
    outcomes = race([_booker(p.pk, member.pk, start) for p in patients])
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("conflict") == 19, outcomes
    assert Visit.objects.filter(staff=member).count() == 1
    assert Slot.objects.filter(staff=member, starts_at=start).count() == 1


def test_overlapping_bookings_for_one_clinician_are_refused(world):
    patients = [PatientFactory(program=world.cardiac) for _ in range(12)]
    member = staff(world.clinician)
    base = future(4, 9)
    # Starts 2 minutes apart, 30 minutes long: every pair overlaps.
    outcomes = race([_booker(p.pk, member.pk, base + timedelta(minutes=2 * i)) for i, p in enumerate(patients)])
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("conflict") == 11, outcomes
    visits = list(Visit.objects.filter(staff=member))
    assert len(visits) == 1


def test_different_clinicians_book_the_same_time_in_parallel(world):
    member_a, member_b = staff(world.clinician), staff(world.lead)
    start = future(5, 11)
    outcomes = race([_booker(world.cardiac_patients[1].pk, member_a.pk, start),
                     _booker(world.cardiac_patients[2].pk, member_b.pk, start)])
    assert outcomes == ["booked", "booked"]
