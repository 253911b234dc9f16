"""Clinical test data, stored as rows exactly as given.

These bypass the writers on purpose: a test that needs a reading classified
(interpretation, category) or an alert raised by the engine goes through
`wearables.ingest` / `clinical.alerting` (see `alert_helpers.py`); these
factories are for the rows a page or an attack needs to exist."""

from datetime import timedelta

import factory
from django.utils import timezone

from clinical.models import (
    Alert,
    BloodTest,
    ClinicalRule,
    LabOrder,
    Observation,
    Recommendation,
    RpmEpisode,
    Severity,
    Source,
    TimeEntry,
)
from patients.tests.factories import PatientFactory


class _PatientOwned(factory.django.DjangoModelFactory):
    """project and program follow the patient, as every writer sets them."""

    class Meta:
        abstract = True

    patient = factory.SubFactory(PatientFactory)
    project = factory.SelfAttribute("patient.project")
    program = factory.SelfAttribute("patient.program")


class ObservationFactory(_PatientOwned):
    class Meta:
        model = Observation

    metric = "heart_rate"
    value = 72.0
    unit = "bpm"
    # A minute apart: (patient, source, metric, effective_at) is unique.
    effective_at = factory.Sequence(lambda n: timezone.now() - timedelta(minutes=n + 1))
    source = Source.WITHINGS


class LabOrderFactory(_PatientOwned):
    class Meta:
        model = LabOrder

    ordered_by = factory.SubFactory("mahalo.tests.factories.UserFactory")
    tests = factory.LazyFunction(lambda: ["A1C"])


class BloodTestFactory(_PatientOwned):
    class Meta:
        model = BloodTest

    test_name = "A1C"
    loinc = "4548-4"
    value = 6.1
    unit = "%"
    reference_low = 4.0
    reference_high = 5.6
    recorded_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))


class ClinicalRuleFactory(factory.django.DjangoModelFactory):
    """A project-level rule unless `program` is given."""

    class Meta:
        model = ClinicalRule

    project = factory.SubFactory("mahalo.tests.factories.ProjectFactory")
    code = factory.Sequence(lambda n: f"rule_{n}")
    name = factory.Sequence(lambda n: f"Rule {n}")
    metric = "spo2"
    condition = ClinicalRule.Condition.LT
    threshold = 90.0
    severity = Severity.WARNING


class AlertFactory(_PatientOwned):
    class Meta:
        model = Alert

    rule = factory.SubFactory(ClinicalRuleFactory, project=factory.SelfAttribute("..project"))
    code = factory.SelfAttribute("rule.code")
    severity = factory.SelfAttribute("rule.severity")
    title = factory.SelfAttribute("rule.name")
    body = "Test alert"
    evidence = factory.LazyFunction(lambda: {"readings": [], "numbers": {}})


class RecommendationFactory(_PatientOwned):
    class Meta:
        model = Recommendation

    domain = Recommendation.Domain.SLEEP
    content = "Keep a regular bedtime."
    created_by = factory.SubFactory("mahalo.tests.factories.UserFactory")


class RpmEpisodeFactory(_PatientOwned):
    class Meta:
        model = RpmEpisode

    started_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=10))


class TimeEntryFactory(_PatientOwned):
    """A finished manual entry of `seconds` (default 10 minutes)."""

    class Meta:
        model = TimeEntry

    staff = factory.SubFactory("mahalo.tests.factories.UserFactory")
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    seconds = 600
    ended_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=o.seconds))
