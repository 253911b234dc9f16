"""The normalizing upsert: idempotent, field-by-field day merge, validation, and
what it feeds (the registry's last data received / no data in N days)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from clinical import ingest as clinical_ingest
from clinical.models import Observation
from wearables import ingest
from wearables.ingest import Daily, InvalidReading, Reading
from wearables.models import DailyMetric


def names(response):
    return {p.pk for p in response.context["page"].object_list}


@pytest.mark.django_db
def test_same_readings_twice_add_no_rows_and_changes_update_in_place(world):
    at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    readings = [Reading("heart_rate", at + timedelta(minutes=i), 60 + i) for i in range(50)]
    ingest.store(world.me, "oura", readings)
    ingest.store(world.me, "oura", readings)
    assert Observation.objects.filter(patient=world.me).count() == 50
    ingest.store(world.me, "oura", [Reading("heart_rate", at, 99)])
    assert Observation.objects.filter(patient=world.me).count() == 50
    assert Observation.objects.get(patient=world.me, effective_at=at).value == 99
    # Another source at the same moment is another row (preferred source decides later).
    ingest.store(world.me, "garmin", [Reading("heart_rate", at, 70)])
    assert Observation.objects.filter(patient=world.me, effective_at=at).count() == 2


@pytest.mark.django_db
def test_duplicates_within_one_batch_keep_the_last(world):
    at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    ingest.store(world.me, "oura", [Reading("heart_rate", at, 60), Reading("heart_rate", at, 61)])
    assert list(Observation.objects.filter(patient=world.me).values_list("value", flat=True)) == [61]


@pytest.mark.django_db
def test_days_merge_field_by_field(world):
    day = date(2026, 11, 20)
    ingest.store(world.me, "whoop", dailies=[Daily(day, {"hrv_ms": 41.0, "hrv_method": "rmssd"})])
    ingest.store(world.me, "whoop", dailies=[Daily(day, {"sleep_hours": 7.25, "hrv_ms": None})])
    metric = DailyMetric.objects.get(patient=world.me, source="whoop", date=day)
    assert (metric.hrv_ms, metric.hrv_method, metric.sleep_hours) == (41.0, "rmssd", 7.25)
    assert metric.project_id == world.project.pk and metric.program_id == world.cardiac.pk
    assert DailyMetric.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("reading", [
    Reading("not_a_metric", datetime(2026, 1, 1, tzinfo=UTC), 1),
    Reading("heart_rate", datetime(2026, 1, 1), 60),  # naive
    Reading("heart_rate", datetime(2026, 1, 1, tzinfo=UTC), float("nan")),
    Reading("hrv", datetime(2026, 1, 1, tzinfo=UTC), 40),  # no method
])
def test_invalid_readings_are_refused_and_nothing_is_stored(world, reading):
    good = Reading("heart_rate", datetime(2026, 1, 2, tzinfo=UTC), 60)
    with pytest.raises(InvalidReading):
        ingest.store(world.me, "oura", [good, reading])
    assert not Observation.objects.exists()


@pytest.mark.django_db
def test_unknown_daily_field_is_refused(world):
    with pytest.raises(InvalidReading):
        ingest.store(world.me, "oura", dailies=[Daily(date(2026, 1, 1), {"mood": 3})])


@pytest.mark.django_db
def test_last_data_feeds_the_registry(world, login):
    fresh, stale, future = world.cardiac_patients[1], world.cardiac_patients[2], world.cardiac_patients[3]
    now = timezone.now()
    ingest.store(fresh, "oura", [Reading("heart_rate", now - timedelta(hours=2), 61)])
    ingest.store(stale, "oura", [Reading("heart_rate", now - timedelta(days=9), 61)])
    # A device clock in the future never makes data look newer than now.
    ingest.store(future, "oura", [Reading("heart_rate", now + timedelta(days=30), 61)])
    for p in (fresh, stale, future):
        p.refresh_from_db()
    assert abs(fresh.last_data_at - (now - timedelta(hours=2))) < timedelta(seconds=1)
    assert future.last_data_at <= timezone.now()
    # Older data arriving later never moves it back.
    ingest.store(fresh, "garmin", [Reading("heart_rate", now - timedelta(days=20), 61)])
    fresh.refresh_from_db()
    assert abs(fresh.last_data_at - (now - timedelta(hours=2))) < timedelta(seconds=1)

    client = login(world.clinician)
    found = names(client.get("/patients/", {"no_data_days": "3"}))
    assert stale.pk in found and fresh.pk not in found and future.pk not in found
    page = client.get("/patients/", {"q": fresh.last_name})
    assert "2 hours ago" in page.content.decode().replace("\xa0", " ")


@pytest.mark.django_db
def test_data_ingested_signal_fires_after_commit(world, django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    clinical_ingest.data_ingested.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ingest.store(world.me, "oura", [Reading("heart_rate", datetime(2026, 1, 1, tzinfo=UTC), 60)],
                         [Daily(date(2026, 1, 1), {"steps": 4000})])
    finally:
        clinical_ingest.data_ingested.disconnect(receiver)
    assert len(seen) == 1
    assert seen[0]["patient_id"] == world.me.pk and seen[0]["metrics"] == {"heart_rate", "steps"}
