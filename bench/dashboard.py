"""Patient dashboard budget (DESIGN.md):

    "patient dashboard with two years of daily metrics and 200,000 observations:
    constant queries; median <= 5x the trivial view."

On PostgreSQL, one cardiac patient gets 730 days of daily metrics from two sources
(Oura and Apple Health) and 200,000 observations (heart-rate samples, HRV, BP,
weight, SpO2 spread over the two years), written through wearables.ingest. The
chart's data tabs are then requested as the program's clinician through Django's
test client (middleware, gate, audit, templates): /wearables/?days=90 and
/vitals/ (default range), against the floor /api/v1/me/. The same pages are also
measured for a patient with one week of data: the query count must not change.
Results go to bench/results/dashboard.json. Without DATABASE_URL it uses
postgres://postgres@127.0.0.1:5432/mahalo_bench_dash (dropped and recreated).
"""

import datetime
import json
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ROUNDS, WARMUP, BUDGET, OBSERVATIONS = 30, 3, 5.0, 200_000

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahalo.settings")
OWN_DB = "DATABASE_URL" not in os.environ
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mahalo_bench_dash")
os.environ["DEBUG"] = "false"
os.environ["MAHALO_REQUIRE_STAFF_MFA"] = "false"
warnings.filterwarnings("ignore", message="No directory at")


def prepare_database():
    import environ
    import psycopg
    from psycopg import sql

    cfg = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    if "postgresql" not in cfg["ENGINE"]:
        sys.exit("bench: DATABASE_URL must point at PostgreSQL")
    conn = psycopg.connect(dbname="postgres", user=cfg.get("USER") or None, host=cfg.get("HOST") or None,
                           port=cfg.get("PORT") or None, password=cfg.get("PASSWORD") or None, autocommit=True)
    name = sql.Identifier(cfg["NAME"])
    with conn:
        if OWN_DB:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def fill(patient, days, observations, rng):
    from wearables import ingest
    from wearables.ingest import Daily, Reading

    today = datetime.date.today()
    tz = patient.program.tz
    oura, apple = [], []
    for i in range(days):
        day = today - datetime.timedelta(days=i)
        oura.append(Daily(day, {"hrv_ms": rng.gauss(35, 6), "hrv_method": "rmssd", "resting_hr": rng.gauss(62, 3),
                                "sleep_hours": rng.gauss(7, 0.8), "sleep_deep_hours": 1.2, "sleep_rem_hours": 1.5,
                                "sleep_light_hours": 4.1, "steps": int(rng.gauss(6000, 1500)),
                                "recovery_score": rng.uniform(30, 90), "device": "Oura Ring"}))
        apple.append(Daily(day, {"hrv_ms": rng.gauss(45, 8), "hrv_method": "sdnn", "steps": int(rng.gauss(6500, 1500)),
                                 "resting_hr": rng.gauss(63, 3), "device": "Apple Watch"}))
    ingest.store(patient, "oura", dailies=oura)
    ingest.store(patient, "apple_health", dailies=apple)
    start = datetime.datetime.combine(today - datetime.timedelta(days=days - 1), datetime.time(6), tzinfo=tz)
    span = days * 86400
    step = span / observations
    readings = []
    for i in range(observations):
        at = start + datetime.timedelta(seconds=int(i * step))
        kind = i % 20
        if kind == 0:
            readings.append(Reading("blood_pressure", at, rng.gauss(132, 10), value2=rng.gauss(82, 6), context="home",
                                    device="Withings BPM"))
        elif kind == 1:
            readings.append(Reading("weight", at, rng.gauss(84, 1)))
        elif kind == 2:
            readings.append(Reading("spo2", at, min(100.0, rng.gauss(96, 1.2))))
        elif kind == 3:
            readings.append(Reading("hrv", at, rng.gauss(35, 6), method="rmssd", context="sleep"))
        else:
            readings.append(Reading("heart_rate", at, rng.gauss(72, 9)))
    for chunk in range(0, len(readings), 50_000):
        ingest.store(patient, "oura", readings[chunk:chunk + 50_000])


def measure(client, views, rng):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    queries, times = {}, {label: [] for label, _ in views}
    for label, url in views:
        for _ in range(WARMUP):
            assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        queries[label] = len(ctx.captured_queries)
    order = list(views)
    for _ in range(ROUNDS):
        rng.shuffle(order)
        for label, url in order:
            t0 = time.perf_counter()
            assert client.get(url).status_code == 200
            times[label].append(time.perf_counter() - t0)
    return {label: (queries[label], statistics.median(times[label]) * 1000) for label, _ in views}


def run() -> dict:
    prepare_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from mahalo.models import ProgramAssignment, Project, StaffMember, User
    from mahalo.services import project_ensure_default_roles
    from patients.models import Patient, Program

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    rng = random.Random(20261123)
    project = Project.objects.create(name="Dashboard bench", slug=f"dash-{rng.randrange(10**9)}")
    roles = project_ensure_default_roles(project=project)
    program = Program.objects.create(project=project, name="Cardiac Rehab", timezone="Pacific/Honolulu")
    user = User.objects.create_user(f"clin-{rng.randrange(10**9)}@bench.test", "bench-password-123")
    staff = StaffMember.objects.create(user=user, project=project, role=roles["Clinician"], title="RN")
    ProgramAssignment.objects.create(staff=staff, program=program)
    big = Patient.objects.create(project=project, program=program, first_name="Big", last_name="History",
                                 height_cm=178)
    small = Patient.objects.create(project=project, program=program, first_name="Small", last_name="History",
                                   height_cm=170)
    t0 = time.perf_counter()
    fill(big, 730, OBSERVATIONS, rng)
    fill(small, 7, 140, rng)
    load_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE clinical_observation")
        cur.execute("VACUUM ANALYZE wearables_dailymetric")
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    pages = [("wearables 90 days", "/patients/{}/wearables/?days=90"), ("vitals", "/patients/{}/vitals/"),
             ("overview", "/patients/{}/")]
    rows = []
    print(f"PostgreSQL {pg}; loaded {OBSERVATIONS:,} observations + 2 x 730 days in {load_s:.0f} s\n")
    print(f"{'page':<20} {'queries small':>13} {'queries big':>11} {'median ms':>9} {'x floor':>7}")
    results = {}
    for who, patient in (("small", small), ("big", big)):
        views = [(label, url.format(patient.pk)) for label, url in pages] + [("floor", "/api/v1/me/")]
        results[who] = measure(client, views, rng)
    floor = results["big"]["floor"][1]
    ok = True
    for label, _ in pages:
        q_small, q_big, ms = results["small"][label][0], results["big"][label][0], results["big"][label][1]
        ratio = ms / floor
        ok &= q_small == q_big and ratio <= BUDGET
        rows.append({"page": label, "queries_small": q_small, "queries_big": q_big, "median_ms": round(ms, 2),
                     "floor_ms": round(floor, 2), "ratio": round(ratio, 2)})
        print(f"{label:<20} {q_small:>13} {q_big:>11} {ms:>9.1f} {ratio:>6.2f}x")
    print(f"floor /api/v1/me/ {floor:.2f} ms\nqueries constant and median <= {BUDGET:g}x floor: "
          f"{'PASS' if ok else 'FAIL'}")
    result = {"budget": "dashboard with 2 years of daily metrics and 200,000 observations: constant queries; "
                        "median <= 5x the trivial view", "postgres": pg, "rows": rows, "pass": ok,
              "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    out = ROOT / "bench" / "results" / "dashboard.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    run()
