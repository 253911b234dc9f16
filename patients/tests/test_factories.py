"""The factories' promises that other tests rely on."""

import pytest

from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_patients_get_realistic_unique_mrns(world):
    patients = world.cardiac_patients + world.metabolic_patients + world.foreign_patients
    mrns = [p.mrn for p in patients]
    assert all(m.startswith("MRN-") and len(m) == 10 for m in mrns), mrns
    assert len(set(mrns)) == len(mrns)
    # None is a prefix of another (a search or an export check for "MRN-1" can't hit "MRN-10").
    assert not any(a != b and b.startswith(a) for a in mrns for b in mrns)


def test_an_explicit_mrn_wins(world):
    assert PatientFactory(program=world.cardiac, mrn="CR-1").mrn == "CR-1"
