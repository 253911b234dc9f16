"""Fault-injection helpers (issue 20): a private Redis that a test can stop, hang and
restart. Never the shared 127.0.0.1:6379: its own process on a free port, no disk.

    @pytest.fixture
    def private_redis(settings):
        yield from faults.use_private_redis(settings)

    def test_x(private_redis): private_redis.kill()  /  .hang()  /  .resume()
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def hang(self) -> None:
        """Accepting connections (the kernel still does), answering nothing."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.resume()
        self.process.kill()
        self.process.wait(timeout=5)


def start_redis() -> PrivateRedis:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server): fault tests need a private one")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="mahalo-redis-")
    process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return PrivateRedis(port, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"the private redis-server on port {port} did not start")


def use_private_redis(settings):
    """A private Redis as the cache and broker of this test (settings overridden; the
    Celery app pointed at it); killed afterwards whatever state the test left it in."""
    from mahalo.celery import app

    redis = start_redis()
    settings.CACHES = {
        "default": {
            "BACKEND": "mahalo.cache.ResilientRedisCache",
            "LOCATION": redis.url,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    settings.CELERY_BROKER_URL = redis.url
    before = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url = redis.url
    try:
        yield redis
    finally:
        app.conf.broker_url, app.conf.task_always_eager = before
        if redis.process.poll() is None:
            redis.kill()
