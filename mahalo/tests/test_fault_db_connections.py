"""Issue 20 fault 8: PostgreSQL connections cut (pg_terminate_backend, a failover, a
PgBouncer restart) cost at most the requests in flight: the next request and the next
task reconnect by themselves (CONN_HEALTH_CHECKS for web, Celery's per-task close).

PostgreSQL only, and only this test database's own connections are terminated."""

import psycopg
import pytest
from django.db import close_old_connections, connection

from mahalo.celery import app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]


def cut_my_connections() -> int:
    """Terminate every other backend of this test's own database (nobody else uses it)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]]).fetchall()
    return len(rows)


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("terminating backends needs PostgreSQL (DATABASE_URL=postgres://...)")


def test_settings_reconnect_after_a_cut():
    db = connection.settings_dict
    assert db["CONN_HEALTH_CHECKS"] is True


def test_the_next_request_succeeds_after_connections_are_cut(postgres_only, client, world):
    client.force_login(world.clinician, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/patients/").status_code == 200
    assert cut_my_connections() >= 1
    # What Django does at each request's start (the test client skips it): a cut
    # persistent connection fails its health check and is replaced.
    close_old_connections()
    assert client.get("/patients/").status_code == 200
    assert client.get("/healthz").json()["database"] == "ok"


def test_the_next_task_succeeds_after_connections_are_cut(postgres_only, world):
    from celery.fixups.django import DjangoWorkerFixup

    from mahalo.models import Project

    assert Project.objects.count() >= 1
    assert cut_my_connections() >= 1
    # A worker runs this before every task (celery.fixups.django, on task_prerun).
    DjangoWorkerFixup(app).close_database()
    assert Project.objects.count() >= 1
