"""Bulk import of patients from a CSV or Excel (.xlsx) file.

    upload ─► read_file + validate ─► job "validated" (preview: counts, sample, bad rows)
                                         │ POST run: import_start
                                         ▼
                       "importing" ─► import_run: re-read, re-validate (progress in
                       processed_rows, committed as it goes), then ONE transaction:
                       lock job + tenant, re-check duplicates, bulk-create patients
                       (+ history), enrollments and flags ─► "done"
                       anything raises ─► nothing written, job "failed" (can be retried)

Files up to IMPORT_SYNC_MAX_ROWS rows are imported inside the request; larger
ones by the Celery task `patients.tasks.import_patients` (eager without a broker).

Scope: a row may only name a program the importer may see (`access.programs_for`)
in the job's tenant; any other name is reported exactly like one that doesn't
exist. Duplicates are found across the whole tenant (a patient outside the
importer's programs still exists) without saying which record matched.

File handling is tablib's (with openpyxl for .xlsx). Row numbers are the file's
own: the header is row 1, blank rows count, as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import tablib
from celery import current_app
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import get_text_list
from phonenumber_field.phonenumber import to_python as to_phone_number

from mahalo import access, audit, db
from mahalo.models import Project
from patients import services
from patients.models import Patient, PatientFlag, PatientImport, Program, ProgramEnrollment

logger = logging.getLogger(__name__)

# Files with more rows than this are imported by a Celery task, with a progress bar.
IMPORT_SYNC_MAX_ROWS = 200
IMPORT_MAX_BYTES = 5 * 1024 * 1024
# Validation runs inside the upload request; beyond this, ask for smaller files.
IMPORT_MAX_ROWS = 10_000
PROGRESS_EVERY = 100
SAMPLE_SIZE = 10
FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
XLSX_MAX_UNPACKED_BYTES = 100 * 1024 * 1024

# Canonical column → label (messages, the preview, the template file).
COLUMNS = {
    "first_name": "First name",
    "last_name": "Last name",
    "program": "Program",
    "mrn": "MRN",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "email": "Email",
    "phone": "Phone",
    "preferred_name": "Preferred name",
    "street_address": "Street address",
    "city": "City",
    "state": "State",
    "postal_code": "Postal code",
    "flags": "Flags",
    "status": "Status",
}
REQUIRED_COLUMNS = ("first_name", "last_name")
# Header cell (normalised: case-folded, without spaces, _, - and .) → column. Each
# column's own name, plus other spellings seen in real exports.
ALIASES = {name.replace("_", ""): name for name in COLUMNS} | {
    "givenname": "first_name", "surname": "last_name", "familyname": "last_name",
    "programname": "program", "medicalrecordnumber": "mrn",
    "dob": "date_of_birth", "birthdate": "date_of_birth", "gender": "sex",
    "emailaddress": "email", "phonenumber": "phone", "mobile": "phone", "mobilephone": "phone",
    "nickname": "preferred_name", "address": "street_address", "zip": "postal_code", "zipcode": "postal_code",
}
# Labels for error fields that aren't columns.
FIELD_LABELS = {**COLUMNS, "row": "Row", "duplicate": "Duplicate", "country": "Country"}
_TEXT_FIELDS = ("mrn", "preferred_name", "street_address", "city", "state", "postal_code")
_SEX = {"f": "female", "m": "male", "o": "other", "u": "unknown"} | {v: v for v in Patient.Sex.values}
_STATUS = {v: v for v in Patient.Status.values} | {label.lower(): v for v, label in Patient.Status.choices}
_FLAGS = {re.sub(r"[\s\-]+", "_", label.upper()): v for v, label in PatientFlag.Flag.choices} | {
    v: v for v in PatientFlag.Flag.values
}
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
_validate_email = EmailValidator()


class ImportFileError(Exception):
    """The file as a whole can't be used (type, size, encoding, header). Shown to the user as is."""


# --- Reading the file ------------------------------------------------------------------------------


@dataclass
class ParsedFile:
    headers: list[str]  # as written in the file
    columns: dict[int, str]  # file column index → canonical column
    ignored: list[str]  # header cells we don't use
    rows: list[tuple[int, tuple]]  # (row number in the file, raw cells), blank rows left out


def _normalise_header(value: Any) -> str:
    return re.sub(r"[\s_\-.]+", "", str(value or "").replace("\ufeff", "")).casefold()


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expected_columns() -> str:
    required = ", ".join(REQUIRED_COLUMNS)
    optional = ", ".join(c for c in COLUMNS if c not in REQUIRED_COLUMNS)
    return f"Required columns: {required}. Optional: {optional}."


def check_upload(name: str, size: int) -> str:
    """The format of an upload by name and size, or ImportFileError. Cheap: before reading it."""
    ext = Path(name or "").suffix.lower()
    if ext not in FORMATS:
        hint = " Save old Excel (.xls) workbooks as .xlsx first." if ext == ".xls" else ""
        raise ImportFileError(f"Upload a CSV (.csv) or Excel (.xlsx) file; “{_short(name, 80)}” is neither.{hint}")
    if size == 0:
        raise ImportFileError("The file is empty.")
    if size > IMPORT_MAX_BYTES:
        raise ImportFileError(
            f"The file is {size / 1024 / 1024:.1f} MB; the limit is {IMPORT_MAX_BYTES // 1024 // 1024} MB. "
            "Split it into smaller files."
        )
    return FORMATS[ext]


def read_file(content: bytes, name: str) -> ParsedFile:
    """Parse an uploaded file with tablib, or raise ImportFileError saying what is wrong with it."""
    fmt = check_upload(name, len(content))
    if fmt == "csv":
        data, numbers = _load_csv(content)
    else:
        data, numbers = _load_xlsx(content)
    headers = ["" if h is None else str(h).replace("\ufeff", "").strip() for h in (data.headers or [])]
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        if not header:
            continue
        canonical = ALIASES.get(_normalise_header(header))
        if canonical is None:
            ignored.append(header)
        elif canonical in columns.values():
            raise ImportFileError(f"The column “{_short(header)}” appears more than once ({COLUMNS[canonical]}).")
        else:
            columns[index] = canonical
    missing = [c for c in REQUIRED_COLUMNS if c not in columns.values()]
    if missing:
        found = ", ".join(f"“{_short(h, 30)}”" for h in headers if h) or "none"
        raise ImportFileError(
            f"The first row must name the columns. Missing: {', '.join(missing)} (found: {_short(found, 200)}). "
            + _expected_columns()
        )
    rows = [
        (number, tuple(cells))
        for number, cells in zip(numbers, data, strict=True)
        if any(_cell_text(c) for c in cells)
    ]
    if not rows:
        raise ImportFileError("The file has a header row but no patients in it.")
    if len(rows) > IMPORT_MAX_ROWS:
        raise ImportFileError(f"The file has {len(rows):,} rows; the limit is {IMPORT_MAX_ROWS:,}. Split it up.")
    return ParsedFile(headers=headers, columns=columns, ignored=ignored, rows=rows)


def _load_csv(content: bytes) -> tuple[tablib.Dataset, list[int]]:
    if b"\x00" in content[:4096]:
        raise ImportFileError("This doesn't look like a CSV text file. Upload a .csv or .xlsx file.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file isn't UTF-8 text. In Excel, use File › Save As › “CSV UTF-8 (Comma delimited)”."
        )
    # tablib drops blank lines; number the records ourselves so row numbers match
    # what a spreadsheet shows, and name the row when one has too many cells.
    numbers: list[int] = []
    width = None
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if width is None:
                width = len(record)
                if not any(cell.strip() for cell in record):
                    raise ImportFileError("The first row is empty; it must name the columns. " + _expected_columns())
                continue
            if record:
                if len(record) > width:
                    raise ImportFileError(
                        f"Row {number} has {len(record)} cells but the header has {width} columns. "
                        "Check for a stray comma, or put text that contains commas in quotes."
                    )
                numbers.append(number)
        data = tablib.Dataset().load(text, format="csv")
    except (csv.Error, tablib.InvalidDimensions) as exc:
        raise ImportFileError(f"The CSV file can't be read: {_short(exc, 120)}.")
    if len(numbers) != data.height:  # a quoted field spanning lines: fall back to record order
        numbers = list(range(2, data.height + 2))
    return data, numbers


def _load_xlsx(content: bytes) -> tuple[tablib.Dataset, list[int]]:
    if not content.startswith(b"PK\x03\x04"):
        raise ImportFileError("This isn't an Excel workbook (.xlsx). Upload a .csv or .xlsx file.")
    try:
        # A few MB of zip can unpack to gigabytes; a real sheet of IMPORT_MAX_ROWS rows is far smaller.
        unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(content)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        unpacked = None
    if unpacked is None or unpacked > XLSX_MAX_UNPACKED_BYTES:
        raise ImportFileError(
            "The Excel file can't be read. Open it in Excel, save it again as .xlsx, and upload that copy."
            if unpacked is None else "The Excel file is too large once unpacked. Split it into smaller files."
        )
    try:
        data = tablib.Dataset().load(content, format="xlsx")
    except tablib.InvalidDimensions:
        raise ImportFileError(
            "Some rows have cells to the right of the last named column. Delete those cells or name the column."
        )
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged workbook
        logger.info("Unreadable xlsx upload: %s", type(exc).__name__)
        raise ImportFileError(
            "The Excel file can't be read. Open it in Excel, save it again as .xlsx, and upload that copy."
        )
    # openpyxl keeps blank rows, so the first data row is row 2 and numbers follow.
    return data, list(range(2, data.height + 2))


def _cell_text(value: Any) -> str:
    """A cell as text, the way a spreadsheet shows it (Excel gives numbers and datetimes)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- Validating rows -------------------------------------------------------------------------------


@dataclass
class Context:
    """What a row is checked against: the tenant, the programs the importer may use."""

    project: Project
    programs: dict[str, Program]  # normalised name → active program in scope
    inactive: dict[str, Program]  # normalised name → inactive program in scope
    default_program: Program | None

    @classmethod
    def for_job(cls, job: PatientImport, user) -> Context:
        scope = access.programs_for(user).filter(project_id=job.project_id)
        programs, inactive = {}, {}
        for program in scope:
            (programs if program.is_active else inactive)[_program_key(program.name)] = program
        default = job.default_program
        if default is not None and _program_key(default.name) not in programs:
            default = None  # no longer in scope or closed: rows must then name their program
        return cls(project=job.project, programs=programs, inactive=inactive, default_program=default)


def _program_key(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass
class RowResult:
    row: int
    name: str
    patient: Patient | None = None
    flags: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def error(self, field_name: str, message: str) -> None:
        self.errors.append({"row": self.row, "field": field_name, "message": message, "name": self.name})

    @property
    def ok(self) -> bool:
        return not self.errors


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def validate_row(number: int, cells: dict[str, Any], ctx: Context) -> RowResult:
    """Build the Patient a row describes and check it: our parsing, then the model's own rules."""
    text = {name: _cell_text(value) for name, value in cells.items()}
    get = text.get
    result = RowResult(row=number, name=f"{get('first_name', '')} {get('last_name', '')}".strip())
    checked: set[str] = set()  # fields we reported on ourselves (skip them in full_clean)

    def bad(field_name: str, message: str) -> None:
        result.error(field_name, message)
        checked.add(field_name)

    for required in REQUIRED_COLUMNS:
        if not get(required):
            bad(required, f"{COLUMNS[required]} is missing.")

    program = None
    if get("program"):
        key = _program_key(get("program"))
        program = ctx.programs.get(key)
        if program is None and key in ctx.inactive:
            bad("program", f"Program “{_short(get('program'))}” is not active: it takes no new patients.")
        elif program is None:
            bad("program", f"Unknown program “{_short(get('program'))}”. " + _program_hint(ctx))
    elif ctx.default_program is not None:
        program = ctx.default_program
    else:
        bad("program", "Unknown program: the row names none and no default program was chosen. "
            + _program_hint(ctx))

    dob = None
    if get("date_of_birth"):
        try:
            dob = _parse_date(cells["date_of_birth"])
        except ValueError:
            bad("date_of_birth", f"“{_short(get('date_of_birth'))}” is not a date: use YYYY-MM-DD or MM/DD/YYYY.")

    sex = Patient.Sex.UNKNOWN
    if get("sex"):
        sex = _SEX.get(get("sex").casefold())
        if sex is None:
            bad("sex", f"“{_short(get('sex'))}” is not a sex: use female, male, other or unknown (or F, M).")

    email = get("email", "")
    if email:
        try:
            _validate_email(email)
        except ValidationError:
            bad("email", f"“{_short(email)}” is not a valid email address.")

    phone = ""
    if get("phone"):
        number_obj = to_phone_number(get("phone"), region=settings.PHONENUMBER_DEFAULT_REGION)
        if number_obj is None or not number_obj.is_valid():
            bad("phone", f"“{_short(get('phone'))}” is not a valid phone number. "
                "Include the country code (e.g. +1 808 555 0142) for numbers outside the "
                f"{settings.PHONENUMBER_DEFAULT_REGION}.")
        else:
            phone = number_obj.as_e164

    flags: list[str] = []
    for raw in re.split(r"[;,]", get("flags", "")):
        raw = raw.strip()
        if not raw:
            continue
        flag = _FLAGS.get(re.sub(r"[\s\-]+", "_", raw.upper()))
        if flag is None:
            allowed = ", ".join(label for _, label in PatientFlag.Flag.choices)
            bad("flags", f"Unknown flag “{_short(raw)}”. Flags are: {allowed}.")
        elif flag not in flags:
            flags.append(flag)

    status = Patient.Status.ACTIVE
    if get("status"):
        status = _STATUS.get(get("status").casefold())
        if status is None:
            bad("status", f"“{_short(get('status'))}” is not a status: use "
                + get_text_list(list(Patient.Status.values), "or") + ".")

    patient = Patient(
        project=ctx.project, program=program, first_name=get("first_name", ""), last_name=get("last_name", ""),
        date_of_birth=dob, sex=sex or Patient.Sex.UNKNOWN, email=email, phone=phone,
        status=status or Patient.Status.ACTIVE, **{name: get(name, "") for name in _TEXT_FIELDS},
    )
    try:
        # The model's own rules (lengths, DOB not in the future, ...). Project/program
        # and the MRN constraint are ours to check (scope and duplicates, below).
        patient.full_clean(exclude=checked | {"project", "program", "user"}, validate_unique=False,
                           validate_constraints=False)
    except ValidationError as exc:
        for field_name, messages in exc.message_dict.items():
            if field_name in checked:
                continue
            for message in messages:
                result.error("row" if field_name == NON_FIELD_ERRORS else field_name, message)
    if result.ok:
        result.patient, result.flags = patient, flags
    return result


def _program_hint(ctx: Context) -> str:
    names = sorted(p.name for p in ctx.programs.values())
    return f"Programs you can import into: {', '.join(names)}." if names else "You can't import into any program."


# --- Duplicates --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    mrn: str
    name: tuple[str, str, date] | None  # (first, last, date of birth), folded
    email: str

    @classmethod
    def of(cls, patient: Patient) -> Identity:
        name = None
        if patient.date_of_birth:
            name = (patient.first_name.strip().casefold(), patient.last_name.strip().casefold(),
                    patient.date_of_birth)
        return cls(mrn=patient.mrn.strip(), name=name, email=patient.email.strip().casefold())


_BASIS = {"mrn": "same MRN", "name": "same name and date of birth", "email": "same email address"}


def _match(identity: Identity, mrns, names, emails) -> str | None:
    if identity.mrn and identity.mrn in mrns:
        return "mrn"
    if identity.name and identity.name in names:
        return "name"
    if identity.email and identity.email in emails:
        return "email"
    return None


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def existing_identities(project_id, identities: list[Identity]) -> tuple[set, set, set]:
    """Of the given identities' keys, those already used by a patient of the tenant (any program)."""
    base = Patient.objects.filter(project_id=project_id)
    mrns = sorted({i.mrn for i in identities if i.mrn})
    dobs = sorted({i.name[2] for i in identities if i.name})
    emails = sorted({i.email for i in identities if i.email})
    found_mrns, found_names, found_emails = set(), set(), set()
    for chunk in _chunks(mrns):
        found_mrns.update(base.filter(mrn__in=chunk).values_list("mrn", flat=True))
    for chunk in _chunks(dobs):
        # Names are folded in Python: SQLite's LOWER() only knows ASCII.
        for first, last, dob in base.filter(date_of_birth__in=chunk).values_list(
            "first_name", "last_name", "date_of_birth"
        ):
            found_names.add((first.strip().casefold(), last.strip().casefold(), dob))
    for chunk in _chunks(emails):
        found_emails.update(
            e.casefold() for e in base.annotate(email_l=Lower("email")).filter(email_l__in=chunk)
            .values_list("email", flat=True)
        )
    return found_mrns, found_names, found_emails


def mark_duplicates(results: list[RowResult], project_id) -> None:
    """Report rows that match an existing patient, or an earlier row of the same file."""
    identities = {r.row: Identity.of(r.patient) for r in results if r.patient is not None}
    existing = existing_identities(project_id, list(identities.values()))
    seen_mrn: dict[str, int] = {}
    seen_name: dict[tuple, int] = {}
    seen_email: dict[str, int] = {}
    for result in results:
        identity = identities.get(result.row)
        if identity is None:
            continue
        basis = _match(identity, *existing)
        if basis:
            result.error("duplicate", f"Matches an existing patient record ({_BASIS[basis]}).")
        else:
            earlier = ((identity.mrn and seen_mrn.get(identity.mrn), "mrn"),
                       (identity.name and seen_name.get(identity.name), "name"),
                       (identity.email and seen_email.get(identity.email), "email"))
            for row, key in earlier:
                if row:
                    result.error("duplicate", f"Same patient as row {row} ({_BASIS[key]}).")
                    break
        if not result.ok:
            result.patient = None
            continue
        if identity.mrn:
            seen_mrn.setdefault(identity.mrn, result.row)
        if identity.name:
            seen_name.setdefault(identity.name, result.row)
        if identity.email:
            seen_email.setdefault(identity.email, result.row)


def validate(parsed: ParsedFile, ctx: Context, progress: Callable[[int], None] | None = None) -> list[RowResult]:
    results = []
    for count, (number, cells) in enumerate(parsed.rows, start=1):
        values = {name: cells[index] if index < len(cells) else None for index, name in parsed.columns.items()}
        results.append(validate_row(number, values, ctx))
        if progress and count % PROGRESS_EVERY == 0:
            progress(count)
    mark_duplicates(results, ctx.project.pk)
    if progress:
        progress(len(parsed.rows))
    return results


def _summarise(parsed: ParsedFile, results: list[RowResult]) -> dict:
    good = [r for r in results if r.ok]
    per_program = Counter(r.patient.program.name for r in good)
    sample = [
        {
            "row": r.row, "name": r.name, "date_of_birth": r.patient.date_of_birth.isoformat()
            if r.patient.date_of_birth else "", "program": r.patient.program.name, "email": r.patient.email,
            "phone": str(r.patient.phone or ""), "mrn": r.patient.mrn, "status": r.patient.status,
            "flags": [PatientFlag.Flag(f).label for f in r.flags],
        }
        for r in good[:SAMPLE_SIZE]
    ]
    return {
        "columns": [parsed.headers[i] for i in sorted(parsed.columns)],
        "ignored_columns": parsed.ignored,
        "programs": [{"name": name, "count": n} for name, n in sorted(per_program.items())],
        "bad_rows": len({r.row for r in results if not r.ok}),
        "sample": sample,
    }


# --- Jobs: who sees them -------------------------------------------------------------------------------


def jobs_for(user) -> QuerySet[PatientImport]:
    return access.imports_for(user)


def job_load(request, import_id) -> PatientImport:
    """One import job the user may see and run (`access.imports_for`), through the gate's loader:
    Http404 for missing, malformed and forbidden alike."""
    queryset = access.imports_for(request.user).select_related("project", "default_program", "created_by")
    return access.load(request, queryset, import_id, resource="patients", action="write", via="project")


def importable_programs(user) -> QuerySet[Program]:
    """Programs an import may target (and the default-program choices)."""
    project = access.project_of(user)
    if project is None:
        return Program.objects.none()
    return access.programs_for(user).filter(project=project, is_active=True).order_by("name")


# --- Upload ---------------------------------------------------------------------------------------------


def import_create(*, actor, upload, default_program: Program | None = None, request=None) -> PatientImport:
    """Read and check an uploaded file; keep it with the results as a job to preview.

    Raises ImportFileError (and stores nothing) when the file as a whole can't be used."""
    project = access.project_of(actor)
    if project is None:
        raise ImportFileError("Imports are made by staff of a tenant; your account belongs to none.")
    if default_program is not None and not importable_programs(actor).filter(pk=default_program.pk).exists():
        raise ImportFileError("Choose a default program you can import into.")
    fmt = check_upload(upload.name, upload.size)
    content = upload.read()
    parsed = read_file(content, upload.name)
    job = PatientImport(project=project, created_by=actor, original_name=Path(upload.name).name[:255],
                        default_program=default_program)
    results = validate(parsed, Context.for_job(job, actor))
    errors = [e for r in results for e in r.errors]
    job.total_rows = len(results)
    job.valid_rows = sum(1 for r in results if r.ok)
    job.errors = errors
    job.summary = _summarise(parsed, results)
    job.status = PatientImport.Status.VALIDATED
    with transaction.atomic():
        # Stored under the job's id, not the uploader's file name (names can carry PHI).
        job.file.save(f"{job.pk}.{fmt}", ContentFile(content), save=False)
        job.save()
        audit.record(action="write", request=request, actor=actor, resource="patients", project=project,
                     object_id=job.pk, metadata={"via": "import", "import_id": str(job.pk), "stage": "upload",
                                                 "file": job.original_name, "rows": job.total_rows,
                                                 "valid": job.valid_rows, "invalid": job.summary["bad_rows"]})
    return job


# --- Import ----------------------------------------------------------------------------------------------


def import_start(*, job: PatientImport, actor, request=None) -> bool:
    """Begin importing a checked (or failed) job: in this request when small, else by the Celery task.
    Returns False when the job is not in a state to start (already running or done: a double click)."""
    with transaction.atomic():
        locked = PatientImport.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (PatientImport.Status.VALIDATED, PatientImport.Status.FAILED) or not locked.valid_rows:
            return False
        locked.status = PatientImport.Status.IMPORTING
        locked.processed_rows = 0
        locked.failure = ""
        locked.heartbeat_at = timezone.now()
        locked.save(update_fields=["status", "processed_rows", "failure", "heartbeat_at"])
        background = locked.total_rows > IMPORT_SYNC_MAX_ROWS
        if background:
            transaction.on_commit(lambda: _queue(locked.pk, actor.pk))
    if not background:
        import_run(locked.pk, actor=actor)
    return True


STALLED_AFTER = timedelta(minutes=10)
# The beat interval of requeue_stalled (settings CELERY_BEAT_SCHEDULE).
REQUEUE_EVERY = timedelta(minutes=5)
# No progress for this long: the page says the import may have stopped and when it resumes
# (issue 20 fault 7: it said "the import continues" for the 10-15 minutes before the re-queue).
QUIET_NOTICE_AFTER = timedelta(minutes=2)


def stall_notice(job, now=None) -> dict | None:
    """For an importing job without progress for QUIET_NOTICE_AFTER: since when, and the
    latest time the sweeper resumes it. None while it moves (or isn't importing)."""
    if job.status != PatientImport.Status.IMPORTING:
        return None
    last = job.heartbeat_at or job.created_at
    if (now or timezone.now()) - last < QUIET_NOTICE_AFTER:
        return None
    return {"since": last, "resume_by": last + STALLED_AFTER + REQUEUE_EVERY}


def requeue_stalled(now=None) -> list:
    """Re-queue imports whose worker died mid-run (status importing, no progress for
    STALLED_AFTER). Safe: a run that is merely slow finds the job done, or waits on its lock."""
    cutoff = (now or timezone.now()) - STALLED_AFTER
    stalled = list(PatientImport.objects.filter(status=PatientImport.Status.IMPORTING)
                   .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
                   .values_list("pk", "created_by_id"))
    for import_id, actor_id in stalled:
        PatientImport.objects.filter(pk=import_id).update(heartbeat_at=timezone.now())
        _queue(import_id, actor_id)
    return [pk for pk, _ in stalled]


def _queue(import_id, actor_id) -> None:
    # By name: patients.tasks imports this module (the task calls import_run).
    try:
        current_app.tasks["patients.import_patients"].delay(str(import_id), actor_id=str(actor_id))
    except Exception:  # noqa: BLE001 - a broker outage must not leave the job "importing" forever
        logger.exception("Couldn't queue patient import %s", import_id)
        _fail(import_id, "The import couldn't be started (the job queue is unavailable). Nothing was saved; "
                         "try again in a few minutes.")


def _fail(import_id, reason: str) -> None:
    PatientImport.objects.filter(pk=import_id, status=PatientImport.Status.IMPORTING).update(
        status=PatientImport.Status.FAILED, failure=reason, finished_at=timezone.now()
    )


def import_run(import_id, *, actor=None) -> PatientImport | None:
    """Import a job's valid rows, all or nothing. Idempotent: a job that is done (or failed, or
    not yet checked) is left alone; a second run of the same job finds it done and stops."""
    job = PatientImport.objects.select_related("project", "default_program", "created_by").filter(
        pk=import_id).first()
    if job is None:
        return None
    if job.status == PatientImport.Status.VALIDATED:  # called directly rather than via import_start
        claimed = PatientImport.objects.filter(pk=job.pk, status=PatientImport.Status.VALIDATED).update(
            status=PatientImport.Status.IMPORTING, processed_rows=0, heartbeat_at=timezone.now())
        if not claimed:
            return job
        job.status = PatientImport.Status.IMPORTING
    if job.status != PatientImport.Status.IMPORTING:
        return job
    actor = actor or job.created_by
    try:
        with job.file.open("rb") as handle:
            content = handle.read()
        parsed = read_file(content, job.original_name)
        # The preview's scope: the rows the uploader may import (a global lead
        # running a clinician's job imports what the clinician saw, no more).
        ctx = Context.for_job(job, job.created_by)

        def progress(count: int) -> None:
            # Outside the import transaction, so the progress bar sees it.
            PatientImport.objects.filter(pk=job.pk).update(processed_rows=count, heartbeat_at=timezone.now())

        results = validate(parsed, ctx, progress)
        imported = _write(job, results, actor)
    except ImportFileError as exc:
        _fail(job.pk, f"The file can no longer be read: {exc} Nothing was saved.")
    except Exception:  # noqa: BLE001 - whatever broke, nothing was written; say so and keep the job retryable
        logger.exception("Patient import %s failed", job.pk)
        _fail(job.pk, "Something went wrong while saving, so nothing was saved. Try again; if it happens "
                      "again, contact support.")
    else:
        if imported is not None:
            logger.info("Patient import %s: %s patients", job.pk, imported)
            # A big file can double the table: statistics now, not whenever autovacuum gets to it.
            db.analyze_if_grown(Patient, imported, PatientFlag, ProgramEnrollment)
    job.refresh_from_db()
    return job


def _write(job: PatientImport, results: list[RowResult], actor) -> int | None:
    """The all-or-nothing part. Returns the number imported, or None if another run did it."""
    previously_bad = {e["row"] for e in job.errors}
    with transaction.atomic():
        locked = PatientImport.objects.select_for_update().get(pk=job.pk)
        if locked.status != PatientImport.Status.IMPORTING:
            return None
        # One import at a time per tenant, so two files can't both add the same
        # patient between the duplicate check and the insert. NO KEY: other
        # writes that merely reference the tenant aren't blocked.
        Project.objects.select_for_update(no_key=True).filter(pk=job.project_id).first()
        candidates = [r for r in results if r.ok and r.row not in previously_bad]
        # Re-check against what landed since the preview (this sees every commit before the lock).
        mark_duplicates(candidates, job.project_id)
        late_errors = [e for r in results if r.row not in previously_bad for e in r.errors]
        rows = [r for r in candidates if r.ok]
        # The same writer as the form and the API: records, history, enrolments, flags, audit.
        patients = services.patients_create(actor=actor, rows=[(r.patient, r.flags) for r in rows], via="import",
                                            source=job.original_name, metadata={"import_id": str(job.pk)})
        per_program = Counter(p.program.name for p in patients)
        locked.status = PatientImport.Status.DONE
        locked.imported_rows = len(patients)
        locked.processed_rows = locked.total_rows
        locked.finished_at = timezone.now()
        locked.errors = sorted(job.errors + late_errors, key=lambda e: e["row"])
        locked.summary = {**job.summary, "imported_programs": [
            {"name": name, "count": n} for name, n in sorted(per_program.items())
        ], "late_errors": len({e["row"] for e in late_errors}),
            "bad_rows": len({e["row"] for e in locked.errors})}
        locked.save()
        audit.record(action="write", actor=actor, resource="patients", project=job.project, object_id=job.pk,
                     metadata={"via": "import", "import_id": str(job.pk), "stage": "import",
                               "file": job.original_name, "imported": len(patients),
                               "skipped": locked.summary["bad_rows"], "programs": dict(per_program)})
    return len(patients)


# --- Error report ---------------------------------------------------------------------------------------


def error_report(job: PatientImport) -> tuple[list[str], Iterator[list]]:
    """(header, rows) for the downloadable report: each bad row as it was in the file, its row
    number, and why it wasn't imported."""
    by_row: dict[int, list[str]] = defaultdict(list)
    for error in job.errors:
        label = FIELD_LABELS.get(error["field"], error["field"])
        by_row[error["row"]].append(f"{label}: {error['message']}")
    with job.file.open("rb") as handle:
        parsed = read_file(handle.read(), job.original_name)
    width = len(parsed.headers)
    header = ["row", *[h or f"column {i + 1}" for i, h in enumerate(parsed.headers)], "errors"]

    def rows() -> Iterator[list]:
        for number, cells in parsed.rows:
            if number in by_row:
                values = [_cell_text(c) for c in cells][:width]
                yield [number, *values, *([""] * (width - len(values))), "; ".join(by_row[number])]

    return header, rows()


def template_rows() -> tuple[list[str], list[list[str]]]:
    """A CSV template: every column, one example row (fictional)."""
    example = {"first_name": "Leilani", "last_name": "Kahale", "program": "", "mrn": "CR-1001",
               "date_of_birth": "1961-04-23", "sex": "female", "email": "leilani@example.com",
               "phone": "(808) 555-0142", "preferred_name": "Lani", "street_address": "12 Kapiolani Blvd",
               "city": "Honolulu", "state": "HI", "postal_code": "96813", "flags": "HIGH_RISK; RPM_ENROLLED",
               "status": "active"}
    return list(COLUMNS), [[example[c] for c in COLUMNS]]
