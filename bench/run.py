"""Patient-list performance budget (design doc):

    "patient list, 10,000 patients in the project, 50 a page: query count
    constant in N; median server time <= 3x a trivial logged-in view."

What it measures, on PostgreSQL, in one process through Django's test client
(the full middleware stack, sessions, the access gate, template rendering and
the audit trail: every list request writes one AuditEvent, which is expected and
part of the measured cost):

* a project with 2 programs, filled to N = 1,000 patients, then topped up to
  N = 10,000 (bulk_create, fixed random seed, ~5% archived);
* two users: a global-scope "Clinical Lead" (the whole project) and a
  program-scope "Clinician" (one of the two programs, about half the patients);
* views: /patients/, /patients/?page=<middle page>, /patients/?q=<a last name>,
  and the floor /api/v1/me/ (a tiny logged-in DRF view);
* per N, user and view: the query count of one request (after 3 warm-ups), and
  the median wall time of ROUNDS requests, interleaved in random order with the
  floor so machine noise hits every view alike.

Both figures are ratios against a floor from the same run: queries at N=10,000
against N=1,000 (must be equal), and median time against the floor view (must be
<= 3x at N=10,000). Results also go to bench/results/patient_list.json.

Run it with `make bench` (or `.venv/bin/python bench/run.py`). Without
DATABASE_URL it uses postgres://postgres@127.0.0.1:5432/mahalo_bench, which it
drops and recreates each run. `--profile [URL]` adds a cProfile of 20 requests
of URL (default /patients/) at N=10,000. Exit status is 0 whether or not the
budget is met.
"""

import argparse
import cProfile
import datetime
import io
import json
import pstats
import random
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import common  # noqa: E402 - bench/ is the script's own folder

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/mahalo_bench"
SIZES = (1_000, 10_000)
ROUNDS, BUDGET = 30, 2.5
FIRST = ["Kai", "Leilani", "Noa", "Malia", "Keoni", "Ana", "Makoa", "Emma", "Liam", "Olivia", "Noah", "Ava",
         "Mason", "Sofia", "Ethan", "Mia", "Lucas", "Isla", "Hiro", "Yuki", "Mele", "Ikaika", "Nalu", "Kiana"]
LAST = ["Kahananui", "Akana", "Nakamura", "Silva", "Kealoha", "Tanaka", "Smith", "Garcia", "Johnson", "Kim",
        "Nguyen", "Patel", "Okafor", "Murphy", "Rossi", "Schmidt", "Dubois", "Haddad", "Larsen", "Novak",
        "Kowalski", "Moreau", "Fischer", "Ortiz", "Chang", "Yamada", "Mahoe", "Kapaona", "Medeiros", "Pires"]
SEARCH = "Kealoha"
STATUSES = (["active"] * 14) + (["paused"] * 3) + (["discharged"] * 2) + ["archived"]

# --- Environment: PostgreSQL, production-like settings, before Django loads -------
OWN_DB = common.environment(DEFAULT_DB)


def add_patients(project, programs, count, rng):
    from patients.models import Patient

    born = datetime.date(1940, 1, 1)
    rows = []
    for _ in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(Patient(
            project=project, program=rng.choice(programs), first_name=first, last_name=last,
            date_of_birth=born + datetime.timedelta(days=rng.randrange(65 * 365)),
            sex=rng.choice(["female", "male", "other", "unknown"]), status=rng.choice(STATUSES),
            email=f"{first}.{last}.{rng.randrange(10**6)}@example.test".lower(),
            phone=f"+1808555{rng.randrange(10_000):04d}"))
    for start in range(0, len(rows), 1_000):
        Patient.objects.bulk_create(rows[start:start + 1_000])
    # About a third carry a care flag, so the registry's flag badges cost what they will in use.
    from patients.models import PatientFlag

    flags = [PatientFlag(patient=p, flag=rng.choice(PatientFlag.Flag.values)) for p in rows if rng.random() < 0.35]
    PatientFlag.objects.bulk_create(flags, batch_size=1_000)
    from django.db import connection

    # What autovacuum does in steady state: fresh statistics, and the GIN search
    # index's pending list merged (a bulk load leaves every new row in it).
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE patients_patient")
        cur.execute("VACUUM ANALYZE patients_patientflag")


def make_world(tag):
    from mahalo.models import ProgramAssignment, Project, StaffMember, User
    from mahalo.services import project_ensure_default_roles
    from patients.models import Program

    project = Project.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    roles = project_ensure_default_roles(project=project)
    programs = [Program.objects.create(project=project, name=n, timezone="Pacific/Honolulu")
                for n in ("Cardiac Rehab", "Metabolic Health")]
    users = {}
    for key, role in (("lead", "Clinical Lead"), ("clinician", "Clinician")):
        user = User.objects.create_user(f"{key}-{tag}@bench.test", "bench-password-123")
        staff = StaffMember.objects.create(user=user, project=project, role=roles[role], title="RN")
        if key == "clinician":
            ProgramAssignment.objects.create(staff=staff, program=programs[0])
        users[key] = user
    return project, programs, users


def visible(project, programs, key):
    from patients.models import Patient

    qs = Patient.objects.filter(project=project).exclude(status="archived")
    return (qs if key == "lead" else qs.filter(program=programs[0])).count()


def profile(client, url, requests=20, top=10):
    """cProfile `requests` GETs of url (as the lead at N=10,000): where the server time goes.
    The profiler slows Python code, not PostgreSQL, so SQL looks smaller here than it is."""
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [client.get(url) for _ in range(requests)])
    stats = pstats.Stats(profiler)

    def per_request(path, func):  # cumulative ms per request of every function `func` in a file under `path`
        return sum(v[3] for (f, _, name), v in stats.stats.items() if path in f and name == func) * 1000 / requests

    print(f"\ncProfile of {requests} x GET {url}, ms per request (parts overlap: SQL runs inside the others)")
    for label, ms in [("whole request", stats.total_tt * 1000 / requests),
                      ("views.registry.patient_list", per_request("patients/views/registry.py", "patient_list")),
                      ("template rendering", per_request("django/template/backends/django.py", "render")),
                      ("SQL (execute + wait, all queries)", per_request("django/db/backends/utils.py", "_execute")),
                      ("audit.record", per_request("mahalo/audit.py", "record"))]:
        print(f"    {label:<36} {ms:7.2f}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    body = out.getvalue()
    print(f"top {top} by own time:\n{body[body.index('   ncalls'):].rstrip()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="timed requests per view (default 30)")
    parser.add_argument("--profile", nargs="?", const="/patients/", metavar="URL",
                        help="at the end, cProfile 20 requests of URL (default /patients/) as the lead")
    args = parser.parse_args()

    common.prepare_database(OWN_DB)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
    tag = uuid.uuid4().hex[:8]
    rng = random.Random(20240501)
    project, programs, users = make_world(tag)
    clients = {}
    for key, user in users.items():
        clients[key] = Client()
        clients[key].force_login(user, backend="django.contrib.auth.backends.ModelBackend")

    print(f"PostgreSQL {pg_version}, database {settings.DATABASES['default']['NAME']}, "
          f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, {args.rounds} rounds, "
          f"DEBUG={settings.DEBUG}\n")
    header = f"{'N':>6}  {'user':<9}  {'view':<30}  {'queries':>7}  {'median ms':>9}  {'x floor':>7}"
    print(header + "\n" + "-" * len(header))
    rows, have = [], 0
    for n in SIZES:
        add_patients(project, programs, n - have, rng)
        have = n
        for key, client in clients.items():
            mid = max(1, -(-visible(project, programs, key) // 50) // 2)
            views = [("/patients/", "/patients/"), ("/patients/?page=mid", f"/patients/?page={mid}"),
                     (f"/patients/?q={SEARCH}", f"/patients/?q={SEARCH}"), ("floor /api/v1/me/", "/api/v1/me/")]
            result = common.measure(client, views, args.rounds, rng)
            floor_ms = result["floor /api/v1/me/"][1]
            for label, url in views:
                q, ms = result[label]
                rows.append({"n": n, "user": key, "view": label, "url": url, "queries": q,
                             "median_ms": round(ms, 3), "ratio_to_floor": round(ms / floor_ms, 3)})
                shown = url if label.endswith("mid") else label  # the actual middle page
                print(f"{n:>6}  {key:<9}  {shown:<30}  {q:>7}  {ms:>9.2f}  {ms / floor_ms:>6.2f}x")
        print()

    def row(n, user, view):
        return next(r for r in rows if (r["n"], r["user"], r["view"]) == (n, user, view))

    small, big = SIZES
    views = [v for v in dict.fromkeys(r["view"] for r in rows) if not v.startswith("floor")]
    verdicts, query_ok = {"queries_constant": {}, "time_budget": {}}, True
    for view in views + ["floor /api/v1/me/"]:
        for user in users:
            a, b = row(small, user, view)["queries"], row(big, user, view)["queries"]
            verdicts["queries_constant"][f"{user} {view}"] = {"n_small": a, "n_big": b, "ratio": b / a, "pass": a == b}
            query_ok &= a == b
    print(f"query count constant in N: {'PASS' if query_ok else 'FAIL'}")
    for name, v in verdicts["queries_constant"].items():
        print(f"    {name:<42} {v['n_small']:>3} queries at {small:,} -> {v['n_big']:>3} at {big:,}"
              f"  ({v['ratio']:.2f}x)")
    for view in views:
        per_user = {u: row(big, u, view)["ratio_to_floor"] for u in users}
        ok = all(r <= BUDGET for r in per_user.values())
        verdicts["time_budget"][view] = {"ratios": per_user, "pass": ok}
        detail = ", ".join(f"{u} {r:.2f}x" for u, r in per_user.items())
        print(f"median <= {BUDGET:g}x floor at N={big:,} [{view}]: {'PASS' if ok else 'FAIL'} ({detail})")

    out = ROOT / "bench" / "results" / "patient_list.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "budget": "patient list, 10,000 patients, 50 a page: query count constant in N; "
                  "median server time <= 3x a trivial logged-in view",
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "postgres": pg_version, "python": sys.version.split()[0], "rounds": args.rounds, "warmup": common.WARMUP,
        "search": SEARCH, "rows": rows, "verdicts": verdicts,
        "pass": query_ok and all(v["pass"] for v in verdicts["time_budget"].values()),
    }, indent=2))
    print(f"\nwrote {out.relative_to(ROOT)}")
    if args.profile:
        profile(clients["lead"], args.profile)


if __name__ == "__main__":
    main()
