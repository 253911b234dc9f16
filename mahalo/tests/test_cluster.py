"""Scale past one machine (issue 20): named queues, exactly one beat, read replicas, PgBouncer-safe
streaming and planner statistics after bulk loads. `make cluster-test` runs the whole topology."""

import os
import time
import uuid
from datetime import timedelta

import pytest
import redis
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from mahalo import beat, db, queues, replicas
from mahalo.celery import app
from mahalo.models import AuditEvent, Project
from mahalo.tests.factories import ProjectFactory
from patients.models import Patient

# ---------------------------------------------------------------- queues

# Every task that exists today and the queue it must land on. The safety path (a reading's rules,
# alerts, notifications, a ringing call's timeout) never waits behind a sync, a file or a batch.
EXPECTED_QUEUES = {
    "messaging.deliver_notification": "notifications",
    "messaging.sweep_outbox": "notifications",
    "clinical.evaluate_patient": "notifications",
    "clinical.escalate_alerts": "notifications",
    "scheduling.expire_unanswered_call": "notifications",
    "scheduling.sweep_unanswered_calls": "notifications",
    "wearables.run_sync": "sync",
    "wearables.schedule_syncs": "sync",
    "wearables.sweep_stale_syncs": "sync",
    "wearables.process_webhook_event": "sync",
    "wearables.sweep_webhook_events": "sync",
    "wearables.import_apple_health": "sync",
    "wearables.sweep_apple_health_imports": "sync",
    "patients.import_patients": "sync",
    "patients.requeue_stalled_imports": "sync",
    "assessments.wellness_process": "ml",
    "assessments.wellness_sweep": "ml",
    # The nightly batch goes to default: thousands of evaluations must not flood notifications.
    "clinical.evaluate_all": "default",
    "clinical.evaluate_patients": "default",
    "assessments.generate_due": "default",
    "assessments.expire_and_remind": "default",
    "scheduling.release_expired_holds": "default",
    "scheduling.send_visit_reminders": "default",
    "scheduling.prepare_video_room": "default",
    "care.generate_doses": "default",
    "care.mark_missed_doses": "default",
    "nutrition.send_food_log_reminders": "default",
    "mahalo.ping": "default",
}


def _queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_every_existing_task_lands_on_its_queue():
    app.loader.import_default_modules()
    registered = {name for name in app.tasks if not name.startswith("celery.")}
    missing = set(EXPECTED_QUEUES) - registered
    assert not missing, f"tasks renamed or gone: {missing}"
    wrong = {name: _queue_of(name) for name, queue in EXPECTED_QUEUES.items() if _queue_of(name) != queue}
    assert not wrong
    # A task added later lands on one of the five, never on a queue no worker consumes.
    assert {_queue_of(name) for name in registered} <= set(queues.QUEUES)


@pytest.mark.parametrize(
    ("name", "queue"),
    [
        ("reports.render_patient_summary", "reports"),
        ("clinical.render_pdf_letter", "reports"),
        ("patients.export_fhir_bundle", "reports"),
        ("assessments.wellness_retrain", "ml"),
        ("messaging.send_digest", "notifications"),
        ("wearables.backfill", "sync"),
        ("care.something_new", "default"),
    ],
)
def test_future_tasks_are_routed_by_their_names(name, queue):
    assert _queue_of(name) == queue


def test_every_queue_is_declared_and_long_tasks_are_acknowledged_late(settings):
    assert [q.name for q in app.conf.task_queues] == list(queues.QUEUES)
    assert app.conf.task_default_queue == "default"
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    # Redis must not hand a running long task to a second worker.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= 3600


def test_procfile_runs_a_worker_per_queue():
    from pathlib import Path

    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    for queue in queues.QUEUES:
        assert f"worker -Q {queue} " in procfile
    assert procfile.count("celery -A mahalo beat") == 1


# ---------------------------------------------------------------- exactly one beat


@pytest.fixture
def redis_client():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("REDIS_URL"):
            pytest.fail(f"REDIS_URL={url} is set but unreachable")
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


@pytest.fixture
def lease_key(redis_client):
    key = f"test:beat:{uuid.uuid4().hex}"
    yield key
    redis_client.delete(key)


def test_one_lease_holder_and_takeover_after_expiry(redis_client, lease_key):
    a = beat.Lease(redis_client, lease_key, ttl=0.5)
    b = beat.Lease(redis_client, lease_key, ttl=0.5)
    assert a.hold() and not b.hold()
    assert a.hold() and not b.hold()  # renewal keeps it
    time.sleep(0.7)  # a stopped renewing (paused, died): the lease runs out
    assert b.hold()
    assert not a.hold()  # a cannot renew what b holds now
    b.release()
    assert a.hold()


@pytest.fixture
def two_beats(monkeypatch):
    """two_beats(lease_factory): two beat schedulers as two processes would run them, their sends
    of the probe recorded."""
    made = []

    def make(lease_factory):
        monkeypatch.setattr(beat.SingleBeatScheduler, "lease_factory", staticmethod(lease_factory))
        sent = []
        for index in range(2):
            scheduler = beat.SingleBeatScheduler(app=app)
            scheduler.__dict__["producer"] = None  # tasks run eagerly (conftest); nothing reaches a broker

            def recording(entry, producer=None, advance=True, _send=scheduler.apply_async, _i=index, **kw):
                if entry.name.startswith("test-probe"):
                    sent.append((_i, entry.name))
                return _send(entry, producer=producer, advance=advance, **kw)

            scheduler.apply_async = recording
            made.append(scheduler)
        return made[-2:], sent

    yield make
    for scheduler in made:
        scheduler._finalize.cancel()  # its at-exit save would find the test database gone


def _leases(redis_client, lease_key):
    return lambda: beat.Lease(redis_client, lease_key, ttl=3)


def _probe(seconds: int) -> PeriodicTask:
    """A periodic task due now, then every `seconds`."""
    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name=f"test-probe-{uuid.uuid4().hex[:6]}",
        task="mahalo.ping",
        interval=every,
        last_run_at=timezone.now() - timedelta(hours=1),
    )


@pytest.mark.django_db(transaction=True)
def test_two_beats_send_periodic_work_once(redis_client, lease_key, two_beats):
    _probe(1)
    (first, second), sent = two_beats(_leases(redis_client, lease_key))
    started = time.monotonic()
    while time.monotonic() - started < 3.5:
        first.tick()
        second.tick()
        time.sleep(0.1)
    senders = {i for i, _ in sent}
    assert len(senders) == 1, sent  # only the lease holder sent
    # Once a second (the first send is due at once), not once per beat.
    assert 2 <= len(sent) <= 5, sent


@pytest.mark.django_db(transaction=True)
def test_without_the_lease_two_beats_would_double_send(two_beats):
    # The control: what the lease prevents (the same probe, two plain database schedulers).
    _probe(1)
    (first, second), sent = two_beats(lambda: None)
    for _ in range(3):
        first.tick()
        second.tick()
        time.sleep(0.1)
    assert {i for i, _ in sent} == {0, 1}


@pytest.mark.django_db(transaction=True)
def test_a_beat_taking_over_does_not_repeat_what_the_holder_sent(redis_client, lease_key, two_beats):
    probe = _probe(60)
    (first, second), sent = two_beats(_leases(redis_client, lease_key))
    for _ in range(3):
        first.tick()
        second.tick()
    assert len(sent) == 1  # the holder sent the due probe once
    # The probe's run is in the database at once (CELERY_BEAT_SYNC_EVERY=1)...
    assert PeriodicTask.objects.get(pk=probe.pk).last_run_at is not None
    # ...so when the holder dies (its lease gone), the other beat takes over and waits a minute.
    redis_client.delete(lease_key)
    first.lease.held = False
    for _ in range(3):
        second.tick()
    assert second.lease.held
    assert len(sent) == 1, sent


# ---------------------------------------------------------------- read replicas


@pytest.fixture
def replica(monkeypatch):
    """A replica is configured; the router's choices are recorded and every query still runs on
    the test database (`decisions` lists "replica" where a read would have gone there)."""
    decisions = []
    choose = replicas.ReplicaRouter.db_for_read

    def spy(self, model, **hints):
        decisions.append(choose(self, model, **hints))
        return "default"

    monkeypatch.setattr(replicas, "has_replica", lambda: True)
    monkeypatch.setattr(replicas.ReplicaRouter, "db_for_read", spy)
    return decisions


def _choices(decisions, fn):
    decisions.clear()
    response = fn()
    assert decisions, "no read went through the router"
    return response, decisions.count("replica")


def test_without_a_replica_the_router_is_inert():
    router = replicas.ReplicaRouter()
    with replicas.replica_reads():
        assert router.db_for_read(Project) == "default"
    assert router.db_for_write(Project) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_go_to_the_replica_only_when_cleared_and_outside_transactions(monkeypatch):
    monkeypatch.setattr(replicas, "has_replica", lambda: True)
    router = replicas.ReplicaRouter()
    assert router.db_for_read(Project) == "default"  # a task, a command: the primary
    with replicas.replica_reads():
        assert router.db_for_read(Project) == "replica"
        assert router.db_for_write(Project) == "default"
        with transaction.atomic():
            assert router.db_for_read(Project) == "default"  # must see its own writes
        with replicas.primary():
            assert router.db_for_read(Project) == "default"
    assert router.allow_migrate("default", "mahalo") and not router.allow_migrate("replica", "mahalo")


@pytest.mark.django_db(transaction=True)
def test_a_users_reads_stay_on_the_primary_after_their_write(replica, world, login, monkeypatch, settings):
    settings.REPLICA_PIN_SECONDS = 5
    client = login(world.lead)
    response, on_replica = _choices(replica, lambda: client.get("/patients/"))
    assert response.status_code == 200 and on_replica > 0
    assert replicas.PIN_COOKIE not in response.cookies
    # A write (any unsafe method) pins this client's reads to the primary.
    response = client.post("/notifications/read-all/", {})
    assert replicas.PIN_COOKIE in response.cookies
    response, on_replica = _choices(replica, lambda: client.get("/patients/"))
    assert response.status_code == 200 and on_replica == 0
    # Once the pin has run out, reads go back to the replica.
    later = time.time() + 6
    monkeypatch.setattr(replicas.time, "time", lambda: later)
    response, on_replica = _choices(replica, lambda: client.get("/patients/"))
    assert response.status_code == 200 and on_replica > 0
    # A forged or tampered pin is ignored (it is signed), not an error.
    client.cookies[replicas.PIN_COOKIE] = "x"
    assert client.get("/patients/").status_code == 200


def test_api_clients_are_pinned_by_their_token(monkeypatch, settings):
    monkeypatch.setattr(replicas, "has_replica", lambda: True)
    settings.REPLICA_PIN_SECONDS = 5
    factory = RequestFactory()
    seen = []

    def view(request):
        from django.http import HttpResponse

        seen.append(replicas.replica_allowed())
        return HttpResponse()

    middleware = replicas.ReplicaPinMiddleware(view)
    middleware(factory.get("/api/v1/patients/", HTTP_AUTHORIZATION="Bearer one"))
    middleware(factory.post("/api/v1/observations/", HTTP_AUTHORIZATION="Bearer one"))
    middleware(factory.get("/api/v1/patients/", HTTP_AUTHORIZATION="Bearer one"))
    middleware(factory.get("/api/v1/patients/", HTTP_AUTHORIZATION="Bearer two"))
    assert seen == [True, False, False, True]
    assert not replicas.replica_allowed()  # nothing leaks past the request


# ---------------------------------------------------------------- PgBouncer: exports keep streaming


def _open_cursors() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_iterate_uses_the_plain_iterator_when_server_side_cursors_are_allowed():
    names = sorted(ProjectFactory().name for _ in range(5))
    assert [p.name for p in db.iterate(Project.objects.filter(name__in=names).order_by("name"), 2)] == names


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PgBouncer fronts PostgreSQL")
@pytest.mark.django_db
def test_under_pgbouncer_exports_stream_through_a_cursor_in_a_transaction(monkeypatch):
    names = sorted(ProjectFactory().name for _ in range(5))
    qs = Project.objects.filter(name__in=names).order_by("name")
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    # What Django does then: .iterator() reads everything at once, no cursor stays open.
    rows = qs.iterator(chunk_size=2)
    next(rows)
    assert _open_cursors() == 0
    list(rows)
    # Ours: a named cursor, open while the rows are read, closed with the transaction.
    rows = db.iterate(qs, chunk_size=2)
    first = next(rows)
    assert _open_cursors() == 1
    assert [first.name, *(p.name for p in rows)] == names
    assert _open_cursors() == 0


@pytest.mark.django_db
def test_pgbouncer_setting_disables_server_side_cursors(monkeypatch):
    import importlib

    from mahalo import settings as project_settings

    monkeypatch.setenv("DATABASE_POOLER", "pgbouncer")
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://u@127.0.0.1:6433/mahalo")
    try:
        fresh = importlib.reload(project_settings)
        assert all(alias["DISABLE_SERVER_SIDE_CURSORS"] for alias in fresh.DATABASES.values())
        assert fresh.DATABASES["replica"]["TEST"] == {"MIRROR": "default"}
    finally:
        monkeypatch.delenv("DATABASE_POOLER")
        monkeypatch.delenv("DATABASE_REPLICA_URL")
        importlib.reload(project_settings)


# ---------------------------------------------------------------- statistics after bulk loads


def _reltuples(model) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ANALYZE is PostgreSQL's")
@pytest.mark.django_db
def test_a_bulk_load_leaves_the_planner_statistics_of_what_it_loaded():
    project = ProjectFactory()
    AuditEvent.objects.bulk_create(
        [AuditEvent(project=project, action="view", resource="patients") for _ in range(300)]
    )
    known = _reltuples(AuditEvent)
    assert known < 300  # the planner has not seen them
    assert not db.analyze_if_grown(AuditEvent, 10)  # a handful: left to autovacuum
    assert db.analyze_if_grown(AuditEvent, 300)
    assert _reltuples(AuditEvent) >= 300
    assert not db.analyze_if_grown(AuditEvent, 20)  # 20 rows on 300: not worth it


def test_analyze_is_a_no_op_off_postgresql():
    if connection.vendor == "postgresql":
        pytest.skip("SQLite behaviour")
    assert db.analyze(Patient) == [] and not db.analyze_database() and not db.analyze_if_grown(Patient, 10**6)


def test_migrate_analyzes_once_after_the_last_app(monkeypatch):
    from django.apps import apps

    calls = []
    monkeypatch.setattr(db, "analyze_database", lambda using="default": calls.append(using) or True)
    configs = [c for c in apps.get_app_configs() if c.models_module is not None]
    for config in configs:
        db.after_migrate(config, using="default", plan=[("migration", False)])
    assert calls == ["default"]
    for config in configs:  # flush between tests: no plan, no ANALYZE
        db.after_migrate(config, using="default")
    assert calls == ["default"]
