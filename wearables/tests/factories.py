"""Wearables test data. Readings and daily values that must be classified or
merged go through `wearables.ingest.store` (the one writer); these factories
make the rows around them: connections (tokens encrypted like the real ones),
sync logs and their failures, stored daily values, provider pushes."""

from datetime import timedelta

import factory
from django.utils import timezone

from patients.tests.factories import PatientFactory
from wearables import sync
from wearables.models import Connection, DailyMetric, SyncFailure, SyncLog, WebhookEvent


class ConnectionFactory(factory.django.DjangoModelFactory):
    """A linked connection; `access_token` / `refresh_token` are stored encrypted."""

    class Meta:
        model = Connection
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    project = factory.SelfAttribute("patient.project")
    provider = "oura"
    status = Connection.Status.LINKED

    @factory.post_generation
    def access_token(obj, create, extracted, **kwargs):
        # The model's property encrypts; a plain field value would skip mahalo.crypto.
        obj.access_token = "at-1" if extracted is None else extracted

    @factory.post_generation
    def refresh_token(obj, create, extracted, **kwargs):
        obj.refresh_token = "rt-1" if extracted is None else extracted
        if create:
            obj.save()


class SyncLogFactory(factory.django.DjangoModelFactory):
    """A queued sync of a connection (source and trigger as the operator command writes them)."""

    class Meta:
        model = SyncLog

    connection = factory.SubFactory(ConnectionFactory)
    patient = factory.SelfAttribute("connection.patient")
    project = factory.SelfAttribute("connection.project")
    source = factory.SelfAttribute("connection.provider")
    trigger = SyncLog.Trigger.COMMAND


def run_sync(connection: Connection):
    """Run one sync of `connection` now, as `manage.py sync_wearables` does."""
    return sync.run(SyncLogFactory(connection=connection).pk)


class SyncFailureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncFailure

    sync_log = factory.SubFactory(SyncLogFactory)
    endpoint = "/v2/sleep"
    error = "unreadable"
    raw = "{}"


class DailyMetricFactory(factory.django.DjangoModelFactory):
    """A stored day (as given: no preferred-source merge)."""

    class Meta:
        model = DailyMetric

    patient = factory.SubFactory(PatientFactory)
    project = factory.SelfAttribute("patient.project")
    program = factory.SelfAttribute("patient.program")
    # One day apart: (patient, date, source) is unique.
    date = factory.Sequence(lambda n: timezone.localdate() - timedelta(days=n + 1))
    source = "oura"
    resting_hr = 60.0


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    provider = "garmin"
    summary_type = "dailies"
    body = '{"userId": "x"}'
