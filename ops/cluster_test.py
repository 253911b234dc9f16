"""`make cluster-test`: the production topology on loopback, started and stopped by this script
(issue 20). Every process is private to the run (free ports, a temporary folder); nothing else on
the machine is touched.

    PostgreSQL primary ──streaming──▶ replica          (Debian's /usr/lib/postgresql/<v>/bin)
         ▲                               ▲
         └──── PgBouncer (transaction mode) ┘          databases `mahalo` and `mahalo_replica`
                 ▲
    gunicorn A, gunicorn B   (DATABASE_POOLER=pgbouncer, DATABASE_REPLICA_URL set)
    worker 1: notifications,default    worker 2: sync,reports,ml
    beat 1, beat 2 (contending for the lease; beat 1 is stopped half-way: beat 2 takes over)
    Redis (broker, cache, beat lease)

The scripted day (simulated data): the lead signs in on A; requests alternate between A and B
(the load balancer); each of a few demo patients gets a normal heart rate and a hypertensive-crisis
blood pressure through the API; the crisis rule fires on the notifications worker and its
notifications are delivered; each reading is read back at once from the other web instance
(read-your-writes through the pin). Then: nothing lost, nothing duplicated, the periodic probe ran
once per period across two beats, the replica served reads, no request failed. Figures printed.
Run as root it runs PostgreSQL and PgBouncer as the `postgres` user (they refuse root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PROBE = "cluster-probe"
PROBE_EVERY = 2  # seconds
PATIENTS = 4


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        sys.exit(f"cluster-test: {name} not found (apt-get install postgresql)")
    return found[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


class Cluster:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="mahalo-cluster-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.tmp, "postgres", "postgres")
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.pg_dirs: list[Path] = []
        self.ports = {name: free_port() for name in ("primary", "replica", "bouncer", "redis", "web_a", "web_b")}

    # -- processes
    def run(self, args, *, pg=False, **kw):
        if pg and self.as_postgres:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, check=True, capture_output=True, text=True, **kw)  # noqa: S603

    def spawn(self, name, args, *, env=None, pg=False):
        if pg and self.as_postgres:
            args = ["runuser", "-u", "postgres", "--", *args]
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(  # noqa: S603 - our own commands
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        return proc

    def stop(self, name):
        for n, proc in self.procs:
            if n == name and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=20)
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)

    def log(self, name) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- services
    def postgres(self):
        primary, replica = self.tmp / "primary", self.tmp / "replica"
        self.run(
            [pg_bin("initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
            pg=True,
        )
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.ports['primary']}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.tmp}'\nfsync = off\nsynchronous_commit = off\n"
                "full_page_writes = off\nmax_connections = 60\nshared_buffers = 64MB\n"
            )
        self.run([pg_bin("pg_ctl"), "-D", str(primary), "-l", str(self.tmp / "primary.log"), "-w", "start"], pg=True)
        self.pg_dirs.append(primary)
        self.run(
            [
                pg_bin("pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.ports["primary"]),
                "-U",
                "postgres",
                "-D",
                str(replica),
                "-R",
                "-X",
                "stream",
            ],
            pg=True,
        )
        with open(replica / "postgresql.auto.conf", "a") as conf:
            conf.write(f"port = {self.ports['replica']}\n")
        self.run([pg_bin("pg_ctl"), "-D", str(replica), "-l", str(self.tmp / "replica.log"), "-w", "start"], pg=True)
        self.pg_dirs.append(replica)
        with psycopg.connect(self.dsn("primary", "postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE mahalo")

    def dsn(self, which: str, db: str = "mahalo") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[which]}/{db}"

    def pgbouncer(self):
        users = self.tmp / "users.txt"
        users.write_text('"postgres" ""\n')
        ini = self.tmp / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"mahalo = host=127.0.0.1 port={self.ports['primary']} dbname=mahalo\n"
            f"mahalo_replica = host=127.0.0.1 port={self.ports['replica']} dbname=mahalo\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.ports['bouncer']}\nunix_socket_dir = {self.tmp}\n"
            f"auth_type = trust\nauth_file = {users}\npool_mode = transaction\n"
            "max_client_conn = 200\ndefault_pool_size = 10\nignore_startup_parameters = extra_float_digits\n"
            f"admin_users = postgres\nlogfile = {self.tmp / 'pgbouncer.log'}\n"
        )
        if self.as_postgres:
            for path in (users, ini):
                shutil.chown(path, "postgres", "postgres")
        self.spawn("pgbouncer-run", ["/usr/sbin/pgbouncer", str(ini)], pg=True)
        wait_port(self.ports["bouncer"], "pgbouncer")

    def redis(self):
        self.spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        wait_port(self.ports["redis"], "redis")

    def env(self) -> dict:
        bouncer = self.ports["bouncer"]
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "mahalo.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{bouncer}/mahalo",
            "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{bouncer}/mahalo_replica",
            "DATABASE_POOLER": "pgbouncer",
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DEBUG": "false",
            "MAHALO_REQUIRE_STAFF_MFA": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "MEDIA_ROOT": str(self.tmp / "media"),
            "BEAT_LEASE_SECONDS": "6",
            "REPLICA_PIN_SECONDS": "10",
            "AXES_FAILURE_LIMIT": "100",
            "LOG_LEVEL": "INFO",
        }

    def close(self):
        for name, _ in reversed(self.procs):
            self.stop(name)
        for data in reversed(self.pg_dirs):
            with contextlib.suppress(subprocess.CalledProcessError):
                self.run([pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], pg=True)
        if os.environ.get("CLUSTER_KEEP"):
            print(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def manage(env, *args, timeout=600):
    return subprocess.run(  # noqa: S603 - our own manage.py
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def day(cluster: Cluster, env: dict, figures: dict) -> None:
    """The scripted day, through both web instances in turn."""
    bases = [f"http://127.0.0.1:{cluster.ports['web_a']}", f"http://127.0.0.1:{cluster.ports['web_b']}"]
    statuses, latencies = [], []
    # Generous: the machine this runs on may be shared; latency is reported, not asserted.
    client = httpx.Client(timeout=120, follow_redirects=False)
    for base in bases:  # both instances answer before the day starts (workers import the app lazily)
        httpx.get(base + "/healthz", timeout=120)
    turn = [0]

    def call(method, path, **kw):
        base = bases[turn[0] % 2]
        turn[0] += 1
        token = client.cookies.get("csrftoken")
        headers = {"X-CSRFToken": token, "Referer": base + "/"} if token and method != "GET" else {}
        started = time.perf_counter()
        response = client.request(method, base + path, headers=headers, **kw)
        latencies.append(time.perf_counter() - started)
        statuses.append(response.status_code)
        return response

    call("GET", "/accounts/login/")
    login = call(
        "POST",
        "/accounts/login/",
        data={"login": "lead@demo.mahalo.health", "password": env.get("MAHALO_DEMO_PASSWORD", "mahalo-demo")},
    )
    assert login.status_code == 302, f"login answered {login.status_code}"
    patients = call("GET", "/api/v1/patients/?page_size=50").json()["results"][:PATIENTS]
    assert len(patients) == PATIENTS, patients
    posted = []
    for index, patient in enumerate(patients):
        at = datetime.now(UTC).replace(microsecond=0).isoformat()
        for reading in (
            {"metric": "heart_rate", "value": 70 + index, "unit": "bpm", "effective_at": at},
            {
                "metric": "blood_pressure",
                "value": 192,
                "value2": 101,
                "unit": "mmHg",
                "effective_at": at,
                "context": "home",
            },
        ):
            response = call("POST", f"/api/v1/patients/{patient['id']}/observations/", json=reading)
            assert response.status_code == 201, (response.status_code, response.text[:300])
            posted.append(response.json()["id"])
            # Read it back at once from the other instance: the write pinned this client to the primary.
            seen = call("GET", f"/api/v1/patients/{patient['id']}/observations/?page_size=100").json()
            assert response.json()["id"] in {o["id"] for o in seen["results"]}, "a write was not read back"
    for _ in range(3):
        for path in ("/patients/", "/alerts/", "/api/v1/patients/"):
            call("GET", path)
    # Past the pin: these reads go to the replica.
    time.sleep(int(env["REPLICA_PIN_SECONDS"]) + 1)
    for _ in range(5):
        for path in ("/patients/", "/api/v1/patients/"):
            call("GET", path)
    figures.update(
        requests=len(statuses),
        errors=sum(s >= 500 for s in statuses),
        refused=sum(400 <= s < 500 for s in statuses),
        posted=posted,
        p50_ms=round(sorted(latencies)[len(latencies) // 2] * 1000),
        max_ms=round(max(latencies) * 1000),
    )


def main() -> int:
    started = time.monotonic()
    cluster = Cluster()
    figures: dict = {}
    ok = False
    try:
        cluster.postgres()
        cluster.pgbouncer()
        cluster.redis()
        env = cluster.env()
        # Schema and demo through the pooler, as production would.
        mark = time.monotonic()
        manage(env, "migrate", "--noinput")
        figures["migrate_s"] = round(time.monotonic() - mark, 1)
        mark = time.monotonic()
        manage(env, "seed_demo")
        figures["seed_demo_s"] = round(time.monotonic() - mark, 1)
        # The periodic probe, due every PROBE_EVERY seconds.
        manage(
            env,
            "shell",
            "-c",
            "from django_celery_beat.models import IntervalSchedule, PeriodicTask; "
            f"every, _ = IntervalSchedule.objects.get_or_create(every={PROBE_EVERY}, period='seconds'); "
            f"PeriodicTask.objects.update_or_create(name='{PROBE}', defaults=dict(task='mahalo.ping', "
            "interval=every))",
        )
        replica_before = _replica_reads(cluster)
        setup_seconds = time.monotonic() - started
        celery = [PY, "-m", "celery", "-A", "mahalo"]
        for name in ("web_a", "web_b"):
            cluster.spawn(
                name,
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "mahalo.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{cluster.ports[name]}",
                    "--workers",
                    "2",
                    "--timeout",
                    "120",
                    "--access-logfile",
                    "-",
                ],
                env=env,
            )
        cluster.spawn(
            "worker_1",
            [
                *celery,
                "worker",
                "-Q",
                "notifications,default",
                "-n",
                "w1@%h",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
        )
        cluster.spawn(
            "worker_2",
            [
                *celery,
                "worker",
                "-Q",
                "sync,reports,ml",
                "-n",
                "w2@%h",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
        )
        beat_started = time.monotonic()
        for name in ("beat_1", "beat_2"):
            cluster.spawn(
                name,
                [*celery, "beat", "--loglevel=info", "--max-interval", "1", "-s", str(cluster.tmp / f"{name}.db")],
                env=env,
            )
        for name in ("web_a", "web_b"):
            wait_port(cluster.ports[name], name)
        day(cluster, env, figures)
        # Half-way: stop whichever beat holds the lease; the other takes over.
        leader = max(("beat_1", "beat_2"), key=lambda n: cluster.log(n).count(f"Sending due task {PROBE}"))
        cluster.stop(leader)
        stopped_at = time.monotonic()
        time.sleep(12)
        _assert_delivered(cluster, figures)
        figures["replica_reads"] = _replica_reads(cluster) - replica_before
        for name in ("beat_1", "beat_2"):
            cluster.stop(name)
        times = {n: _send_times(cluster.log(n)) for n in ("beat_1", "beat_2")}
        sends = {n: len(t) for n, t in times.items()}
        every = sorted(t for ts in times.values() for t in ts)
        span = (every[-1] - every[0]) if every else 0.0
        figures.update(
            probe_sends=sends,
            probe_span_s=round(span, 1),
            leader_stopped_after_s=round(stopped_at - beat_started, 1),
            probe_min_gap_s=round(min((b - a for a, b in zip(every, every[1:], strict=False)), default=0), 2),
        )
        traceback_logs = [n for n, _ in cluster.procs if "Traceback" in cluster.log(n) and n.startswith("web")]
        # Assertions
        assert figures["errors"] == 0, f"{figures['errors']} requests answered 5xx"
        assert not traceback_logs, f"tracebacks in {traceback_logs}"
        assert figures["replica_reads"] > 0, "the replica served no reads"
        assert all(sends.values()), f"no takeover: {sends}"
        first, second = sorted(times.values(), key=min)
        # One sender at a time: the second beat's sends all come after the first beat's last.
        assert max(first) < min(second), "two beats sent periodic work at the same time"
        total = sum(sends.values())
        # Once per period (two senders would be ~2x), one extra allowed at each end.
        assert total <= span / PROBE_EVERY + 3, f"periodic probe sent {total} times in {span:.0f}s"
        ok = True
    finally:
        figures["setup_s"] = round(locals().get("setup_seconds", 0), 1)
        figures["total_s"] = round(time.monotonic() - started, 1)
        if not ok:
            for name in ("web_a", "worker_1", "beat_1", "beat_2"):
                print(f"---- {name} (last lines)\n" + "\n".join(cluster.log(name).splitlines()[-15:]))
        cluster.close()
        figures.pop("posted", None)
        print("cluster-test figures:", figures)
    print("cluster-test: PASS")
    return 0


def _send_times(log: str) -> list[float]:
    """When a beat sent the probe (its log lines' timestamps, in seconds)."""
    stamps = re.findall(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}).*Sending due task " + PROBE + r" ", log, re.M)
    return [datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f").timestamp() for s in stamps]


def _replica_reads(cluster: Cluster) -> int:
    with psycopg.connect(cluster.dsn("replica"), autocommit=True) as conn:
        return conn.execute("SELECT tup_returned FROM pg_stat_database WHERE datname = 'mahalo'").fetchone()[0]


def _assert_delivered(cluster: Cluster, figures: dict) -> None:
    """Every reading stored once; every notification the crisis raised delivered, none twice."""
    posted = figures["posted"]
    deadline = time.monotonic() + 60
    with psycopg.connect(cluster.dsn("primary"), autocommit=True) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM clinical_observation WHERE id = ANY(%s::uuid[])", [posted]
        ).fetchone()[0]
        assert stored == len(posted), f"{len(posted)} readings posted, {stored} stored"
        ids = posted
        while True:
            alerts = conn.execute(
                "SELECT count(DISTINCT a.id) FROM clinical_alert a JOIN clinical_observation o "
                "ON o.patient_id = a.patient_id WHERE o.id = ANY(%s::uuid[]) AND a.code = 'hypertensive_crisis' "
                "AND a.status = 'active'",
                [ids],
            ).fetchone()[0]
            rows = conn.execute(
                "SELECT n.status, count(*) FROM messaging_notification n WHERE n.event_type = 'alert_created' "
                "AND n.patient_id IN (SELECT patient_id FROM clinical_observation WHERE id = ANY(%s::uuid[])) "
                "GROUP BY n.status",
                [ids],
            ).fetchall()
            by_status = dict(rows)
            if alerts >= PATIENTS and by_status and set(by_status) <= {"delivered", "skipped"}:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"after 60 s: {alerts} crisis alerts, notifications {by_status}")
            time.sleep(1)
        # Delivered at most once each (the outbox row's idempotency key is unique; a second
        # delivery would be a second successful attempt in its log).
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT notification_id FROM messaging_deliverylog WHERE status = 'delivered' "
            "GROUP BY 1 HAVING count(*) > 1) d"
        ).fetchone()[0]
        assert duplicates == 0, f"{duplicates} notifications delivered twice"
    figures.update(readings_stored=stored, crisis_alerts=alerts, notifications=by_status)


if __name__ == "__main__":
    sys.exit(main())
