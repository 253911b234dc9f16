"""Demo wearables data for `manage.py seed_demo`: daily metrics, connections, sync logs.

Idempotent and deterministic: values come from random.Random seeded per patient,
every value is written through `wearables.ingest.store` (the upsert, so a re-run
adds no rows), connections are looked up before they are made, and sync logs are
written once per connection. Dates are relative to today in the program's time
zone, so the trends always end today.

Kai Kahananui (MD-KAI0001, CABG 38 days ago) wears an Oura ring (RMSSD) and
sometimes an Apple Watch (SDNN through Apple Health). His HRV falls and his
resting heart rate rises about ten days ago (the week he reported swollen ankles),
with a few days of no data at all and some days when only the watch was worn.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from patients.models import Patient
from wearables import ingest
from wearables.models import Connection, SyncFailure, SyncLog

DAYS = 120
SEED = 4242
KAI_MRN = "MD-KAI0001"
FAKE_TOKEN = "demo-fake-token-not-a-real-credential"  # noqa: S105 - a placeholder, never sent anywhere real

DEVICES = {"oura": "Oura Ring Gen3", "apple_health": "Apple Watch Series 9", "whoop": "WHOOP 4.0",
           "garmin": "Garmin Venu 3", "google_health": "Fitbit Charge 6", "samsung_health": "Galaxy Watch6",
           "health_connect": "Pixel Watch 2"}
# What each source reports (real devices don't all give everything).
REPORTS = {
    "oura": {"hrv", "rhr", "sleep", "stages", "steps", "recovery", "spo2", "resp"},
    "whoop": {"hrv", "rhr", "sleep", "stages", "recovery", "spo2", "resp"},
    "garmin": {"hrv", "rhr", "sleep", "stages", "steps"},
    "google_health": {"hrv", "rhr", "sleep", "steps"},
    "apple_health": {"hrv", "rhr", "steps"},
    "samsung_health": {"rhr", "sleep", "stages", "steps"},
    "health_connect": {"rhr", "steps"},
}


def _today(patient) -> date:
    tz = patient.tz
    return timezone.now().astimezone(tz).date()


def _night(rng, hours: float) -> dict:
    deep = hours * rng.uniform(0.13, 0.21)
    rem = hours * rng.uniform(0.18, 0.25)
    light = hours - deep - rem
    return {"sleep_hours": round(hours, 2), "sleep_deep_hours": round(deep, 2), "sleep_rem_hours": round(rem, 2),
            "sleep_light_hours": round(light, 2), "sleep_awake_hours": round(rng.uniform(0.2, 0.8), 2)}


def _values(rng, source: str, hrv: float, rhr: float, sleep: float, steps: float) -> dict:
    reports = REPORTS[source]
    v: dict = {"device": DEVICES[source]}
    if "hrv" in reports:
        # Apple Watch reports SDNN: a different measurement, numerically higher than RMSSD.
        sdnn = source == "apple_health"
        v["hrv_ms"] = round(hrv * (rng.uniform(1.25, 1.45) if sdnn else 1.0), 1)
        v["hrv_method"] = "sdnn" if sdnn else "rmssd"
    if "rhr" in reports:
        v["resting_hr"] = round(rhr + (rng.uniform(-1, 2) if source != "oura" else 0))
    if "sleep" in reports:
        if "stages" in reports:
            v.update(_night(rng, sleep))
        else:
            v["sleep_hours"] = round(sleep, 2)
    if "steps" in reports:
        v["steps"] = max(0, int(steps * (rng.uniform(0.92, 1.05) if source == "apple_health" else 1)))
    if "recovery" in reports:
        v["recovery_score"] = round(max(5, min(99, 50 + (hrv - 28) * 2.2 + rng.gauss(0, 6))))
    if "spo2" in reports:
        v["spo2"] = round(rng.uniform(94.5, 98), 1)
    if "resp" in reports:
        v["respiratory_rate"] = round(rng.uniform(13.5, 16.5) + (1.5 if hrv < 22 else 0), 1)
    return v


def _kai_dailies(patient) -> dict[str, list[ingest.Daily]]:
    rng = random.Random(SEED)
    today = _today(patient)
    surgery = 38
    out: dict[str, list[ingest.Daily]] = {"oura": [], "apple_health": []}
    no_data = {3, 24, 57, 58, 81}  # days ago with nothing at all (ring charging, watch off)
    hospital = set(range(surgery - 5, surgery + 2))  # in hospital: no devices
    watch_only = {6, 15, 29, 44, 70, 92}  # ring on the charger: only the watch
    for ago in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=ago)
        if ago in no_data or ago in hospital:
            continue
        if ago > surgery:  # before surgery: his usual
            hrv, rhr, sleep, steps = 31, 63, 7.1, 6400
        else:  # recovering after surgery, with a setback about ten days ago
            weeks = (surgery - ago) / 7
            hrv = 17 + min(weeks, 4.5) * 2.6
            rhr = 79 - min(weeks, 4.5) * 2.7
            sleep = 5.9 + min(weeks, 4) * 0.25
            steps = 900 + min(weeks, 5) * 900
            if 5 <= ago <= 12:
                depth = 1 - abs(ago - 9) / 4  # worst nine days ago
                hrv *= 1 - 0.42 * depth
                rhr += 10 * depth
                sleep -= 0.8 * depth
                steps *= 1 - 0.45 * depth
            elif ago < 5:
                hrv *= 0.9
                rhr += 2.5
        hrv += rng.gauss(0, 2.2)
        rhr += rng.gauss(0, 1.4)
        sleep += rng.gauss(0, 0.45)
        steps = max(300, steps + rng.gauss(0, 700) - (1400 if day.weekday() == 6 else 0))
        if ago not in watch_only:
            out["oura"].append(ingest.Daily(day, _values(rng, "oura", hrv, rhr, sleep, steps)))
        if ago in watch_only or rng.random() < 0.35:
            out["apple_health"].append(ingest.Daily(day, _values(rng, "apple_health", hrv, rhr, sleep, steps)))
    return out


# Other demo patients: (sources, days since their last data) - some have gone quiet.
OTHERS = [(("whoop",), 0), (("oura",), 1), (("garmin",), 0), (("google_health",), 0),
          (("whoop", "apple_health"), 0), (("oura",), 6), (("garmin",), 0), (("samsung_health",), 2),
          (("health_connect",), 12), (("whoop",), 3)]


def _other_dailies(patient, index: int, sources, quiet: int) -> dict[str, list[ingest.Daily]]:
    rng = random.Random(SEED * 100 + index)
    today = _today(patient)
    base_hrv = rng.uniform(22, 62)
    base_rhr = rng.uniform(54, 74)
    base_sleep = rng.uniform(6.2, 7.8)
    base_steps = rng.uniform(3500, 10500)
    drift = rng.uniform(-0.05, 0.08)  # a slow trend over the period
    out: dict[str, list[ingest.Daily]] = {s: [] for s in sources}
    for ago in range(DAYS - 1, quiet - 1, -1):
        if rng.random() < 0.06:
            continue  # a day without the device
        day = today - timedelta(days=ago)
        trend = 1 + drift * (DAYS - ago) / DAYS
        hrv = base_hrv * trend + rng.gauss(0, base_hrv * 0.09)
        rhr = base_rhr / trend + rng.gauss(0, 1.6)
        sleep = base_sleep + rng.gauss(0, 0.55)
        steps = max(200, base_steps * trend + rng.gauss(0, 1500))
        for i, source in enumerate(sources):
            if i > 0 and rng.random() < 0.5:
                continue  # second device worn about half the days
            out[source].append(ingest.Daily(day, _values(rng, source, hrv, rhr, sleep, steps)))
    return out


def _at(patient, days_ago: int, hour: int, minute: int = 0) -> datetime:
    tz = patient.tz
    return datetime.combine(_today(patient) - timedelta(days=days_ago), time(hour, minute), tzinfo=tz)


def _connection(patient, provider: str, status: str, *, last_error: str = "") -> Connection:
    connection = (Connection.objects.filter(patient=patient, provider=provider)
                  .exclude(status=Connection.Status.DISCONNECTED).first())
    if connection is None:
        connection = Connection(project_id=patient.project_id, patient=patient, provider=provider,
                                external_user_id=f"demo-{provider}-{str(patient.pk)[:8]}", scopes="demo")
    connection.access_token = FAKE_TOKEN
    connection.refresh_token = FAKE_TOKEN
    connection.status = status
    connection.last_error = last_error
    connection.save()
    return connection


def _logs(connection, entries) -> None:
    """Write the connection's history once: (days ago, hour, status, records, skipped,
    error, failures [(endpoint, error, raw)])."""
    if SyncLog.objects.filter(connection=connection).exists():
        return
    patient = connection.patient
    last_success = last_attempt = None
    for ago, hour, status, records, skipped, error, failures in entries:
        started = _at(patient, ago, hour, 5)
        finished = started + timedelta(seconds=4 + records // 40)
        log = SyncLog.objects.create(project_id=connection.project_id, patient=patient, connection=connection,
                                     source=connection.provider, trigger=SyncLog.Trigger.SCHEDULE, status=status,
                                     started_at=started, finished_at=finished, records=records, skipped=skipped,
                                     requests=3 + records // 25, error=error,
                                     window_start=started - timedelta(hours=48), window_end=started)
        SyncLog.objects.filter(pk=log.pk).update(created_at=started)
        for endpoint, message, raw in failures:
            SyncFailure.objects.create(sync_log=log, endpoint=endpoint, error=message, raw=raw)
        last_attempt = max(last_attempt or started, started)
        if status in (SyncLog.Status.SUCCESS, SyncLog.Status.PARTIAL):
            last_success = max(last_success or finished, finished)
    Connection.objects.filter(pk=connection.pk).update(last_attempt_at=last_attempt, last_success_at=last_success)


OURA_BAD_RECORD = ('{"id": "a1b2c3d4-demo", "day": "not-a-date", "type": "long_sleep", "average_hrv": null, '
                   '"lowest_heart_rate": 58, "total_sleep_duration": "<script>alert(1)</script>"}')


def seed_wearables(project) -> dict:
    """Daily metrics, connections and sync logs for Kai and ten other demo patients."""
    patients = Patient.objects.select_related("program", "project").filter(project=project)
    kai = patients.filter(mrn=KAI_MRN).first()
    stored = 0
    if kai is not None:
        for source, dailies in _kai_dailies(kai).items():
            stored += ingest.store(kai, source, dailies=dailies).days
        oura = _connection(kai, "oura", Connection.Status.LINKED)
        _logs(oura, [
            (3, 7, SyncLog.Status.SUCCESS, 14, 0, "", []),
            (2, 7, SyncLog.Status.PARTIAL, 11, 1, "", [
                ("/v2/usercollection/sleep", "unreadable day 'not-a-date'", OURA_BAD_RECORD)]),
            (1, 7, SyncLog.Status.FAILED, 0, 0, "Oura answered 503 Service Unavailable five times; will retry "
                                                "at the next scheduled sync", []),
            (0, 7, SyncLog.Status.SUCCESS, 12, 0, "", []),
        ])

    # A spread across both programs, the same ten every run.
    active = patients.filter(status="active").exclude(mrn=KAI_MRN).order_by("mrn")
    chosen = (list(active.filter(program__name="Cardiac Rehab")[:6])
              + list(active.filter(program__name="Metabolic Health")[:4]))
    for index, patient in enumerate(chosen[:len(OTHERS)]):
        sources, quiet = OTHERS[index]
        for source, dailies in _other_dailies(patient, index, sources, quiet).items():
            stored += ingest.store(patient, source, dailies=dailies).days
        if index == 0:
            whoop = _connection(patient, "whoop", Connection.Status.LINKED)
            _logs(whoop, [(2, 6, SyncLog.Status.SUCCESS, 9, 0, "", []),
                          (1, 6, SyncLog.Status.SUCCESS, 8, 0, "", []),
                          (0, 6, SyncLog.Status.SUCCESS, 8, 0, "", [])])
        elif index == 1:
            oura = _connection(patient, "oura", Connection.Status.LINKED,
                               last_error="Read timed out after 20 s (api.ouraring.com)")
            _logs(oura, [(2, 8, SyncLog.Status.SUCCESS, 10, 0, "", []),
                         (1, 8, SyncLog.Status.SUCCESS, 9, 0, "", []),
                         (0, 8, SyncLog.Status.FAILED, 0, 0, "Read timed out after 20 s (api.ouraring.com)", [])])
        elif index == 9:
            reason = "Needs re-consent: WHOOP refused the refresh token (invalid_grant)"
            whoop = _connection(patient, "whoop", Connection.Status.NEEDS_RECONSENT, last_error=reason)
            _logs(whoop, [(4, 6, SyncLog.Status.SUCCESS, 8, 0, "", []),
                          (3, 6, SyncLog.Status.FAILED, 0, 0, reason, [])])
    return {"wearable_days": stored, "wearable_patients": len(chosen[:len(OTHERS)]) + (1 if kai else 0)}
