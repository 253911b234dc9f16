"""FHIR Bulk $export budget (issue 18): "an $export of 10,000 patients with 2 years of daily metrics
streams in bounded memory; report rows/s and peak memory".

On PostgreSQL, N synthetic patients (simulated data; default 10,000, `--patients` for a quick run) each
get 730 days of wearables.DailyMetric (steps, resting HR, HRV RMSSD, sleep: 5 Observations per day) and a
Group (program) export runs through `reports.fhir.export.run` (the Celery task's service) as a superuser.
Measured: database rows read and FHIR resources written per second, the Python heap's peak during the
export (tracemalloc) and the process's peak RSS. Bounded memory = the heap peak does not grow with N
(compare two sizes); the budget line asserts the heap peak stays under 256 MB. Results go to
bench/results/fhir_export.json. Without DATABASE_URL it uses
postgres://postgres@127.0.0.1:5432/mahalo_bench_fhir (dropped and recreated).
"""

import argparse
import datetime
import json
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import common  # noqa: E402 - bench/ is the script's own folder

DAYS, BUDGET_MB = 730, 256
OWN_DB = common.environment("postgres://postgres@127.0.0.1:5432/mahalo_bench_fhir")


def run(patients: int) -> dict:
    import os

    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="fhir-bench-"))
    common.prepare_database(OWN_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from mahalo.models import Project, User
    from patients.models import Patient, Program
    from reports.fhir import export
    from reports.models import FhirExportJob
    from wearables.models import DailyMetric

    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().hex[:8]
    project = Project.objects.create(name=f"FHIR bench {tag}", slug=f"fhir-{tag}")
    program = Program.objects.create(project=project, name="Simulated program")
    user = User.objects.create_superuser(email=f"bench-{tag}@example.test", password=uuid.uuid4().hex)
    start_fill = time.perf_counter()
    today = datetime.date.today()
    for first in range(0, patients, 500):
        batch = Patient.objects.bulk_create(
            [
                Patient(
                    project=project, program=program, first_name="Sim", last_name=f"Patient {n}", mrn=f"SIM-{n:06d}"
                )
                for n in range(first, min(patients, first + 500))
            ]
        )
        days = [
            DailyMetric(
                project=project,
                patient=p,
                program=program,
                date=today - datetime.timedelta(days=d),
                source="oura",
                steps=6000 + d,
                resting_hr=60.0,
                hrv_ms=45.0,
                hrv_method="rmssd",
                sleep_hours=7.0,
            )
            for p in batch
            for d in range(DAYS)
        ]
        DailyMetric.objects.bulk_create(days, batch_size=5000)
    fill = time.perf_counter() - start_fill
    with connection.cursor() as cursor:
        # Its own tables only: a database-wide ANALYZE also takes shared catalogs and waits on other databases.
        cursor.execute("ANALYZE patients_patient, wearables_dailymetric")
    # A Group (program) export: only this run's simulated patients, whatever else the database holds.
    job = FhirExportJob.objects.create(project=project, program=program, requested_by=user, kind="group",
                                       types=["Patient", "Observation"], request_url="bench")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    export.run(job.pk)
    seconds = time.perf_counter() - started
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    job.refresh_from_db()
    assert job.status == "done", job.error
    db_rows = patients + patients * DAYS
    heap_mb = heap_peak / 2**20
    result = {
        "patients": patients,
        "days": DAYS,
        "db_rows": db_rows,
        "resources": job.rows,
        "seconds": round(seconds, 2),
        "db_rows_per_s": round(db_rows / seconds),
        "resources_per_s": round(job.rows / seconds),
        "heap_peak_mb": round(heap_mb, 1),
        "rss_peak_mb": round(rss_after / 1024, 1),
        "rss_before_export_mb": round(rss_before / 1024, 1),
        "fill_seconds": round(fill, 1),
        "budget": f"$export {patients} patients x {DAYS} days: heap peak < {BUDGET_MB} MB (bounded)",
        "pass": heap_mb < BUDGET_MB,
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "note": "simulated data; tracemalloc slows the export (rows/s is a lower bound)",
    }
    export.delete_files(job)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    result = run(args.patients)
    out = ROOT / "bench" / "results" / "fhir_export.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
