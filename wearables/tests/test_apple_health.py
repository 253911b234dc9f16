"""Apple Health import: both real fixture exports (fr_FR with its DTD, en_US), upload
through the portal and the staff page (zip and xml), idempotent re-import, phone +
watch de-duplication per local day, unit conversions, bad files, size limit,
progress fragment, the sweeper, and the gate."""

import io
import random
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clinical.models import Observation
from wearables import apple_health, apple_import
from wearables.models import AppleHealthImport, Connection, DailyMetric, SyncFailure, SyncLog

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "apple_health"
FR = FIXTURES / "export.xml"
EN = FIXTURES / "export_en_us.xml"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def as_zip(xml: bytes, member="apple_health_export/export.xml") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, xml)
        archive.writestr("apple_health_export/export_cda.xml", b"<ClinicalDocument/>")
    return buf.getvalue()


def record(kind, value, start, end=None, unit="count", source="iPhone", device="", extra=""):
    dev = f' device="{device}"' if device else ""
    return (f'<Record type="{kind}" sourceName="{source}"{dev} unit="{unit}" creationDate="{start}" '
            f'startDate="{start}" endDate="{end or start}" value="{value}"{extra}/>')


WATCH_DEVICE = ("&lt;&lt;HKDevice: 0x1&gt;, name:Apple Watch, manufacturer:Apple, model:Watch, "
                "hardware:Watch6,1, software:9.0&gt;")
Q = "HKQuantityTypeIdentifier"


def export(*records: str) -> bytes:
    body = "\n".join(records)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
            f'<ExportDate value="2024-03-02 10:00:00 -1000"/>\n{body}\n</HealthData>\n').encode()


def run_import(patient, content: bytes, name="export.xml") -> AppleHealthImport:
    """Save an upload row the way the views do and run the task body synchronously."""
    log = SyncLog.objects.create(project=patient.project, patient=patient, source="apple_health", trigger="upload")
    job = AppleHealthImport(project=patient.project, patient=patient, original_name=name, size=len(content),
                            sync_log=log)
    job.file.save(name, ContentFile(content), save=False)
    job.save()
    apple_import.run(job.pk)
    job.refresh_from_db()
    return job


def counts(patient):
    return (Observation.objects.filter(patient=patient).count(),
            DailyMetric.objects.filter(patient=patient).count())


# --- The fixture exports ---------------------------------------------------------------


@pytest.mark.django_db
def test_fr_fr_fixture_with_dtd_imports_exact_values(world):
    me = world.me  # Cardiac Rehab: Pacific/Honolulu
    job = run_import(me, FR.read_bytes())
    assert job.status == "done", job.error
    assert job.records_seen == 13 and job.bytes_read == job.size
    log = SyncLog.objects.get(pk=job.sync_log_id)
    assert (log.status, log.trigger, log.source, log.skipped) == ("success", "upload", "apple_health", 0)
    assert log.records == job.records_stored > 0

    obs = {o.metric: o for o in Observation.objects.filter(patient=me, source="apple_health")}
    assert set(obs) == {"vo2max", "resting_heart_rate", "height", "hrv", "heart_rate", "weight"}
    hrv = obs["hrv"]
    # SDNN stays SDNN: same number, method sdnn, never converted to RMSSD.
    assert (hrv.value, hrv.unit, hrv.method) == (pytest.approx(25.5526), "ms", "sdnn")
    assert hrv.effective_at == datetime(2018, 11, 19, 7, 33, 39, tzinfo=UTC)
    assert hrv.device == "Apple Watch (Watch4,2)"
    assert (obs["heart_rate"].value, obs["heart_rate"].unit) == (90, "bpm")
    assert obs["resting_heart_rate"].value == 49
    assert (obs["height"].value, obs["height"].unit) == (183, "cm")
    assert (obs["weight"].value, obs["weight"].unit) == (83, "kg")
    assert obs["vo2max"].value == pytest.approx(42.095)  # unit "mL/min·kg" read fine

    days = {d.date: d for d in DailyMetric.objects.filter(patient=me, source="apple_health")}
    # 2016-07-11 21:58 +0100 is 10:58 in Honolulu, the same day.
    assert days[date(2016, 7, 11)].steps == 14
    # 2018-11-19 08:33 +0100 is the evening of the 18th in Honolulu.
    assert days[date(2018, 11, 18)].hrv_ms == pytest.approx(25.5526)
    assert days[date(2018, 11, 18)].hrv_method == "sdnn"
    assert days[date(2018, 11, 29)].resting_hr == 49
    assert days[date(2018, 10, 27)].active_energy_kcal == pytest.approx(0.058)
    me.refresh_from_db()
    assert me.last_data_at is not None


@pytest.mark.django_db
def test_en_us_fixture_imports_workout_and_heart_rate(world):
    job = run_import(world.me, EN.read_bytes())
    assert job.status == "done", job.error
    workout = Observation.objects.get(patient=world.me, metric="workout")
    assert workout.unit == "min" and workout.value == pytest.approx(5.19, abs=0.01)
    assert workout.effective_at == datetime(2016, 11, 14, 14, 25, 41, tzinfo=UTC)
    assert workout.end_at == datetime(2016, 11, 14, 14, 30, 52, tzinfo=UTC)
    assert workout.details["activity"] == "Running"
    assert workout.details["energy_kcal"] == pytest.approx(48.745, abs=0.01)
    assert workout.details["distance_km"] == pytest.approx(0.4971749504535062 * 1.609344, abs=1e-3)
    hr = Observation.objects.get(patient=world.me, metric="heart_rate")
    assert hr.value == 72 and hr.effective_at == datetime(2018, 9, 10, 9, 28, 55, tzinfo=UTC)
    assert Observation.objects.get(patient=world.me, metric="bmi").value == pytest.approx(22.5312)
    # DietaryFatTotal is not ours: ignored, not an error.
    assert Observation.objects.filter(patient=world.me).count() == 3
    assert SyncLog.objects.get(pk=job.sync_log_id).status == "success"


@pytest.mark.django_db
def test_reimporting_the_same_file_adds_no_rows(world):
    content = export(
        record(Q + "StepCount", "500", "2024-03-01 09:00:00 -1000", "2024-03-01 09:10:00 -1000"),
        record(Q + "HeartRate", "61", "2024-03-01 09:00:00 -1000", unit="count/min"),
    )
    for payload in (FR.read_bytes(), EN.read_bytes(), content):
        run_import(world.me, payload)
    before = counts(world.me)
    assert before[0] > 0 and before[1] > 0
    for payload in (FR.read_bytes(), EN.read_bytes(), content):
        assert run_import(world.me, payload).status == "done"
    assert counts(world.me) == before
    assert DailyMetric.objects.get(patient=world.me, date=date(2024, 3, 1)).steps == 500


# --- Steps: per local day, phone + watch not double counted ----------------------------------


@pytest.mark.django_db
def test_phone_and_watch_steps_on_the_same_day_are_not_double_counted(world):
    content = export(
        # March 1 (Honolulu): the phone counts 1,000 + 500, the watch 1,200 (the same walks, mostly).
        record(Q + "StepCount", "1000", "2024-03-01 08:00:00 -1000", "2024-03-01 08:30:00 -1000"),
        record(Q + "StepCount", "500", "2024-03-01 17:00:00 -1000", "2024-03-01 17:10:00 -1000"),
        record(Q + "StepCount", "700", "2024-03-01 08:00:00 -1000", "2024-03-01 08:30:00 -1000",
               source="Kai’s Apple Watch", device=WATCH_DEVICE),
        record(Q + "StepCount", "500", "2024-03-01 17:00:00 -1000", "2024-03-01 17:10:00 -1000",
               source="Kai’s Apple Watch", device=WATCH_DEVICE),
        # March 2: phone only (watch charging); 23:30 local is still the 2nd in Honolulu...
        record(Q + "StepCount", "800", "2024-03-02 23:30:00 -1000", "2024-03-02 23:40:00 -1000"),
        # ...and 09:30 UTC on the 3rd is 23:30 on the 2nd in Honolulu too.
        record(Q + "StepCount", "200", "2024-03-03 09:30:00 +0000", "2024-03-03 09:35:00 +0000"),
        # March 3: two phones, no watch -> the larger one, not the sum.
        record(Q + "StepCount", "300", "2024-03-03 12:00:00 -1000", "2024-03-03 12:05:00 -1000"),
        record(Q + "StepCount", "450", "2024-03-03 12:00:00 -1000", "2024-03-03 12:05:00 -1000",
               source="Old iPhone"),
        # Active energy follows the same rule (kJ converted to kcal).
        record(Q + "ActiveEnergyBurned", "100", "2024-03-01 08:00:00 -1000", unit="kcal"),
        record(Q + "ActiveEnergyBurned", "418.4", "2024-03-01 08:00:00 -1000", unit="kJ",
               source="Kai’s Apple Watch", device=WATCH_DEVICE),
    )
    job = run_import(world.me, content)
    assert job.status == "done", job.error
    days = {d.date: d for d in DailyMetric.objects.filter(patient=world.me)}
    assert days[date(2024, 3, 1)].steps == 1200  # the watch's day, not 1,500 + 1,200
    assert days[date(2024, 3, 2)].steps == 1000
    assert days[date(2024, 3, 3)].steps == 450
    assert days[date(2024, 3, 1)].active_energy_kcal == pytest.approx(100.0)
    # Steps are daily values only: no per-sample rows to double count later either.
    assert not Observation.objects.filter(patient=world.me, metric="steps").exists()


@pytest.mark.django_db
def test_units_bp_correlation_sleep_and_bad_records(world):
    bp = ('<Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" '
          'startDate="2024-03-01 07:00:00 -1000" endDate="2024-03-01 07:00:00 -1000">'
          + record(Q + "BloodPressureSystolic", "128", "2024-03-01 07:00:00 -1000", unit="mmHg", source="Omron")
          + record(Q + "BloodPressureDiastolic", "82", "2024-03-01 07:00:00 -1000", unit="mmHg", source="Omron")
          + "</Correlation>")
    sleep = "HKCategoryTypeIdentifierSleepAnalysis"
    content = export(
        bp,
        # The same components appear top level too (Apple's DTD says so): not a second BP.
        record(Q + "BloodPressureSystolic", "128", "2024-03-01 07:00:00 -1000", unit="mmHg", source="Omron"),
        record(Q + "BodyMass", "176,4", "2024-03-01 06:00:00 -1000", unit="lb"),  # decimal comma
        record(Q + "Height", "5.9", "2024-03-01 06:00:00 -1000", unit="ft"),
        record(Q + "OxygenSaturation", "0.97", "2024-03-01 03:00:00 -1000", unit="%"),
        record(Q + "OxygenSaturation", "95", "2024-03-01 04:00:00 -1000", unit="%"),
        record(Q + "BodyTemperature", "98.6", "2024-03-01 06:05:00 -1000", unit="degF"),
        # Apple writes the molar mass into the unit (escaped in the attribute).
        record(Q + "BloodGlucose", "5.5", "2024-03-01 06:10:00 -1000", unit="mmol&lt;180.1558800000541&gt;/L"),
        record(Q + "RespiratoryRate", "14,5", "2024-03-01 03:00:00 -1000", unit="count/min"),
        record(Q + "RestingHeartRate", "58", "2024-03-01 06:00:00 -1000", "2024-03-01 20:00:00 -1000",
               unit="count/min", source="Apple Watch", device=WATCH_DEVICE),
        record(Q + "HeartRateVariabilitySDNN", "40", "2024-03-01 02:00:00 -1000", unit="ms", source="Apple Watch"),
        record(Q + "HeartRateVariabilitySDNN", "50", "2024-03-01 03:00:00 -1000", unit="ms", source="Apple Watch"),
        # The night of Feb 29 -> Mar 1, watch stages; the phone's "asleep" guess is not added on top.
        record(sleep, "HKCategoryValueSleepAnalysisInBed", "2024-02-29 22:00:00 -1000", "2024-03-01 06:30:00 -1000",
               unit="", source="Kai’s iPhone"),
        record(sleep, "HKCategoryValueSleepAnalysisAsleepUnspecified", "2024-02-29 23:00:00 -1000",
               "2024-03-01 06:00:00 -1000", unit="", source="Kai’s iPhone"),
        record(sleep, "HKCategoryValueSleepAnalysisAsleepCore", "2024-02-29 23:00:00 -1000",
               "2024-03-01 03:00:00 -1000", unit="", source="Apple Watch", device=WATCH_DEVICE),
        record(sleep, "HKCategoryValueSleepAnalysisAsleepDeep", "2024-03-01 03:00:00 -1000",
               "2024-03-01 04:30:00 -1000", unit="", source="Apple Watch", device=WATCH_DEVICE),
        record(sleep, "HKCategoryValueSleepAnalysisAwake", "2024-03-01 04:30:00 -1000",
               "2024-03-01 04:45:00 -1000", unit="", source="Apple Watch", device=WATCH_DEVICE),
        record(sleep, "HKCategoryValueSleepAnalysisAsleepREM", "2024-03-01 04:45:00 -1000",
               "2024-03-01 06:15:00 -1000", unit="", source="Apple Watch", device=WATCH_DEVICE),
        # Unreadable: counted as skipped, kept for diagnosis, the rest still lands.
        record(Q + "HeartRate", "fast", "2024-03-01 09:00:00 -1000", unit="count/min"),
        record(Q + "HeartRate", "70", "yesterday", unit="count/min"),
        record(Q + "HeartRate", "71", "2024-03-01 09:05:00 -1000", unit="count/min"),
        record("HKQuantityTypeIdentifierDietaryWater", "250", "2024-03-01 09:00:00 -1000", unit="mL"),
    )
    job = run_import(world.me, content)
    assert job.status == "done", job.error
    log = SyncLog.objects.get(pk=job.sync_log_id)
    assert log.status == "partial" and log.skipped == 2
    assert SyncFailure.objects.filter(sync_log=log).count() == 2
    assert "fast" in SyncFailure.objects.filter(sync_log=log).first().raw

    o = {}
    for row in Observation.objects.filter(patient=world.me):
        o.setdefault(row.metric, []).append(row)
    assert len(o["blood_pressure"]) == 1
    assert (o["blood_pressure"][0].value, o["blood_pressure"][0].value2) == (128, 82)
    assert o["weight"][0].value == pytest.approx(176.4 * 0.45359237, abs=1e-3)
    assert o["height"][0].value == pytest.approx(179.83, abs=0.01)
    assert sorted(x.value for x in o["spo2"]) == [pytest.approx(95), pytest.approx(97)]
    assert o["body_temperature"][0].value == pytest.approx(37.0) and o["body_temperature"][0].unit == "Cel"
    assert o["glucose"][0].value == pytest.approx(99.09, abs=0.01) and o["glucose"][0].unit == "mg/dL"
    assert o["respiratory_rate"][0].value == pytest.approx(14.5)
    assert [x.value for x in o["heart_rate"]] == [71]
    assert {x.method for x in o["hrv"]} == {"sdnn"}
    session = o["sleep_session"][0]
    assert session.value == pytest.approx(4 + 1.5 + 1.5)  # core + deep + REM, not the phone's 7 h on top
    assert session.effective_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert session.end_at == datetime(2024, 3, 1, 16, 15, tzinfo=UTC)

    day = DailyMetric.objects.get(patient=world.me, date=date(2024, 3, 1))
    assert day.sleep_hours == pytest.approx(7.0) and day.sleep_deep_hours == pytest.approx(1.5)
    assert day.sleep_light_hours == pytest.approx(4.0) and day.sleep_rem_hours == pytest.approx(1.5)
    assert day.sleep_awake_hours == pytest.approx(0.25)
    assert day.hrv_ms == pytest.approx(45.0) and day.hrv_method == "sdnn"
    assert day.resting_hr == 58 and day.spo2 == pytest.approx(96.0)
    assert day.respiratory_rate == pytest.approx(14.5)


# --- Uploads ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patient_uploads_a_zip_from_the_portal(world, login, django_capture_on_commit_callbacks):
    client = login(world.patient_user)
    upload = SimpleUploadedFile("export.zip", as_zip(FR.read_bytes()), content_type="application/zip")
    from django.core.files.storage import default_storage

    stored_names = []
    original_save = default_storage.save

    def spy(name, content, **kwargs):
        stored_names.append(original_save(name, content, **kwargs))
        return stored_names[-1]

    default_storage.save = spy
    try:
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(reverse("portal_apple_health"), {"file": upload})
    finally:
        del default_storage.save
    assert r.status_code == 302 and r["Location"].startswith(reverse("portal_devices"))
    job = AppleHealthImport.objects.get(patient=world.me)
    assert job.status == "done" and job.uploaded_by == world.patient_user and job.original_name == "export.zip"
    assert job.bytes_read == job.size
    # Once imported, the uploaded export (PHI) is deleted; its readings stay.
    assert stored_names and stored_names[0].endswith(".zip")
    assert not job.file and not default_storage.exists(stored_names[0])
    assert Observation.objects.get(patient=world.me, metric="hrv").method == "sdnn"
    page = client.get(reverse("portal_devices"))
    assert b"export.zip" in page.content and b"Imported" in page.content
    assert b'hx-trigger="every 2s"' not in page.content  # done: no polling


@pytest.mark.django_db
def test_patient_uploads_plain_xml(world, login, django_capture_on_commit_callbacks):
    client = login(world.patient_user)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("portal_apple_health"), {"file": SimpleUploadedFile("export.xml", EN.read_bytes())})
    assert r.status_code == 302
    assert AppleHealthImport.objects.get(patient=world.me).status == "done"
    assert Observation.objects.filter(patient=world.me, metric="workout").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["export.zip", "export.xml"])
def test_staff_upload_for_a_patient(world, login, django_capture_on_commit_callbacks, name):
    patient = world.cardiac_patients[1]
    content = as_zip(FR.read_bytes()) if name.endswith(".zip") else FR.read_bytes()
    client = login(world.clinician)
    url = reverse("staff_apple_health", args=[patient.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"Upload an export" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, {"file": SimpleUploadedFile(name, content)})
    assert r.status_code == 302 and r["Location"] == url
    job = AppleHealthImport.objects.get(patient=patient)
    assert job.status == "done" and job.uploaded_by == world.clinician
    assert DailyMetric.objects.get(patient=patient, date=date(2016, 7, 11)).steps == 14
    assert not Observation.objects.filter(patient=world.me).exists()  # only that patient's record


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content", "message"), [
    ("export.txt", b"<HealthData/>", b"Choose the export.zip"),
    ("export.zip", b"not a zip at all", b"not a readable zip"),
    ("export.zip", None, b"apple_health_export/export.xml"),
    ("export.xml", b"<?xml version='1.0'?><html><body>hi</body></html>", b"not an Apple Health export"),
    ("export.xml", b"", b"empty"),
])
def test_bad_file_shows_an_inline_error_and_stores_nothing(world, login, settings, name, content, message,
                                                           django_capture_on_commit_callbacks):
    if content is None:  # a zip without the export inside
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("photos/cat.jpg", b"\xff\xd8")
        content = buf.getvalue()
    client = login(world.patient_user)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("portal_apple_health"), {"file": SimpleUploadedFile(name, content)})
    assert r.status_code == 200
    assert message in r.content and b'aria-invalid="true"' in r.content
    assert not AppleHealthImport.objects.exists() and not SyncLog.objects.exists()
    assert counts(world.me) == (0, 0)
    assert not (Path(settings.MEDIA_ROOT) / "wearables").exists()
    # The staff page says the same.
    r = login(world.clinician).post(reverse("staff_apple_health", args=[world.me.pk]),
                                    {"file": SimpleUploadedFile(name, content)})
    assert r.status_code == 200 and message in r.content and not AppleHealthImport.objects.exists()


@pytest.mark.django_db
def test_size_limit(world, login, settings):
    settings.WEARABLES_APPLE_HEALTH_MAX_MB = 1
    big = export(*[f"<!-- {'x' * 1000} -->" for _ in range(1100)])
    assert len(big) > 1024 * 1024
    r = login(world.patient_user).post(reverse("portal_apple_health"), {"file": SimpleUploadedFile("export.xml", big)})
    assert r.status_code == 200 and b"the largest accepted is 1 MB" in r.content
    assert not AppleHealthImport.objects.exists()


@pytest.mark.django_db
def test_broken_xml_fails_visibly(world):
    job = run_import(world.me, export(record(Q + "HeartRate", "60", "2024-03-01 09:00:00 -1000"))[:-30])
    assert job.status == "failed" and "broken" in job.error
    assert SyncLog.objects.get(pk=job.sync_log_id).status == "failed"


# --- Progress, sweeper --------------------------------------------------------------------


def running_job(patient, **fields):
    job = AppleHealthImport(project=patient.project, patient=patient, original_name="export.zip", size=1000,
                            status="running", bytes_read=420, records_seen=12345, heartbeat_at=timezone.now(),
                            **fields)
    job.file.save("export.xml", ContentFile(FR.read_bytes()), save=False)
    job.save()
    return job


@pytest.mark.django_db
def test_progress_fragment_polls_while_running_and_stops_when_done(world, login):
    job = running_job(world.me)
    client = login(world.patient_user)
    url = reverse("portal_apple_health_status", args=[job.pk])
    r = client.get(url, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and r["Vary"] and "HX-Request" in r["Vary"]
    html = r.content.decode()
    assert 'hx-trigger="every 2s"' in html and f'hx-get="{url}"' in html
    assert 'value="42"' in html and "12,345 records read" in html
    # The devices page shows the same bar.
    assert 'hx-trigger="every 2s"' in client.get(reverse("portal_devices")).content.decode()

    AppleHealthImport.objects.filter(pk=job.pk).update(status="done", records_stored=99)
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in html and "Imported" in html and "99 values saved" in html
    # Without htmx: back to the page.
    assert client.get(url).status_code == 302
    # Staff fragment too.
    staff_url = reverse("staff_apple_health_status", args=[world.me.pk, job.pk])
    assert login(world.clinician).get(staff_url, HTTP_HX_REQUEST="true").status_code == 200


def test_progress_is_reported_from_the_underlying_file_position(monkeypatch):
    monkeypatch.setattr(apple_health, "PROGRESS_EVERY", 2000)
    rng = random.Random(4)
    xml = export(*[record(Q + "HeartRate", str(rng.randint(50, 150)),
                          f"2024-03-{1 + i // 86400:02d} {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d} -1000",
                          unit="count/min", source="Apple Watch",
                          device=f"&lt;&lt;HKDevice: 0x{rng.getrandbits(48):x}&gt;, name:Apple Watch&gt;")
                   for i in range(10_000)])
    me = SimpleNamespace(program_id=1, program=SimpleNamespace(tz=ZoneInfo("Pacific/Honolulu")))
    for name, content in (("export.xml", xml), ("export.zip", as_zip(xml))):
        seen, batches = [], []

        def sink(readings, dailies, batches=batches):
            batches.append(len(readings))
            return len(readings)

        result = apple_health.parse_file(io.BytesIO(content), name, me, sink,
                                         progress=lambda n, pos, seen=seen: seen.append((n, pos)), batch=3000)
        # Batches leave as they fill; progress every PROGRESS_EVERY records, with the byte
        # offset in the file itself (compressed bytes for the zip), growing as it goes.
        assert result.records_seen == 10_000 and result.readings == 10_000
        assert batches == [3000, 3000, 3000, 1000]
        assert [n for n, _ in seen] == [2000, 4000, 6000, 8000, 10_000]
        positions = [pos for _, pos in seen]
        assert all(0 < pos <= len(content) for pos in positions)
        assert positions == sorted(positions) and len(set(positions)) >= 4, (name, len(content), positions)


@pytest.mark.django_db
def test_sweeper_requeues_a_stale_import_and_the_restart_is_idempotent(world, django_capture_on_commit_callbacks):
    first = run_import(world.me, FR.read_bytes())
    before = counts(world.me)
    # A worker died mid-file: RUNNING, heartbeat 11 minutes old. Same file again.
    job = running_job(world.me)
    AppleHealthImport.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=11))
    fresh = running_job(world.me)  # a live import is left alone
    assert apple_import.sweep_stale() == 1  # eager: runs now
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == "done" and job.sync_log is not None and job.sync_log.status == "success"
    assert fresh.status == "running"
    assert counts(world.me) == before
    assert apple_import.run(first.pk) == "done"  # a finished import is not run twice
    assert apple_import.run(fresh.pk) == "running"  # nor a live one taken over


# --- Devices page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_devices_page_shows_status_last_sync_and_actions(world, login, settings):
    settings.WEARABLES_WHOOP_CLIENT_ID, settings.WEARABLES_WHOOP_CLIENT_SECRET = "id", "secret"
    settings.WEARABLES_OURA_CLIENT_ID, settings.WEARABLES_OURA_CLIENT_SECRET = "id", "secret"
    settings.WEARABLES_WITHINGS_CLIENT_ID, settings.WEARABLES_WITHINGS_CLIENT_SECRET = "id", "secret"
    settings.WEARABLES_STRAVA_CLIENT_ID = settings.WEARABLES_POLAR_CLIENT_ID = ""
    synced = datetime(2024, 3, 1, 20, 30, tzinfo=UTC)  # 10:30 in Honolulu
    Connection.objects.create(project=world.project, patient=world.me, provider="whoop", last_success_at=synced)
    Connection.objects.create(project=world.project, patient=world.me, provider="oura", status="needs_reconsent")
    html = login(world.patient_user).get(reverse("portal_devices")).content.decode()
    assert "Connected" in html and "Mar 1, 2024 10:30 HST" in html and " ago" in html
    assert "Reconnect needed" in html
    assert f'href="{reverse("wearables_connect", args=["oura"])}"' in html and "Reconnect" in html
    assert "The data already shared stays in your record" in html
    # Withings is offered but not connected; Polar and Strava are not offered: only named.
    assert "Not connected" in html and f'href="{reverse("wearables_connect", args=["withings"])}"' in html
    assert "Not offered by your program yet:" in html and "Polar" in html
    assert reverse("wearables_connect", args=["polar"]) not in html
    assert 'id="apple-health"' in html and 'accept=".zip,.xml' in html


# --- The gate --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_required_and_other_programs_get_404(world, client, login):
    patient = world.cardiac_patients[1]
    url = reverse("staff_apple_health", args=[patient.pk])
    job = running_job(patient)
    portal_status = reverse("portal_apple_health_status", args=[job.pk])
    staff_status = reverse("staff_apple_health_status", args=[patient.pk, job.pk])
    for anonymous in (url, staff_status, portal_status, reverse("portal_devices")):
        r = client.get(anonymous)
        assert r.status_code == 302 and "login" in r["Location"]
    assert client.post(reverse("portal_apple_health")).status_code == 302

    upload = {"file": SimpleUploadedFile("export.xml", FR.read_bytes())}
    for user in (world.other_clinician, world.outsider):  # another program, another tenant
        c = login(user)
        assert c.get(url).status_code == 404
        assert c.post(url, upload).status_code == 404
        assert c.get(staff_status, HTTP_HX_REQUEST="true").status_code == 404
    foreign = world.foreign_patients[0]
    assert login(world.lead).get(reverse("staff_apple_health", args=[foreign.pk])).status_code == 404
    # An import of another patient through a patient's own URL: 404.
    other_job = running_job(world.metabolic_patients[0])
    assert login(world.lead).get(reverse("staff_apple_health_status", args=[patient.pk, other_job.pk]),
                                 HTTP_HX_REQUEST="true").status_code == 404
    # The portal patient can't see another patient's import; staff have no portal.
    assert login(world.patient_user).get(portal_status, HTTP_HX_REQUEST="true").status_code == 404
    assert login(world.clinician).post(reverse("portal_apple_health"), upload).status_code == 404
    # Read-only wearables role can't upload; the patient can't use the staff page.
    assert login(world.dietitian).get(reverse("staff_apple_health", args=[world.metabolic_patients[0].pk])
                                      ).status_code == 403
    assert login(world.patient_user).get(reverse("staff_apple_health", args=[world.me.pk])).status_code == 404
    assert AppleHealthImport.objects.count() == 2  # the two made above, nothing uploaded


@pytest.mark.e2e
def test_devices_page_on_a_phone_upload_and_disconnect(live_server, browser_page, world, settings, tmp_path):
    from conftest import axe_violations

    settings.WEARABLES_WHOOP_CLIENT_ID, settings.WEARABLES_WHOOP_CLIENT_SECRET = "id", "secret"
    Connection.objects.create(project=world.project, patient=world.me, provider="whoop",
                              last_success_at=timezone.now() - timedelta(hours=2))
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/portal/devices/")
    page.get_by_label("Email").fill(world.patient_user.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/devices/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.locator("details.confirm summary").click()  # opens the confirmation, disconnects nothing
    assert page.get_by_text("The data already shared stays in your record").is_visible()
    assert axe_violations(page) == []

    bundle = tmp_path / "export.zip"
    bundle.write_bytes(as_zip(FR.read_bytes()))
    page.get_by_label("Apple Health export").set_input_files(str(bundle))
    page.get_by_role("button", name="Upload export").click()
    page.wait_for_url(f"{live_server.url}/portal/devices/#apple-health")
    assert page.locator(".apple-import .badge").first.inner_text() == "Imported"
    assert Observation.objects.get(patient=world.me, metric="hrv").method == "sdnn"
    assert Connection.objects.get(patient=world.me, provider="whoop").status == "linked"

    page.locator("details.confirm summary").click()
    page.get_by_role("button", name="Yes, disconnect WHOOP").click()
    page.wait_for_url(f"{live_server.url}/portal/devices/")
    assert "data already shared stays in your record" in page.locator(".messages").inner_text()
    assert Connection.objects.get(patient=world.me, provider="whoop").status == "disconnected"
    assert axe_violations(page) == []


@pytest.mark.django_db
def test_an_entity_bomb_is_refused_and_stores_nothing(world, login, django_capture_on_commit_callbacks):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE HealthData [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b'<HealthData locale="en_US"><Record type="HKQuantityTypeIdentifierHeartRate" unit="count/min" '
            b'value="&b;" startDate="2024-01-01 10:00:00 +0000" endDate="2024-01-01 10:00:00 +0000"/></HealthData>')
    with django_capture_on_commit_callbacks(execute=True):
        login(world.patient_user).post(reverse("portal_apple_health"),
                                       {"file": SimpleUploadedFile("export.xml", bomb)})
    job = AppleHealthImport.objects.get(patient=world.me)
    assert job.status == "failed" and "entities" in job.error
    assert not Observation.objects.filter(patient=world.me).exists()
