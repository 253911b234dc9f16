"""Bulk patient import (CSV and Excel), through HTTP: upload → preview → import → error report."""

import csv
import html
import io
import os
from datetime import date

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mahalo.models import AuditEvent
from patients import importing
from patients.models import Patient, PatientFlag, PatientImport, ProgramEnrollment

pytestmark = pytest.mark.django_db

HEADER = "First Name,Last Name,Program,MRN,Date of Birth,Sex,Email,Phone,Flags"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def csv_file(text: str, name: str = "patients.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def mixed_csv(world) -> str:
    """Three good rows (2, 3, 10) and one of each kind of problem."""
    dup = world.cardiac_patients[1]
    return "\n".join([
        HEADER,
        "Ana,Goodrow,Cardiac Rehab,MRN-1,1970-01-02,F,ana@example.com,(808) 555-0101,HIGH_RISK; fall risk",  # 2
        "Ben,Goodrow,Metabolic Health,,03/04/1965,male,,,",                                           # 3
        "Cat,Badmail,Cardiac Rehab,,1980-01-01,,cat@,,",                                               # 4
        "Dan,Noprog,Oncology,,1980-01-01,,,,",                                                         # 5
        f"{dup.first_name.upper()},{dup.last_name},Cardiac Rehab,,{dup.date_of_birth:%Y-%m-%d},,,,",    # 6
        "Eve,Baddate,Cardiac Rehab,,1980-13-45,,,,",                                                   # 7
        "ana,GOODROW,Cardiac Rehab,,01/02/1970,,,,",                                                   # 8 (= row 2)
        "Fay,,Cardiac Rehab,,,,,,",                                                                    # 9
        "Gus,Goodrow,,,,,gus@example.com,+44 20 7946 0958,",                                           # 10 (default)
    ]) + "\n"


BAD_ROWS = {4: "email", 5: "program", 6: "duplicate", 7: "date_of_birth", 8: "duplicate", 9: "last_name"}


def upload(client, file, default_program=None):
    return client.post("/patients/import/", {"file": file, "default_program": default_program.pk if default_program
                                             else ""})


def upload_job(client, file, default_program=None) -> PatientImport:
    response = upload(client, file, default_program)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = PatientImport.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    return job


def errors_by_row(job) -> dict[int, set[str]]:
    rows: dict[int, set[str]] = {}
    for e in job.errors:
        rows.setdefault(e["row"], set()).add(e["field"])
    return rows


def goodrows():
    return Patient.objects.filter(last_name__iexact="Goodrow")


# --- Access --------------------------------------------------------------------------------------------


def test_every_import_url_requires_login(client, world, login):
    job = upload_job(login(world.lead), csv_file(mixed_csv(world)), world.cardiac)
    client.logout()
    for method, url in [("get", "/patients/import/"), ("post", "/patients/import/"),
                        ("get", "/patients/import/template.csv"), ("get", f"/patients/import/{job.pk}/"),
                        ("post", f"/patients/import/{job.pk}/run/"), ("get", f"/patients/import/{job.pk}/errors.csv")]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")
    assert not goodrows().exists()


def test_role_without_patients_write_gets_403(world, login):
    job = upload_job(login(world.lead), csv_file(mixed_csv(world)), world.cardiac)
    client = login(world.dietitian)
    assert client.get("/patients/import/").status_code == 403
    assert client.post("/patients/import/", {"file": csv_file(mixed_csv(world))}).status_code == 403
    assert client.get(f"/patients/import/{job.pk}/").status_code == 403
    assert client.post(f"/patients/import/{job.pk}/run/").status_code == 403
    assert not goodrows().exists()
    assert AuditEvent.objects.filter(actor=world.dietitian, action="denied", resource="patients").exists()


def test_patient_user_gets_404(world, login):
    assert login(world.patient_user).get("/patients/import/").status_code == 404


def test_jobs_of_another_tenant_or_user_are_404(world, login):
    job = upload_job(login(world.clinician), csv_file(mixed_csv(world)), world.cardiac)
    urls = [f"/patients/import/{job.pk}/", f"/patients/import/{job.pk}/errors.csv"]
    for user in (world.outsider, world.other_clinician):  # other tenant; same tenant, not the creator
        client = login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(f"/patients/import/{job.pk}/run/").status_code == 404
        assert f"/patients/import/{job.pk}/" not in client.get("/patients/import/").content.decode()
    # A global-scope lead of the same tenant may see (and run) it.
    assert login(world.lead).get(urls[0]).status_code == 200
    assert login(world.lead).get("/patients/import/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert not goodrows().exists()


def test_program_clinician_cannot_import_into_another_program(world, login):
    client = login(world.clinician)
    # Not even offered as the default program, and refused when forged.
    page = client.get("/patients/import/").content.decode()
    assert str(world.cardiac.pk) in page and str(world.metabolic.pk) not in page
    response = upload(client, csv_file(mixed_csv(world)), world.metabolic)
    assert response.status_code == 200 and PatientImport.objects.count() == 0
    assert "default_program" in response.context["form"].errors
    # Rows naming it read exactly like rows naming a program that doesn't exist.
    job = upload_job(client, csv_file("\n".join([
        HEADER, "Ina,Scoped,Metabolic Health,,1970-01-01,,,,", "Joe,Scoped,Oncology,,1970-01-01,,,,",
        "Kim,Scoped,cardiac rehab,,1970-01-01,,,,",
    ])))
    messages = {e["row"]: e["message"] for e in job.errors}
    assert set(messages) == {2, 3}, job.errors
    assert messages[2] == messages[3].replace("Oncology", "Metabolic Health")
    assert messages[2].startswith("Unknown program") and "Programs you can import into: Cardiac Rehab." in messages[2]
    client.post(f"/patients/import/{job.pk}/run/")
    assert list(Patient.objects.filter(last_name="Scoped").values_list("first_name", "program")) == [
        ("Kim", world.cardiac.pk)]


# --- Preview, import, re-import, report ------------------------------------------------------------------


def test_mixed_file_preview_lists_each_bad_row_and_why(world, login):
    client = login(world.lead)
    before = Patient.objects.count()
    job = upload_job(client, csv_file(mixed_csv(world), "mixed.csv"), world.cardiac)
    assert job.status == PatientImport.Status.VALIDATED
    assert (job.total_rows, job.valid_rows) == (9, 3)
    assert errors_by_row(job) == {row: {field} for row, field in BAD_ROWS.items()}
    assert Patient.objects.count() == before  # checking saves nothing
    messages = {e["row"]: e["message"] for e in job.errors}
    assert "“cat@” is not a valid email address" in messages[4]
    assert "Unknown program “Oncology”" in messages[5]
    assert messages[6] == "Matches an existing patient record (same name and date of birth)."
    assert world.cardiac_patients[1].email not in messages[6]  # says nothing about which record
    assert "“1980-13-45” is not a date" in messages[7]
    assert messages[8] == "Same patient as row 2 (same name and date of birth)."
    assert messages[9] == "Last name is missing."

    response = client.get(f"/patients/import/{job.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "3 rows ready to import into Cardiac Rehab (2) and Metabolic Health (1); 6 rows have problems" in body
    assert "Import 3 valid rows" in body
    assert f"/patients/import/{job.pk}/errors.csv" in body
    for row in BAD_ROWS:
        assert f">{row}</th>" in body
    assert "is not a valid email address" in body and "Last name is missing." in body
    assert "<script>" not in body.split("</head>")[1].replace('<script src="', "")

    event = AuditEvent.objects.get(action="write", resource="patients", metadata__stage="upload")
    assert event.actor == world.lead and event.project == world.project
    assert event.metadata["import_id"] == str(job.pk) and event.metadata["valid"] == 3
    assert event.metadata["invalid"] == 6


def test_import_creates_exactly_the_valid_rows_once(world, login):
    client = login(world.lead)
    job = upload_job(client, csv_file(mixed_csv(world), "mixed.csv"), world.cardiac)
    before = Patient.objects.count()
    response = client.post(f"/patients/import/{job.pk}/run/")
    assert response.status_code == 302 and response["Location"] == f"/patients/import/{job.pk}/"
    job.refresh_from_db()
    assert job.status == PatientImport.Status.DONE and job.imported_rows == 3 and job.finished_at
    assert Patient.objects.count() == before + 3
    new = {p.first_name: p for p in goodrows()}
    assert set(new) == {"Ana", "Ben", "Gus"}
    ana, ben, gus = new["Ana"], new["Ben"], new["Gus"]
    assert (ana.program, ben.program, gus.program) == (world.cardiac, world.metabolic, world.cardiac)
    assert ana.project == world.project and ana.mrn == "MRN-1" and ana.sex == "female"
    assert ana.date_of_birth == date(1970, 1, 2) and ben.date_of_birth == date(1965, 3, 4)
    assert str(ana.phone) == "+18085550101" and str(gus.phone) == "+442079460958"
    assert ana.email == "ana@example.com" and ana.status == "active"
    assert set(ana.flags.values_list("flag", flat=True)) == {"HIGH_RISK", "FALL_RISK"}
    assert not PatientFlag.objects.filter(patient__in=[ben, gus]).exists()
    enrollments = ProgramEnrollment.objects.filter(patient__in=new.values())
    assert enrollments.count() == 3
    for e in enrollments:
        assert e.ended_at is None and e.enrolled_by == world.lead and e.reason == "Imported from mixed.csv"
        assert e.program_id == e.patient.program_id
    # Searchable at once (the database computes search_text) and with a "created" history entry.
    assert goodrows().filter(search_text__contains="MRN-1").get() == ana
    assert ana.history.count() == 1 and ana.history.first().history_type == "+"
    assert ana.history.first().history_user == world.lead

    body = client.get(f"/patients/import/{job.pk}/").content.decode()
    assert "Imported 3 patients" in body and "/patients/?sort=-created" in body
    event = AuditEvent.objects.get(action="write", resource="patients", metadata__stage="import")
    assert event.metadata["imported"] == 3 and event.actor == world.lead

    # Running it again (a double click, a redelivered task) adds nothing.
    client.post(f"/patients/import/{job.pk}/run/")
    from patients.tasks import import_patients

    import_patients(str(job.pk))
    assert Patient.objects.count() == before + 3 and enrollments.count() == 3


def test_reimporting_the_same_file_creates_no_duplicates(world, login):
    client = login(world.lead)
    first = upload_job(client, csv_file(mixed_csv(world)), world.cardiac)
    client.post(f"/patients/import/{first.pk}/run/")
    count = Patient.objects.count()

    again = upload_job(client, csv_file(mixed_csv(world)), world.cardiac)
    assert again.valid_rows == 0 and again.total_rows == 9
    rows = errors_by_row(again)
    assert set(rows) == set(range(2, 11))  # every row is reported
    for row in (2, 3, 6, 8, 10):  # the ones that were valid (or duplicates) before
        assert rows[row] == {"duplicate"}
    assert {e["message"] for e in again.errors if e["row"] in (2, 3, 10)} == {
        "Matches an existing patient record (same MRN).",
        "Matches an existing patient record (same name and date of birth).",
        "Matches an existing patient record (same email address).",
    }
    body = client.get(f"/patients/import/{again.pk}/").content.decode()
    assert "No rows can be imported" in body and "/run/" not in body
    client.post(f"/patients/import/{again.pk}/run/")
    again.refresh_from_db()
    assert again.status == PatientImport.Status.VALIDATED
    assert Patient.objects.count() == count


def test_error_report_has_each_bad_row_as_uploaded_and_why(world, login):
    client = login(world.lead)
    job = upload_job(client, csv_file(mixed_csv(world), "Mixed list.csv"), world.cardiac)
    response = client.get(f"/patients/import/{job.pk}/errors.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="mixed-list-problems.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["row", *HEADER.split(","), "errors"]
    report = {int(r[0]): r for r in rows[1:]}
    assert set(report) == set(BAD_ROWS)
    assert report[4][1:4] == ["Cat", "Badmail", "Cardiac Rehab"]
    assert report[4][-1] == "Email: “cat@” is not a valid email address."
    assert report[5][-1].startswith("Program: Unknown program “Oncology”")
    assert report[7][5] == "1980-13-45" and report[7][-1].startswith("Date of birth:")
    assert report[8][-1] == "Duplicate: Same patient as row 2 (same name and date of birth)."
    assert report[9][-1] == "Last name: Last name is missing."
    assert AuditEvent.objects.filter(action="export", actor=world.lead, metadata__report="errors").count() == 1


def test_error_report_neutralises_spreadsheet_formulas_and_lists_all_errors_of_a_row(world, login):
    client = login(world.lead)
    job = upload_job(client, csv_file("first_name,last_name,email,sex,date_of_birth\n"
                                      '=HYPERLINK("http://x"),Formula,bad,robot,2999-01-01\n'), world.cardiac)
    assert errors_by_row(job) == {2: {"email", "sex", "date_of_birth"}}
    assert "Date of birth can't be in the future." in {e["message"] for e in job.errors}
    rows = list(csv.reader(io.StringIO(b"".join(client.get(f"/patients/import/{job.pk}/errors.csv")
                                                .streaming_content).decode())))
    assert rows[1][1].startswith("'=HYPERLINK")
    assert rows[1][-1].count(";") == 2


def test_xlsx_upload_works(world, login):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["first_name", "LAST NAME", "program", "mrn", "dob", "sex", "phone", "flags", "status", "notes"])
    sheet.append(["Lani", "Sheetrow", "Metabolic Health", 4711, date(1958, 6, 30), "F", 8085550199,
                  "Diabetes", "Paused", "ignored"])
    sheet.append([None] * 10)  # a blank row still counts in the numbering
    sheet.append(["Moe", "Sheetrow", None, None, "not a date", "m", None, None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    client = login(world.lead)
    job = upload_job(client, SimpleUploadedFile("sheet.xlsx", buffer.getvalue()), world.cardiac)
    assert (job.total_rows, job.valid_rows) == (2, 1)
    assert errors_by_row(job) == {4: {"date_of_birth"}}
    assert job.summary["ignored_columns"] == ["notes"]
    client.post(f"/patients/import/{job.pk}/run/")
    lani = Patient.objects.get(last_name="Sheetrow")
    assert (lani.program, lani.mrn, lani.date_of_birth) == (world.metabolic, "4711", date(1958, 6, 30))
    assert (lani.sex, lani.status, str(lani.phone)) == ("female", "paused", "+18085550199")
    assert list(lani.flags.values_list("flag", flat=True)) == ["DIABETES"]
    report = list(csv.reader(io.StringIO(b"".join(client.get(f"/patients/import/{job.pk}/errors.csv")
                                                  .streaming_content).decode())))
    assert [r[0] for r in report[1:]] == ["4"]


@pytest.mark.parametrize("header", ["first_name,last_name", "First Name,Last Name", "FIRSTNAME, last name",
                                    "\ufefffirst_name,Last_Name"])
def test_header_names_are_matched_loosely_and_bom_is_ignored(world, login, header):
    job = upload_job(login(world.lead), csv_file(f"{header}\r\nNoa,Headerrow\r\n\r\nOli,Headerrow\r\n"), world.cardiac)
    assert (job.total_rows, job.valid_rows, job.errors) == (2, 2, [])
    assert [s["row"] for s in job.summary["sample"]] == [2, 4]  # the blank line keeps its number


# --- Bad files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("notes.txt", b"first_name,last_name\nA,B\n", "Upload a CSV (.csv) or Excel (.xlsx) file"),
    ("old.xls", b"\xd0\xcf\x11\xe0 binary", "Save old Excel (.xls) workbooks as .xlsx first"),
    ("big.csv", b"first_name,last_name\n" + b"A,B\n" * (5 * 1024 * 1024 // 4 + 1), "the limit is 5 MB"),
    ("empty.csv", b"", "The submitted file is empty."),
    ("header-only.csv", b"first_name,last_name\n", "header row but no patients"),
    ("columns.csv", b"name,surname_x\nA,B\n", "Missing: first_name, last_name"),
    ("latin1.csv", "first_name,last_name\nJos\u00e9,B\n".encode("latin-1"), "isn't UTF-8"),
    ("ragged.csv", b"first_name,last_name\nA,B\nC,D,E\n", "Row 3 has 3 cells but the header has 2 columns"),
    ("garbage.xlsx", os.urandom(4096), "isn't an Excel workbook"),
    ("zip.xlsx", None, "can't be read"),
    ("binary.csv", b"PK\x03\x04\x00\x00garbage", "doesn't look like a CSV"),
])
def test_a_bad_file_gets_a_clear_error_and_nothing_is_created(world, login, name, content, expected):
    if content is None:  # a valid zip that isn't a workbook
        buffer = io.BytesIO()
        import zipfile

        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("hello.txt", "hi")
        content = buffer.getvalue()
    response = upload(login(world.lead), SimpleUploadedFile(name, content), world.metabolic)
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert expected in body
    assert 'class="errorlist"' in body and 'aria-invalid="true"' in body
    # The chosen default program is kept.
    assert f'<option value="{world.metabolic.pk}" selected>' in body
    assert PatientImport.objects.count() == 0 and not Patient.objects.filter(first_name__in=["A", "C"]).exists()


def test_missing_columns_error_lists_the_expected_columns(world, login):
    body = upload(login(world.lead), csv_file("name,dob\nA,1970-01-01\n")).content.decode()
    assert "Required columns: first_name, last_name." in body and "date_of_birth" in body


# --- Large files, failures, progress ------------------------------------------------------------------


def big_csv(n: int, start: int = 0) -> str:
    lines = ["first_name,last_name,date_of_birth,email,mrn"]
    lines += [f"P{i},Bulkrow,1970-01-{i % 28 + 1:02d},p{i}@bulk.example,BULK-{i}" for i in range(start, start + n)]
    return "\n".join(lines) + "\n"


def test_large_file_is_imported_by_the_celery_task(world, login, monkeypatch, django_capture_on_commit_callbacks):
    from patients import tasks

    queued = []
    real_delay = tasks.import_patients.delay
    monkeypatch.setattr(tasks.import_patients, "delay", lambda *a, **kw: queued.append(a) or real_delay(*a, **kw))
    client = login(world.lead)
    job = upload_job(client, csv_file(big_csv(250)), world.cardiac)
    assert job.total_rows == 250 > importing.IMPORT_SYNC_MAX_ROWS
    body = client.get(f"/patients/import/{job.pk}/").content.decode()
    assert "imported in the background" in body
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/patients/import/{job.pk}/run/")
    assert response.status_code == 302 and len(callbacks) == 1 and queued == [(str(job.pk),)]
    job.refresh_from_db()
    assert job.status == PatientImport.Status.DONE
    assert job.processed_rows == job.total_rows == job.imported_rows == 250
    assert Patient.objects.filter(last_name="Bulkrow").count() == 250
    assert ProgramEnrollment.objects.filter(patient__last_name="Bulkrow").count() == 250


def test_small_files_import_in_the_request(world, login, monkeypatch):
    from patients import tasks

    monkeypatch.setattr(tasks.import_patients, "delay", lambda *a, **kw: pytest.fail("queued a small import"))
    client = login(world.lead)
    job = upload_job(client, csv_file(big_csv(importing.IMPORT_SYNC_MAX_ROWS)), world.cardiac)
    client.post(f"/patients/import/{job.pk}/run/")
    job.refresh_from_db()
    assert job.status == "done" and job.imported_rows == importing.IMPORT_SYNC_MAX_ROWS


def test_a_failure_while_writing_saves_nothing_and_can_be_retried(world, login, monkeypatch):
    client = login(world.lead)
    job = upload_job(client, csv_file(mixed_csv(world)), world.cardiac)
    before = (Patient.objects.count(), ProgramEnrollment.objects.count(), PatientFlag.objects.count())

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    # Records and enrolments are written by then: the failure must take them back too.
    monkeypatch.setattr(PatientFlag.objects, "bulk_create", explode)
    client.post(f"/patients/import/{job.pk}/run/")
    job.refresh_from_db()
    assert job.status == PatientImport.Status.FAILED and "nothing was saved" in job.failure
    assert job.imported_rows == 0 and "disk full" not in job.failure
    assert not goodrows().exists()
    assert (Patient.objects.count(), ProgramEnrollment.objects.count(), PatientFlag.objects.count()) == before
    assert not Patient.history.filter(last_name="Goodrow").exists()
    assert not AuditEvent.objects.filter(metadata__stage="import").exists()
    body = html.unescape(client.get(f"/patients/import/{job.pk}/").content.decode())
    assert "The import didn't complete." in body and "Try again: import 3 valid rows" in body

    monkeypatch.undo()
    client.post(f"/patients/import/{job.pk}/run/")
    job.refresh_from_db()
    assert job.status == PatientImport.Status.DONE and goodrows().count() == 3


def test_a_patient_added_after_the_preview_is_not_imported_twice(world, login):
    from patients.tests.factories import PatientFactory

    client = login(world.lead)
    job = upload_job(client, csv_file(mixed_csv(world)), world.cardiac)
    PatientFactory(program=world.metabolic, first_name="BEN", last_name="goodrow", date_of_birth=date(1965, 3, 4))
    client.post(f"/patients/import/{job.pk}/run/")
    job.refresh_from_db()
    assert job.status == "done" and job.imported_rows == 2 and job.summary["late_errors"] == 1
    assert errors_by_row(job)[3] == {"duplicate"}
    assert goodrows().count() == 3  # Ana, Gus and the one added by hand


def test_progress_fragment_answers_an_htmx_poll(world, login):
    client = login(world.lead)
    job = upload_job(client, csv_file(big_csv(250)), world.cardiac)
    PatientImport.objects.filter(pk=job.pk).update(status="importing", processed_rows=100)
    response = client.get(f"/patients/import/{job.pk}/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'id="import-status"' in body and 'hx-trigger="every 1s"' in body
    assert "Checking rows: 100 of 250" in body and 'value="40"' in body
    assert "HX-Request" in response["Vary"] and "HX-Refresh" not in response
    # The full page polls too; once the job ends the poll stops and the page reloads once.
    assert 'hx-trigger="every 1s"' in client.get(f"/patients/import/{job.pk}/").content.decode()
    PatientImport.objects.filter(pk=job.pk).update(status="done", processed_rows=250, imported_rows=250)
    response = client.get(f"/patients/import/{job.pk}/", HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true" and "every 1s" not in response.content.decode()


def test_upload_page_lists_recent_imports_and_offers_a_template(world, login):
    client = login(world.clinician)
    job = upload_job(client, csv_file(mixed_csv(world), "recent.csv"), world.cardiac)
    body = client.get("/patients/import/").content.decode()
    assert "recent.csv" in body and f"/patients/import/{job.pk}/" in body
    template = client.get("/patients/import/template.csv")
    rows = list(csv.reader(io.StringIO(b"".join(template.streaming_content).decode())))
    assert rows[0] == list(importing.COLUMNS)
    # The template's example row is itself importable (with a default program).
    job = upload_job(client, csv_file("\n".join(",".join(r) for r in rows)), world.cardiac)
    assert job.valid_rows == 1, job.errors


def test_checking_and_importing_take_the_same_queries_for_more_rows(world, login, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.lead)
    upload_job(client, csv_file(big_csv(5)), world.cardiac)  # warm the session
    with django_assert_max_num_queries(40) as few:
        small = upload_job(client, csv_file(big_csv(10, start=100)), world.cardiac)
    with django_assert_max_num_queries(len(few.captured_queries)):
        large = upload_job(client, csv_file(big_csv(150, start=1000)), world.cardiac)

    def run(job):
        with CaptureQueriesContext(connection) as ctx:
            client.post(f"/patients/import/{job.pk}/run/")
        sql = [q["sql"].lstrip().upper() for q in ctx.captured_queries]
        return sum(q.startswith("SELECT") for q in sql), sum(q.startswith("INSERT") for q in sql)

    small_reads, _ = run(small)
    large_reads, large_writes = run(large)
    assert large_reads == small_reads  # nothing read per row
    assert large_writes < 150  # inserts are batched (SQLite allows ~14 patients a statement, PostgreSQL 500)
    assert Patient.objects.filter(last_name="Bulkrow").count() == 160


def test_the_sample_file_shows_each_kind_of_problem(world, login):
    path = os.path.join(os.path.dirname(__file__), "data", "sample_patients.csv")
    with open(path, "rb") as handle:
        job = upload_job(login(world.clinician), SimpleUploadedFile("sample_patients.csv", handle.read()),
                         world.cardiac)
    # The clinician works in Cardiac Rehab only: its Metabolic Health rows are "unknown program".
    assert errors_by_row(job) == {7: {"program"}, 8: {"program"}, 10: {"email"}, 11: {"program"},
                                  12: {"date_of_birth"}, 13: {"last_name"}, 14: {"duplicate"}}
    assert job.valid_rows == 6 and job.summary["ignored_columns"] == ["Notes"]


def test_an_import_whose_worker_died_is_requeued_by_the_sweeper(login, world):
    """A job left 'importing' (its worker was killed) is finished by the beat sweeper."""
    from datetime import timedelta

    from django.utils import timezone

    from patients.models import PatientImport
    from patients.tasks import requeue_stalled_imports

    client = login(world.lead)
    body = "first_name,last_name,program,date_of_birth\nIola,Kaleo,Cardiac Rehab,1950-02-03\n"
    job = upload_job(client, csv_file(body, "stalled.csv"))
    assert job.status == PatientImport.Status.VALIDATED
    # What a killed worker leaves behind: importing, no progress for a while.
    PatientImport.objects.filter(pk=job.pk).update(status=PatientImport.Status.IMPORTING,
                                                   heartbeat_at=timezone.now() - timedelta(minutes=30))
    assert requeue_stalled_imports() == 1
    job.refresh_from_db()
    assert job.status == PatientImport.Status.DONE and job.imported_rows == 1
    assert requeue_stalled_imports() == 0  # done jobs are left alone
    from patients.models import Patient

    assert Patient.objects.filter(last_name="Kaleo").count() == 1
