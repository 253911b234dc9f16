"""Celery: eager with no broker; a real worker round trip when Redis is there."""

import os
import subprocess
import sys
import time

import pytest

from mahalo.celery import ping


def test_tasks_run_in_process_without_a_broker(settings):
    if settings.CELERY_BROKER_URL:
        pytest.skip("a broker is configured")
    assert settings.CELERY_TASK_ALWAYS_EAGER  # the laptop default, not only the test fixture
    assert ping.delay().get(timeout=1) == "pong"


def test_a_real_worker_answers_through_redis(tmp_path):
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL not set (CI sets it)")
    queue = f"smoke-{os.getpid()}-{time.time_ns()}"
    # The app keeps no results (issue 20 fault 4); this smoke test gives its worker a backend.
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false", "CELERY_RESULT_BACKEND": url}
    worker = subprocess.Popen(  # noqa: S603 - our own venv's celery
        [sys.executable, "-m", "celery", "-A", "mahalo", "worker", "-Q", queue, "--pool=solo",
         "--without-gossip", "--without-mingle", "--loglevel=warning"],
        env=env, stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    # A client app of its own: the project's app may hold pooled connections from
    # earlier tests that pointed it elsewhere.
    from celery import Celery

    client = Celery("smoke-client", broker=url, backend=url)
    try:
        result = client.send_task("mahalo.ping", queue=queue)
        assert result.get(timeout=60) == "pong"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
