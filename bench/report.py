"""Report budget (issue 18): a 12-month "Cardiac rehab progress" report for one patient renders in
<= 10 s, with bounded memory.

On PostgreSQL, one cardiac patient gets a year of simulated data: two blood-pressure and two heart-rate
readings, a weight and an SpO2 a day (through the one writer), a wearable daily summary a day, two
medications taken twice a day (1,460 doses, ~90 % taken), and the care data the other benches fill
(a weekly alert, monthly labs, visits, meals for the last 89 days, a PHQ-9 every two weeks; bench/chart.py's
fill_care). The report is then asked for and rendered through reports' services (the task's code path:
snapshot, HTML, WeasyPrint PDF, storage) three times: the median wall time is the figure; a fourth
render under tracemalloc gives the Python heap's peak, and ru_maxrss the process's peak resident size.

Results: bench/results/report.json. Without DATABASE_URL it uses
postgres://postgres@127.0.0.1:5432/mahalo_bench_report (dropped and recreated).
Exit status 0 whether or not the budget is met.
"""

import datetime
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402 - bench/ is the script's own folder

OWN_DB = common.environment("postgres://postgres@127.0.0.1:5432/mahalo_bench_report")
BUDGET_S, DAYS, ROUNDS = 10.0, 365, 3


def fill(patient, clinician, rng):
    from care.models import MedicationDose
    from care.tests.factories import medication
    from wearables import ingest
    from wearables.ingest import Daily, Reading

    tz = patient.tz
    today = patient.today
    now = datetime.datetime.now(datetime.UTC)
    readings, dailies = [], []
    for i in range(DAYS):
        day = today - datetime.timedelta(days=i)
        for hour in (7, 19):
            at = datetime.datetime.combine(day, datetime.time(hour, rng.randrange(60)), tzinfo=tz)
            if at >= now:
                continue
            readings.append(
                Reading(
                    "blood_pressure",
                    at,
                    rng.gauss(134 - i / 60, 9),
                    value2=rng.gauss(83, 5),
                    context="home",
                    device="Simulated cuff",
                )
            )
            readings.append(Reading("heart_rate", at + datetime.timedelta(minutes=1), rng.gauss(72, 6)))
        morning = datetime.datetime.combine(day, datetime.time(6, 30), tzinfo=tz)
        if morning < now:
            readings.append(Reading("weight", morning, rng.gauss(86 - (DAYS - i) / 120, 0.5)))
            readings.append(Reading("spo2", morning + datetime.timedelta(minutes=2), min(100.0, rng.gauss(96, 1))))
        dailies.append(
            Daily(
                day,
                {
                    "hrv_ms": rng.gauss(36, 6),
                    "hrv_method": "rmssd",
                    "resting_hr": rng.gauss(62, 3),
                    "sleep_hours": rng.gauss(7, 0.7),
                    "sleep_deep_hours": 1.2,
                    "sleep_rem_hours": 1.5,
                    "sleep_light_hours": 4.1,
                    "steps": int(rng.gauss(6500, 1500)),
                    "device": "Simulated ring",
                },
            )
        )
    ingest.store(patient, "oura", readings=readings, dailies=dailies)
    doses = []
    for name in ("Metoprolol", "Atorvastatin"):
        med = medication(patient, clinician, name=name, start=today - datetime.timedelta(days=DAYS + 5))
        MedicationDose.objects.filter(medication=med).delete()  # generated ahead; the year's are written below
        for i in range(DAYS):
            day = today - datetime.timedelta(days=i)
            for hour in (8, 20):
                at = datetime.datetime.combine(day, datetime.time(hour), tzinfo=tz)
                if at >= now:
                    continue
                status = rng.choices(["taken", "skipped", "missed"], [90, 4, 6])[0]
                doses.append(
                    MedicationDose(
                        project_id=patient.project_id,
                        patient=patient,
                        medication=med,
                        scheduled_at=at,
                        local_date=day,
                        status=status,
                        taken_at=at if status == "taken" else None,
                    )
                )
    MedicationDose.objects.bulk_create(doses, batch_size=2000)
    return len(readings), len(dailies), len(doses)


def render_once(patient, clinician, template):
    from reports import services

    end = patient.today
    # Asking is where the render starts: without a broker the task runs eagerly when the request commits
    # (with one, a worker runs the same report_render); report_render afterwards finds it done.
    started, cpu = time.perf_counter(), time.process_time()
    report = services.report_request(
        patient=patient, template=template, start=end - datetime.timedelta(days=DAYS - 1), end=end, actor=clinician
    )
    report = services.report_render(report.pk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report.status == "done", report.error
    return report, seconds, cpu


def run() -> dict:
    reuse = "--reuse" in sys.argv  # keep the filled database of the last run (while tuning: filling takes minutes)
    if not reuse:
        common.prepare_database(OWN_DB)
    import django

    django.setup()
    from chart import fill_care
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from mahalo.models import FeatureFlag, ProgramAssignment, Project, StaffMember, User
    from mahalo.services import project_ensure_default_roles
    from nutrition.tests.factories import load_fixture_foods
    from patients import shell
    from patients.models import Patient, Program

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="report-bench-")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    call_command("migrate", verbosity=0)
    rng = random.Random(20261203)
    if reuse and Project.objects.filter(slug="report-bench").exists():
        project = Project.objects.get(slug="report-bench")
        patient = Patient.objects.get(project=project)
        user = User.objects.get(email="clinician@bench.test")
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            pg = cur.fetchone()[0]
        from care.models import MedicationDose
        from wearables.models import DailyMetric

        counts = (
            patient.observations.count(),
            DailyMetric.objects.filter(patient=patient).count(),
            MedicationDose.objects.filter(patient=patient).count(),
        )
        return measure(project, patient, user, pg, counts, load_s=0.0)
    project = Project.objects.create(name="Report bench", slug="report-bench")
    roles = project_ensure_default_roles(project=project)
    for tab in shell.TABS.values():
        if tab.feature:
            FeatureFlag.objects.update_or_create(project=project, name=tab.feature, defaults={"enabled": True})
    program = Program.objects.create(project=project, name="Cardiac Rehab", timezone="Pacific/Honolulu")
    user = User.objects.create_user("clinician@bench.test", "bench-password-123")
    staff = StaffMember.objects.create(user=user, project=project, role=roles["Clinician"], title="RN")
    ProgramAssignment.objects.create(staff=staff, program=program)
    patient = Patient.objects.create(
        project=project,
        program=program,
        first_name="Simulated",
        last_name="Patient",
        height_cm=176,
        date_of_birth=datetime.date(1957, 6, 1),
    )
    load_fixture_foods()
    t0 = time.perf_counter()
    counts = fill(patient, user, rng)
    fill_care(patient, user, DAYS, rng)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    load_s = time.perf_counter() - t0
    return measure(project, patient, user, pg, counts, load_s)


def measure(project, patient, user, pg, counts, load_s) -> dict:
    from reports.models import ReportTemplate
    from reports.services import ensure_builtin_templates

    ensure_builtin_templates(project)
    template = ReportTemplate.objects.get(project=project, name="Cardiac rehab progress")
    print(
        f"PostgreSQL {pg}; simulated {counts[0]:,} readings, {counts[1]} wearable days, {counts[2]:,} doses and a "
        f"year of care data in {load_s:.0f} s"
    )

    render_once(patient, user, template)  # warm-up: WeasyPrint's fonts, template compilation
    times, cpus = [], []
    for _ in range(ROUNDS):
        report, seconds, cpu = render_once(patient, user, template)
        times.append(seconds)
        cpus.append(cpu)
    load = os.getloadavg()[0]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    render_once(patient, user, template)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    median = statistics.median(times)
    ok = median <= BUDGET_S
    print(
        f"12-month cardiac rehab report: {report.pdf_pages} pages, {report.pdf_bytes / 1024:.0f} KiB PDF, "
        f"{len(report.html) / 1024:.0f} KiB HTML"
    )
    print(
        f"render (snapshot + HTML + PDF + store), {ROUNDS} runs: median {median:.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}); budget <= {BUDGET_S:g} s: {'PASS' if ok else 'FAIL'}"
    )
    print(
        f"CPU time of this process per render: median {statistics.median(cpus):.2f} s (the wall time above is "
        f"what a busy machine makes of it: 1-minute load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"memory: Python heap peak {peak / 2**20:.1f} MiB during one render (tracemalloc); process peak RSS "
        f"{rss_after / 1024:.0f} MiB (before that render {rss_before / 1024:.0f} MiB)"
    )
    result = {
        "budget": f"a 12-month cardiac rehab report renders in <= {BUDGET_S:g} s",
        "postgres": pg,
        "readings": counts[0],
        "wearable_days": counts[1],
        "doses": counts[2],
        "pages": report.pdf_pages,
        "pdf_bytes": report.pdf_bytes,
        "html_bytes": len(report.html),
        "seconds": [round(t, 3) for t in times],
        "median_s": round(median, 3),
        "cpu_seconds": [round(c, 3) for c in cpus],
        "median_cpu_s": round(statistics.median(cpus), 3),
        "load_average_1m": round(load, 1),
        "cores": os.cpu_count(),
        "heap_peak_mib": round(peak / 2**20, 1),
        "rss_peak_mib": round(rss_after / 1024),
        "pass": ok,
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "bench" / "results" / "report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    run()
