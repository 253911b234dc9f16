"""The one writer of readings (clinical.ingest): an upsert that reports each write once,
moves the patient's last data time, and is what wearables' store goes through."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from clinical import ingest
from clinical.ingest import InvalidReading, Reading
from clinical.models import Observation


@pytest.fixture
def sent():
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    ingest.data_ingested.connect(receiver)
    yield seen
    ingest.data_ingested.disconnect(receiver)


@pytest.mark.django_db
def test_store_upserts_classifies_and_reports_once_after_commit(world, sent, django_capture_on_commit_callbacks):
    at = timezone.now() - timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        written = ingest.store(world.me, "patient", [Reading("blood_pressure", at, 185.0, 125.0, context="home"),
                                                     Reading("heart_rate", at, 61.0)])
    assert written == 2
    bp = Observation.objects.get(patient=world.me, metric="blood_pressure")
    assert (bp.category, bp.unit) == ("crisis", "mmHg")
    assert sent == [{"signal": ingest.data_ingested, "patient_id": world.me.pk, "source": "patient",
                     "metrics": {"blood_pressure", "heart_rate"}, "days": set()}]
    world.me.refresh_from_db()
    assert world.me.last_data_at == at
    with django_capture_on_commit_callbacks(execute=True):
        ingest.store(world.me, "patient", [Reading("heart_rate", at, 64.0)])
    assert Observation.objects.filter(patient=world.me).count() == 2
    assert Observation.objects.get(patient=world.me, metric="heart_rate").value == 64.0


@pytest.mark.django_db
def test_an_invalid_reading_stores_nothing_and_sends_nothing(world, sent, django_capture_on_commit_callbacks):
    good = Reading("heart_rate", datetime(2026, 1, 2, tzinfo=UTC), 60)
    with pytest.raises(InvalidReading), django_capture_on_commit_callbacks(execute=True):
        ingest.store(world.me, "patient", [good, Reading("heart_rate", datetime(2026, 1, 1), 60)])
    assert not Observation.objects.filter(patient=world.me).exists() and sent == []


@pytest.mark.django_db
def test_wearables_days_and_readings_are_one_write_through_clinicals_writer(world, sent,
                                                                             django_capture_on_commit_callbacks):
    from wearables import ingest as wearables_ingest

    at = datetime(2026, 1, 1, 7, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        stored = wearables_ingest.store(world.me, "oura", [Reading("heart_rate", at, 60)],
                                        [wearables_ingest.Daily(date(2026, 1, 1), {"steps": 4000})])
    assert (stored.readings, stored.days) == (1, 1)
    assert len(sent) == 1 and sent[0]["metrics"] == {"heart_rate", "steps"} and sent[0]["days"] == {date(2026, 1, 1)}
