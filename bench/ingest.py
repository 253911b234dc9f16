"""Wearable ingest budget (DESIGN.md):

    "wearable ingest: normalized upserts >= 30% of raw COPY into the same table;
    re-running a sync adds no rows."

On PostgreSQL, 1,000,000 synthetic heart-rate readings (100 patients x 10,000
one-minute samples) are written twice into clinical_observation, with all its
indexes and constraints in place:

* floor: raw `COPY` of ready-made rows (ids and timestamps precomputed, nothing
  checked, nothing merged): the fastest way PostgreSQL takes these rows;
* measured: `wearables.ingest.store()` per patient, from `Reading` objects: the
  checks, in-batch de-duplication, staging COPY and INSERT ... ON CONFLICT merge,
  and the patient's last_data_at update: what every sync does.

Ratio = upsert throughput / COPY throughput (must be >= 0.30). Then the same
readings are stored again: the row count must not change (and its time is shown).
Building the Python objects is outside both timings. Results go to
bench/results/ingest.json. Without DATABASE_URL it uses
postgres://postgres@127.0.0.1:5432/mahalo_bench_ingest (dropped and recreated).
"""

import datetime
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import common  # noqa: E402 - bench/ is the script's own folder

PATIENTS, PER_PATIENT, BUDGET = 100, 10_000, 0.30

OWN_DB = common.environment("postgres://postgres@127.0.0.1:5432/mahalo_bench_ingest")


def run() -> dict:
    common.prepare_database(OWN_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from clinical import ingest as clinical_ingest
    from clinical.models import Observation
    from mahalo.models import Project
    from patients.models import Patient, Program
    from wearables import ingest

    call_command("migrate", verbosity=0)
    # The rules engine listens to data_ingested and runs on a Celery worker after commit;
    # without a broker it would run inline here and be timed as ingest. Measured apart.
    from django.dispatch import Signal

    clinical_ingest.data_ingested = Signal()  # looked up at send time by clinical.ingest.data_arrived
    tag = uuid.uuid4().hex[:8]
    project = Project.objects.create(name=f"Ingest {tag}", slug=f"ingest-{tag}")
    program = Program.objects.create(project=project, name="Cardiac Rehab", timezone="Pacific/Honolulu")
    patients = Patient.objects.bulk_create([
        Patient(project=project, program=program, first_name="P", last_name=f"{i:04d}") for i in range(PATIENTS)])
    for p in patients:
        p.program = program
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    minute = datetime.timedelta(minutes=1)
    total = PATIENTS * PER_PATIENT

    def truncate():
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {Observation._meta.db_table}")
            cur.execute(f"VACUUM ANALYZE {Observation._meta.db_table}")

    # --- floor: raw COPY ---------------------------------------------------------
    now = datetime.datetime.now(datetime.UTC)
    raw_rows = [(uuid.uuid4(), project.pk, p.pk, program.pk, "heart_rate", 60.0 + (i % 40), None, "bpm",
                 start + i * minute, None, "oura", "Oura Ring", "", "", "", None, "normal", "", now)
                for p in patients for i in range(PER_PATIENT)]
    cols = ("id, project_id, patient_id, program_id, metric, value, value2, unit, effective_at, end_at, source, "
            "device, method, context, external_id, details, interpretation, category, created_at")
    truncate()
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        with cur.cursor.copy(f"COPY {Observation._meta.db_table} ({cols}) FROM STDIN") as copy:
            for row in raw_rows:
                copy.write_row(row)
    copy_s = time.perf_counter() - t0
    del raw_rows
    assert Observation.objects.count() == total

    # --- measured: the normalizing upsert ------------------------------------------
    batches = [(p, [ingest.Reading(metric="heart_rate", effective_at=start + i * minute, value=60.0 + (i % 40),
                                   device="Oura Ring") for i in range(PER_PATIENT)]) for p in patients]
    truncate()
    t0 = time.perf_counter()
    for patient, readings in batches:
        ingest.store(patient, "oura", readings)
    upsert_s = time.perf_counter() - t0
    rows_after_first = Observation.objects.count()

    t0 = time.perf_counter()
    for patient, readings in batches:
        ingest.store(patient, "oura", readings)
    rerun_s = time.perf_counter() - t0
    rows_after_rerun = Observation.objects.count()

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    ratio = copy_s / upsert_s
    result = {
        "budget": "normalized upserts >= 30% of raw COPY into the same table; re-running adds no rows",
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "postgres": pg,
        "readings": total, "copy_seconds": round(copy_s, 2), "copy_rows_per_s": round(total / copy_s),
        "upsert_seconds": round(upsert_s, 2), "upsert_rows_per_s": round(total / upsert_s),
        "ratio": round(ratio, 3), "rerun_seconds": round(rerun_s, 2),
        "rows_after_first": rows_after_first, "rows_after_rerun": rows_after_rerun,
        "pass": ratio >= BUDGET and rows_after_first == rows_after_rerun == total,
    }
    print(f"PostgreSQL {pg}: {total:,} readings into clinical_observation\n"
          f"  raw COPY (floor)        {copy_s:7.2f} s  {total / copy_s:>10,.0f} rows/s\n"
          f"  ingest.store (upsert)   {upsert_s:7.2f} s  {total / upsert_s:>10,.0f} rows/s"
          f"  = {ratio:.0%} of COPY (budget >= {BUDGET:.0%}): {'PASS' if ratio >= BUDGET else 'FAIL'}\n"
          f"  same readings again     {rerun_s:7.2f} s  rows {rows_after_first:,} -> {rows_after_rerun:,}: "
          f"{'PASS' if rows_after_first == rows_after_rerun == total else 'FAIL'}")
    out = ROOT / "bench" / "results" / "ingest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    run()
