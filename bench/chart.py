"""Chart budget (issue 11, DESIGN.md "Budgets"):

    every chart tab <= 4x the trivial view, with two years of data and 200,000
    observations, queries constant in data size; the shell every tab pays (header,
    care team, alerts, tab list) measured on its own and <= 2x.

On PostgreSQL, one cardiac patient ("big") gets two years of everything the chart shows:
730 days of daily metrics from two sources, 200,000 observations through the one
writer, and, through each app's own services or test factories, alerts, labs,
recommendations, RPM episodes and time, visits, a conversation, meals and PHQ-9
responses. A second patient ("small") gets one week of the same. Every tab the chart
shell has registered (patients.shell.TABS, so a tab added later is measured without
editing this file) is requested as the program's clinician through Django's test client
(middleware, gate, audit, templates), interleaved with the floor /api/v1/me/. "shell" is
a tab registered by this script whose panel is empty: what every tab pays before its own
content. A tab this script has no data for is reported as such ("no data filled"): its
figure then says little.

Results: bench/results/chart.json. Without DATABASE_URL it uses
postgres://postgres@127.0.0.1:5432/mahalo_bench_chart (dropped and recreated).
Exit status 0 whether or not the budget is met.
"""

import datetime
import json
import random
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import common  # noqa: E402 - bench/ is the script's own folder

ROUNDS, OBSERVATIONS = 30, 200_000
TAB_BUDGET, SHELL_BUDGET = 4.0, 2.0

OWN_DB = common.environment("postgres://postgres@127.0.0.1:5432/mahalo_bench_chart")

# Tabs whose data this script fills; any other registered tab is measured empty and said so.
FILLED = {"overview", "timeline", "wearables", "visits", "vitals", "labs", "recommendations", "rpm", "nutrition",
          "assessments", "rehab", "shell"}


def mount_shell_tab():
    """A chart tab with an empty panel, at /bench/shell/<uuid>/, to time the shell alone."""
    from django.conf import settings
    from django.urls import clear_url_caches, include, path

    from mahalo import access
    from patients import shell

    def shell_only(request, patient_id):
        patient = access.patient_for_request(request, patient_id, "read")
        return shell.render_chart(request, patient, "shell", {})

    module = types.ModuleType("bench_urls")
    module.urlpatterns = [path("bench/shell/<uuid:patient_id>/", shell_only, name="bench_shell"),
                          path("", include(settings.ROOT_URLCONF))]
    sys.modules["bench_urls"] = module
    settings.ROOT_URLCONF = "bench_urls"
    settings.TEMPLATES[0]["DIRS"] = [*settings.TEMPLATES[0]["DIRS"], str(ROOT / "bench" / "templates")]
    clear_url_caches()
    shell.register_tab(shell.Tab("shell", "Shell only (bench)", 999, "bench_shell", "bench/empty_panel.html"))


def fill_readings(patient, days, observations, rng):
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
    step = days * 86400 / observations
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


def fill_care(patient, clinician, days, rng, hour=0):
    """What the other tabs show, spread over `days`, through services where the app has one."""
    from django.utils import timezone

    from assessments import instruments
    from assessments import services as assessments
    from assessments.tests.factories import phq9_answers
    from clinical.models import Alert
    from clinical.tests.factories import (
        AlertFactory,
        BloodTestFactory,
        ClinicalRuleFactory,
        LabOrderFactory,
        RecommendationFactory,
        RpmEpisodeFactory,
        TimeEntryFactory,
    )
    from messaging import threads
    from messaging.tests.factories import default_thread
    from nutrition.tests.factories import BANANA, MILK, SCRAMBLED, SOUP, TOAST, log
    from scheduling.models import Visit
    from scheduling.tests.factories import book

    now = timezone.now()
    weeks = max(1, days // 7)
    rules = [ClinicalRuleFactory(project=patient.project, code=f"bench_{patient.pk.hex[:6]}_{n}") for n in range(3)]
    for i in range(weeks):  # one alert a week, all but the last two resolved (one open alert per rule)
        at = now - datetime.timedelta(days=7 * i)
        alert = AlertFactory(patient=patient, rule=rules[min(i, 2)])
        Alert.objects.filter(pk=alert.pk).update(created_at=at, last_triggered_at=at)
        if i > 1:
            Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.RESOLVED, closed_at=at)
    for i in range(max(1, days // 30)):  # a lab order a month with four results
        at = now - datetime.timedelta(days=30 * i)
        LabOrderFactory(patient=patient, ordered_by=clinician)
        for name, loinc, value in (("A1C", "4548-4", 6.1), ("LDL", "13457-7", 110), ("Potassium", "2823-3", 4.2),
                                   ("Creatinine", "2160-0", 1.0)):
            BloodTestFactory(patient=patient, test_name=name, loinc=loinc, value=value + rng.uniform(-0.2, 0.2),
                             recorded_at=at)
    RecommendationFactory.create_batch(max(1, days // 30), patient=patient, created_by=clinician)
    for i in range(max(1, days // 30)):  # an RPM month each month, with clinician time
        RpmEpisodeFactory(patient=patient, started_on=(now - datetime.timedelta(days=30 * i + 29)).date())
        TimeEntryFactory.create_batch(3, patient=patient, staff=clinician,
                                      started_at=now - datetime.timedelta(days=30 * i + 2))
    for i in range(max(1, days // 14)):  # a visit every two weeks, booked as they were, then completed
        starts = now.replace(minute=0, second=0, microsecond=0) - datetime.timedelta(days=14 * i + 1, hours=hour)
        visit = book(patient, clinician, starts, now=starts - datetime.timedelta(days=2))
        Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.COMPLETED)
    book(patient, clinician, now.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(days=3, hours=hour))
    thread = default_thread(patient, clinician)
    for i in range(max(2, days // 3)):
        threads.message_send(thread=thread, sender=clinician if i % 2 else patient.user or clinician,
                             body=f"Check-in {i}: how are the readings this week?")
    menu = [(SCRAMBLED, 2, "large"), (TOAST, 2, "slice"), (MILK, 1, "cup"), (SOUP, 1, "serving 1 cup"),
            (BANANA, 118, "g")]
    for i in range(min(days, 89)):  # two meals a day, as far back as a meal may be logged (90 days)
        for n, meal_type in enumerate(("breakfast", "dinner")):
            log(patient, clinician, [menu[(i + n) % len(menu)], menu[(i + n + 2) % len(menu)]],
                meal_type=meal_type, at=now - datetime.timedelta(days=i, hours=2 + 10 * n))
    for i in range(max(1, days // 14)):  # a PHQ-9 every two weeks
        at = now - datetime.timedelta(days=14 * i)
        assignment = assessments.assignment_create(
            patient=patient, questionnaire=assessments.resolve(patient.project, instruments.PHQ9), actor=clinician,
            now=at - datetime.timedelta(hours=1))
        assessments.response_submit(assignment=assignment, answers=phq9_answers([rng.randrange(3)] * 8 + [0]),
                                    actor=clinician, via="staff", now=at)
    fill_rehab(patient, clinician, days, rng)


def fill_rehab(patient, clinician, days, rng):
    """Rehab (issue 17): a prescription, an exercise log most days (bulk: the log service's safety
    check is not what is measured), a supervised session a week, sleep logs, daily scores."""
    from decimal import Decimal

    from care.demo import ensure_library
    from care.models import DailyScore, ExerciseLog, RehabSession, SleepLog
    from care.services import rehab

    ensure_library(patient.project)
    start = patient.today - datetime.timedelta(days=days)
    rx = rehab.prescription_create(patient=patient, actor=clinician, via="bench", data=rehab.PrescriptionIn(
        exercise=rehab.exercises_for(patient).get(name="Walking"), minutes=30, sessions_per_week=5,
        hrr_low=Decimal("0.4"), hrr_high=Decimal("0.6"), resting_hr=65, max_hr=150, start_date=start))
    logs, sessions, sleeps, day_scores = [], [], [], []
    for i in range(days):
        day = patient.today - datetime.timedelta(days=i)
        at = datetime.datetime.combine(day, datetime.time(0, 30), tzinfo=patient.tz)
        if rng.random() < 0.7:
            logs.append(ExerciseLog(project_id=patient.project_id, patient=patient, prescription=rx,
                                    exercise_id=rx.exercise_id, performed_at=at, local_date=day,
                                    duration_min=rng.choice([20, 30, 35]), avg_hr=rng.randint(95, 125),
                                    max_hr=rng.randint(110, 130), rpe=rng.randint(10, 14),
                                    symptoms=["dizziness"] if rng.random() < 0.03 else []))
        if i % 7 == 3:
            sessions.append(RehabSession(project_id=patient.project_id, patient=patient, starts_at=at,
                                         local_date=day, status="attended"))
        sleeps.append(SleepLog(project_id=patient.project_id, patient=patient, night=day,
                               quality=rng.randint(2, 5), interruptions=rng.randint(0, 3)))
        day_scores.append(DailyScore(project_id=patient.project_id, patient=patient, date=day,
                                     overall=rng.randint(40, 95), components=[]))
    for model, rows in ((ExerciseLog, logs), (RehabSession, sessions), (SleepLog, sleeps), (DailyScore, day_scores)):
        model.objects.bulk_create(rows, batch_size=2000)


def run() -> dict:
    reuse = "--reuse" in sys.argv  # keep the filled database of the last run (while tuning: filling takes minutes)
    if not reuse:
        common.prepare_database(OWN_DB)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from mahalo.models import FeatureFlag, ProgramAssignment, Project, StaffMember, User
    from mahalo.services import project_ensure_default_roles
    from nutrition.tests.factories import load_fixture_foods
    from patients import shell
    from patients.models import Patient, Program

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    mount_shell_tab()
    rng = random.Random(20261123)
    if reuse and Project.objects.filter(slug="chart-bench").exists():
        return measure_all(Project.objects.get(slug="chart-bench"), rng, load_s=0.0)
    project = Project.objects.create(name="Chart bench", slug="chart-bench")
    roles = project_ensure_default_roles(project=project)
    program = Program.objects.create(project=project, name="Cardiac Rehab", timezone="Pacific/Honolulu")
    # Every feature-flagged tab on, so every registered tab is measured.
    for tab in shell.TABS.values():
        if tab.feature:
            FeatureFlag.objects.update_or_create(project=project, name=tab.feature, defaults={"enabled": True})
    user = User.objects.create_user(f"lead-{rng.randrange(10**9)}@bench.test", "bench-password-123")
    staff = StaffMember.objects.create(user=user, project=project, role=roles["Clinical Lead"], title="RN")
    ProgramAssignment.objects.create(staff=staff, program=program)
    big = Patient.objects.create(project=project, program=program, first_name="Big", last_name="History",
                                 height_cm=178, date_of_birth=datetime.date(1958, 4, 2))
    small = Patient.objects.create(project=project, program=program, first_name="Small", last_name="History",
                                   height_cm=170, date_of_birth=datetime.date(1961, 9, 12))
    load_fixture_foods()
    t0 = time.perf_counter()
    # Care data first: each meal and questionnaire re-runs the patient's rules (eagerly, without a
    # broker), which is quicker before the 200,000 readings are there.
    fill_care(small, user, 7, rng, hour=1)  # the small one first: a mistake shows in seconds
    fill_readings(small, 7, 140, rng)
    fill_care(big, user, 730, rng)
    fill_readings(big, 730, OBSERVATIONS, rng)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    return measure_all(project, rng, load_s=time.perf_counter() - t0)


def measure_all(project, rng, load_s: float) -> dict:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from mahalo.models import StaffMember
    from patients import shell
    from patients.models import Patient

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    user = StaffMember.objects.get(project=project).user
    big, small = (Patient.objects.get(project=project, first_name=n) for n in ("Big", "Small"))
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    tabs = sorted(shell.TABS.values(), key=lambda t: (t.order, t.key))
    print(f"PostgreSQL {pg}; filled {OBSERVATIONS:,} observations, 2 x 730 days and two years of care data "
          f"in {load_s:.0f} s; {len(tabs)} tabs registered\n")
    results = {}
    for who, patient in (("small", small), ("big", big)):
        views = [(t.key, reverse(t.url_name, args=[patient.pk])) for t in tabs] + [("floor", "/api/v1/me/")]
        results[who] = common.measure(client, views, ROUNDS, rng)
    floor = results["big"]["floor"][1]
    header = (f"{'tab':<18} {'queries 1 wk':>12} {'queries 2 y':>11} {'median ms':>9} {'x floor':>7} "
              f"{'budget':>6}  verdict")
    print(header + "\n" + "-" * len(header))
    rows, ok = [], True
    for t in tabs:
        q_small, q_big, ms = results["small"][t.key][0], results["big"][t.key][0], results["big"][t.key][1]
        budget = SHELL_BUDGET if t.key == "shell" else TAB_BUDGET
        ratio = ms / floor
        passed = q_small == q_big and ratio <= budget
        ok &= passed
        note = "" if t.key in FILLED else "  (no data filled)"
        rows.append({"tab": t.key, "queries_1_week": q_small, "queries_2_years": q_big, "median_ms": round(ms, 2),
                     "floor_ms": round(floor, 2), "ratio": round(ratio, 2), "budget": budget, "pass": passed,
                     "data_filled": t.key in FILLED})
        print(f"{t.key:<18} {q_small:>12} {q_big:>11} {ms:>9.1f} {ratio:>6.2f}x {budget:>5g}x  "
              f"{'PASS' if passed else 'FAIL'}{note}")
    print(f"floor /api/v1/me/ {floor:.2f} ms\nevery tab <= {TAB_BUDGET:g}x, shell <= {SHELL_BUDGET:g}x, "
          f"queries constant: {'PASS' if ok else 'FAIL'}")
    result = {"budget": f"every chart tab <= {TAB_BUDGET:g}x the trivial view with two years of data and "
                        f"200,000 observations, queries constant in data size; the shell alone <= {SHELL_BUDGET:g}x",
              "postgres": pg, "rounds": ROUNDS, "rows": rows, "pass": ok,
              "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    out = ROOT / "bench" / "results" / "chart.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    run()
