"""Apple Health export parsing budget (DESIGN.md): "streaming parse, peak memory
flat as the file grows".

What it measures: the parser alone (wearables.apple_health, no database: readings
go to a counting sink) on synthetic exports of about 20, 50 and 200 MB, generated
streaming into /tmp with a realistic mix (the real export's DTD; heart rate
samples with metadata, phone + watch steps and active energy, HRV with its
instantaneous BPM list, resting HR, SpO2, respiratory rate, sleep stages, BP
correlations, workouts with routes, types we ignore, ActivitySummary rows).
Each size is parsed in a fresh subprocess twice: once for speed and ru_maxrss
(the process's resident high-water mark, minus the same figure measured before
the parse), once under tracemalloc for the peak of Python allocations during
the parse. The 20 MB file is also parsed zipped (the usual upload).

Pass: the 200 MB tracemalloc peak is under 2x the 20 MB one (flat memory).

    .venv/bin/python bench/apple_health.py            # all sizes
    .venv/bin/python bench/apple_health.py --sizes 5 20
`run()` returns the figures as a dict (bench/run.py calls it); results also go
to bench/results/apple_health.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SIZES_MB = (20, 50, 200)
OUT_DIR = Path(tempfile.gettempdir()) / "mahalo_bench_apple"
RESULTS = ROOT / "bench" / "results" / "apple_health.json"
FIXTURE = ROOT / "wearables" / "tests" / "fixtures" / "apple_health" / "export.xml"

Q = "HKQuantityTypeIdentifier"
WATCH = ('sourceName="Kai’s Apple Watch" sourceVersion="10.1" device="&lt;&lt;HKDevice: 0x{addr:x}&gt;, '
         'name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.1&gt;"')
PHONE = ('sourceName="Kai’s iPhone" sourceVersion="17.1" device="&lt;&lt;HKDevice: 0x{addr:x}&gt;, '
         'name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,2, software:17.1&gt;"')


# --- Generation --------------------------------------------------------------------


def _header() -> str:
    """The real export's declaration and DTD (from the fr_FR fixture), then the root."""
    dtd = ""
    if FIXTURE.exists():
        text = FIXTURE.read_text(encoding="utf-8")
        dtd = text[:text.index("<HealthData")]
    else:
        dtd = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return (dtd + '<HealthData locale="en_US">\n <ExportDate value="2024-12-31 23:00:00 -1000"/>\n'
            ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1970-01-01" '
            'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale" '
            'HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet" '
            'HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet"/>\n')


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S -1000")


def _rec(kind: str, who: str, unit: str, start: datetime, end: datetime, value, body: str = "") -> str:
    s, e = _ts(start), _ts(end)
    head = (f' <Record type="{kind}" {who} unit="{unit}" creationDate="{e}" startDate="{s}" endDate="{e}" '
            f'value="{value}"')
    return f"{head}>\n{body} </Record>\n" if body else f"{head}/>\n"


def _day(rng: random.Random, day: datetime) -> str:
    """One day of a phone + watch wearer's data, roughly as the Health app exports it."""
    out = []
    watch = WATCH.format(addr=rng.getrandbits(40))
    phone = PHONE.format(addr=rng.getrandbits(40))
    # Heart rate every ~5 minutes while worn (and more during workouts).
    t = day + timedelta(minutes=rng.randint(0, 4))
    while t < day + timedelta(days=1):
        ctx = rng.choice("0112")
        out.append(_rec(Q + "HeartRate", watch, "count/min", t, t, rng.randint(52, 150),
                        f'  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="{ctx}"/>\n'))
        t += timedelta(seconds=rng.randint(200, 400))
    # Steps and active energy in short intervals, from both the phone and the watch.
    for hour in range(7, 22):
        for who in (phone, watch):
            for _ in range(rng.randint(1, 4)):
                s = day + timedelta(hours=hour, minutes=rng.randint(0, 50))
                e = s + timedelta(minutes=rng.randint(1, 9))
                out.append(_rec(Q + "StepCount", who, "count", s, e, rng.randint(10, 900)))
                out.append(_rec(Q + "DistanceWalkingRunning", who, "km", s, e, f"{rng.random() * 0.6:.5f}"))
        for _ in range(6):
            s = day + timedelta(hours=hour, minutes=rng.randint(0, 59))
            out.append(_rec(Q + "ActiveEnergyBurned", watch, "kcal", s, s + timedelta(minutes=1),
                            f"{rng.random() * 9:.3f}"))
            out.append(_rec(Q + "BasalEnergyBurned", watch, "kcal", s, s + timedelta(minutes=1),
                            f"{rng.random() * 2:.3f}"))
    # HRV (SDNN) a few times a day, with the instantaneous BPM list.
    for _ in range(rng.randint(3, 6)):
        s = day + timedelta(minutes=rng.randint(0, 1400))
        bpms = "".join(f'   <InstantaneousBeatsPerMinute bpm="{rng.randint(50, 90)}" '
                       f'time="{s:%I:%M:%S}.{rng.randint(0, 99):02d} AM"/>\n' for _ in range(rng.randint(40, 80)))
        out.append(_rec(Q + "HeartRateVariabilitySDNN", watch, "ms", s, s + timedelta(minutes=1),
                        f"{rng.uniform(20, 90):.4f}",
                        f"  <HeartRateVariabilityMetadataList>\n{bpms}  </HeartRateVariabilityMetadataList>\n"))
    out.append(_rec(Q + "RestingHeartRate", watch, "count/min", day + timedelta(hours=6),
                    day + timedelta(hours=22), rng.randint(50, 70)))
    for _ in range(8):
        s = day + timedelta(minutes=rng.randint(0, 420))
        out.append(_rec(Q + "OxygenSaturation", watch, "%", s, s, f"{rng.uniform(0.92, 1.0):.2f}"))
        out.append(_rec(Q + "RespiratoryRate", watch, "count/min", s, s, f"{rng.uniform(11, 18):.1f}"))
    # Sleep: watch stages through the night, and the phone's in-bed guess.
    t = day - timedelta(hours=2)
    out.append(_rec("HKCategoryTypeIdentifierSleepAnalysis", phone, "", t, t + timedelta(hours=8),
                    "HKCategoryValueSleepAnalysisInBed"))
    while t < day + timedelta(hours=6):
        stage = rng.choice(["Core", "Core", "Deep", "REM", "Awake"])
        value = "HKCategoryValueSleepAnalysis" + ("Awake" if stage == "Awake" else f"Asleep{stage}")
        e = t + timedelta(minutes=rng.randint(5, 50))
        out.append(_rec("HKCategoryTypeIdentifierSleepAnalysis", watch, "", t, e, value))
        t = e
    # A BP reading (correlation + its top-level copies), every other day.
    if rng.random() < 0.5:
        s = day + timedelta(hours=7, minutes=rng.randint(0, 30))
        cuff = 'sourceName="Omron Connect" sourceVersion="7.1"'
        sys_, dia = rng.randint(105, 150), rng.randint(65, 95)
        parts = (_rec(Q + "BloodPressureSystolic", cuff, "mmHg", s, s, sys_)
                 + _rec(Q + "BloodPressureDiastolic", cuff, "mmHg", s, s, dia))
        out.append(parts)
        out.append(f' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" {cuff} '
                   f'creationDate="{_ts(s)}" startDate="{_ts(s)}" endDate="{_ts(s)}">\n{parts} </Correlation>\n')
    # A workout with metadata, events and a route, most days.
    if rng.random() < 0.7:
        s = day + timedelta(hours=17, minutes=rng.randint(0, 59))
        minutes = rng.uniform(20, 70)
        e = s + timedelta(minutes=minutes)
        route = "".join(f'   <Location date="{_ts(s + timedelta(seconds=i * 5))}" '
                        f'latitude="21.{rng.randint(0, 99999):05d}" longitude="-157.{rng.randint(0, 99999):05d}" '
                        f'altitude="{rng.uniform(0, 40):.3f}" '
                        f'horizontalAccuracy="2.4" verticalAccuracy="1.6" course="-1" speed="2.48"/>\n'
                        for i in range(rng.randint(20, 60)))
        out.append(f' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" duration="{minutes:.4f}" '
                   f'durationUnit="min" totalDistance="{minutes / 12:.4f}" totalDistanceUnit="km" '
                   f'totalEnergyBurned="{minutes * 5:.3f}" totalEnergyBurnedUnit="kcal" {watch} '
                   f'creationDate="{_ts(e)}" startDate="{_ts(s)}" endDate="{_ts(e)}">\n'
                   '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
                   '  <MetadataEntry key="HKTimeZone" value="Pacific/Honolulu"/>\n'
                   f'  <WorkoutEvent type="HKWorkoutEventTypeSegment" date="{_ts(s)}" duration="{minutes:.2f}" '
                   'durationUnit="min"/>\n'
                   f'  <WorkoutRoute {phone} creationDate="{_ts(e)}" startDate="{_ts(s)}" endDate="{_ts(e)}">\n'
                   f'{route}  </WorkoutRoute>\n </Workout>\n')
    out.append(f' <ActivitySummary dateComponents="{day:%Y-%m-%d}" activeEnergyBurned="{rng.uniform(200, 700):.3f}" '
               'activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="kcal" appleExerciseTime="35" '
               'appleExerciseTimeGoal="30" appleStandHours="11" appleStandHoursGoal="12"/>\n')
    return "".join(out)


def generate(path: Path, megabytes: float, seed: int = 1) -> int:
    """Write a synthetic export of about `megabytes` MB, streaming; returns its size."""
    rng = random.Random(seed)
    target = int(megabytes * 1024 * 1024)
    path.parent.mkdir(parents=True, exist_ok=True)
    day = datetime(2015, 1, 1, tzinfo=timezone(timedelta(hours=-10)))
    written = 0
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        written += f.write(_header())
        while written < target:
            written += f.write(_day(rng, day))  # characters; close enough to bytes here
            day += timedelta(days=1)
        f.write("</HealthData>\n")
    return path.stat().st_size


def zipped(xml: Path) -> Path:
    target = xml.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(xml, "apple_health_export/export.xml")
    return target


# --- Measuring (in a fresh subprocess per file) --------------------------------------


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mahalo.settings")
    import django

    django.setup()


def measure(path: str, trace: bool) -> dict:
    """Parse one file with a counting sink (no database). Runs in the child process."""
    import resource
    import tracemalloc
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    _setup_django()
    from wearables import apple_health

    patient = SimpleNamespace(program_id=1, program=SimpleNamespace(tz=ZoneInfo("Pacific/Honolulu")))
    counted = {"readings": 0, "dailies": 0}

    def sink(readings, dailies):
        counted["readings"] += len(readings)
        counted["dailies"] += len(dailies)
        return len(readings) + len(dailies)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with open(path, "rb") as f:
        result = apple_health.parse_file(f, path, patient, sink)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": elapsed, "records": result.records_seen, "readings": counted["readings"],
            "days": counted["dailies"], "skipped": result.skipped, "unknown": result.unknown_total,
            "rss_delta_kb": rss_after - rss_before, "tracemalloc_peak_bytes": peak}


def _child(path: Path, trace: bool) -> dict:
    # Our own script and a path we generated: no outside input.
    command = [sys.executable, __file__, "--measure", str(path)] + (["--trace"] if trace else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)  # noqa: S603
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(sizes=SIZES_MB, keep: bool = False) -> dict:
    rows = []
    files = []
    for mb in sizes:
        xml = OUT_DIR / f"export_{mb}mb.xml"
        t0 = time.perf_counter()
        size = generate(xml, mb)
        files.append(xml)
        gen_s = time.perf_counter() - t0
        targets = [(xml, "xml")]
        if mb == min(sizes):
            zip_path = zipped(xml)
            files.append(zip_path)
            targets.append((zip_path, "zip"))
        for path, kind in targets:
            speed = _child(path, trace=False)
            traced = _child(path, trace=True)
            file_mb = path.stat().st_size / 1024 / 1024
            xml_mb = size / 1024 / 1024
            rows.append({
                "target_mb": mb, "kind": kind, "file_mb": round(file_mb, 1), "xml_mb": round(xml_mb, 1),
                "generate_s": round(gen_s, 1), "parse_s": round(speed["seconds"], 2),
                "xml_mb_per_s": round(xml_mb / speed["seconds"], 1),
                "records": speed["records"], "readings": speed["readings"], "days": speed["days"],
                "unknown_ignored": speed["unknown"], "skipped": speed["skipped"],
                "rss_delta_mb": round(speed["rss_delta_kb"] / 1024, 1),
                "tracemalloc_peak_mb": round(traced["tracemalloc_peak_bytes"] / 1024 / 1024, 2),
            })
            r = rows[-1]
            print(f"{r['target_mb']:>4} MB {kind:<3}  file {r['file_mb']:>7.1f} MB  xml {r['xml_mb']:>6.1f} MB  "
                  f"parse {r['parse_s']:>6.1f} s  {r['xml_mb_per_s']:>5.1f} MB/s  records {r['records']:>9,}  "
                  f"readings {r['readings']:>9,}  days {r['days']:>5,}  rss +{r['rss_delta_mb']:>5.1f} MB  "
                  f"tracemalloc peak {r['tracemalloc_peak_mb']:>6.2f} MB", flush=True)
    xml_rows = [r for r in rows if r["kind"] == "xml"]
    small, large = xml_rows[0], xml_rows[-1]
    ratio = large["tracemalloc_peak_mb"] / small["tracemalloc_peak_mb"]
    result = {
        "rows": rows,
        "peak_ratio_largest_vs_smallest": round(ratio, 2),
        "rss_ratio_largest_vs_smallest": round(max(large["rss_delta_mb"], 0.1) / max(small["rss_delta_mb"], 0.1), 2),
        "budget": "tracemalloc peak of the largest < 2x the smallest",
        "passed": ratio < 2.0,
    }
    print(f"peak memory: {large['target_mb']} MB -> {large['tracemalloc_peak_mb']} MB, {small['target_mb']} MB -> "
          f"{small['tracemalloc_peak_mb']} MB (ratio {ratio:.2f}; budget < 2.0): "
          f"{'PASS' if result['passed'] else 'FAIL'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    if not keep:
        for path in files:
            path.unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=list(SIZES_MB), help="export sizes in MB")
    parser.add_argument("--keep", action="store_true", help="keep the generated files in /tmp")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.trace)))
        return
    result = run(tuple(args.sizes), keep=args.keep)
    assert result["passed"], f"peak memory grew {result['peak_ratio_largest_vs_smallest']}x with the file size"


if __name__ == "__main__":
    main()
