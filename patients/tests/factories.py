"""Patients test data. Patients get realistic, unique MRNs ("MRN-000123") so a test
that looks for a patient's MRN in a page or an export can never pass on an empty one."""

import factory

from mahalo.tests.factories import ProjectFactory
from patients.models import CareTeamLink, Patient, PatientFlag, PatientImport, Program


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Program {n}")
    timezone = "America/New_York"


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    program = factory.SubFactory(ProgramFactory)
    project = factory.SelfAttribute("program.project")
    # Zero-padded so no MRN is a prefix of another one a test searches for ("MRN-1" vs "MRN-10").
    mrn = factory.Sequence(lambda n: f"MRN-{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=25, maximum_age=90)
    sex = "female"
    email = factory.Sequence(lambda n: f"patient{n}@example.test")
    phone = factory.Sequence(lambda n: f"+1808555{n % 10000:04d}")


class PatientFlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientFlag

    patient = factory.SubFactory(PatientFactory)
    flag = PatientFlag.Flag.HIGH_RISK


class CareTeamLinkFactory(factory.django.DjangoModelFactory):
    """A link row as it is stored. It grants nothing: links that must open the
    record (an active link's guardian grant) go through patients.care_team."""

    class Meta:
        model = CareTeamLink

    patient = factory.SubFactory(PatientFactory)
    project = factory.SelfAttribute("patient.project")
    status = CareTeamLink.Status.REQUESTED


class PatientImportFactory(factory.django.DjangoModelFactory):
    """An import job without a file: enough for pages that list or show a job."""

    class Meta:
        model = PatientImport

    project = factory.SelfAttribute("created_by.staff.project")
    original_name = factory.Sequence(lambda n: f"patients-{n}.csv")
    status = PatientImport.Status.VALIDATED
