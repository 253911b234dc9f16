"""Core test data: users, tenants, staff, settings and flags."""

import factory
from allauth.account.models import EmailAddress

from mahalo.models import (
    FeatureFlag,
    ProgramAssignment,
    ProgramSetting,
    Project,
    ProjectSetting,
    Role,
    StaffMember,
    User,
)
from mahalo.services import project_ensure_default_roles

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            EmailAddress.objects.create(user=obj, email=obj.email, verified=extracted is not False, primary=True)


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        if create:
            project_ensure_default_roles(project=obj)


def role(project: Project, name: str) -> Role:
    return Role.objects.get(project=project, name=name)


def staff(user: User) -> StaffMember:
    """The StaffMember row of a staff user (what services take as `staff=`)."""
    return StaffMember.objects.get(user=user)


def make_staff(project: Project, role_name: str, programs=(), *, email=None, is_staff=True) -> User:
    user = UserFactory(**({"email": email} if email else {}), is_staff=is_staff)
    member = StaffMember.objects.create(user=user, project=project, role=role(project, role_name))
    for program in programs:
        ProgramAssignment.objects.create(staff=member, program=program)
    return user


class ProjectSettingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectSetting

    project = factory.SubFactory(ProjectFactory)
    key = factory.Sequence(lambda n: f"setting_{n}")
    value = ""


class ProgramSettingFactory(factory.django.DjangoModelFactory):
    """`program` is required: programs live in `patients`, above this app."""

    class Meta:
        model = ProgramSetting

    key = factory.Sequence(lambda n: f"setting_{n}")
    value = ""


class FeatureFlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeatureFlag

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"flag-{n}")
    enabled = False
