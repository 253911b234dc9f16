import factory

from mahalo.tests.factories import ProjectFactory
from patients.models import Patient, Program


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
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=25, maximum_age=90)
    sex = "female"
    email = factory.Sequence(lambda n: f"patient{n}@example.test")
    phone = factory.Sequence(lambda n: f"+1808555{n % 10000:04d}")
