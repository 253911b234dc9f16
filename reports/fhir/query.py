"""Which rows each FHIR resource type reads, through the gate, and the search parameters on them.

Every row set starts from `mahalo.access` (`patients_for` / `scoped`) for the acting user and the
resource the row belongs to, so search, read, `$everything` and `$export` see exactly what the pages
and the API see. Bad search input raises `SearchError(element, message)` -> 400 OperationOutcome.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from assessments.models import Response
from care.models import CarePlan, Goal, Medication
from clinical.models import BloodTest, LabOrder, Observation
from mahalo import access
from patients.models import Patient
from reports.fhir import codes
from reports.fhir import resources as r
from scheduling.models import Visit
from wearables.models import DailyMetric

CHUNK = 2000  # rows fetched per round trip when streaming (bounded memory)


class SearchError(ValueError):
    def __init__(self, element: str, message: str):
        super().__init__(message)
        self.element = element
        self.message = message


@dataclass(frozen=True)
class Source:
    """One table behind a FHIR type. `to_fhir(row)` returns a list of resources."""

    model: type
    resource: str  # the gate's resource (patients, clinical, scheduling, wearables)
    to_fhir: Callable[[object], list[dict]]
    date_field: str | None = None
    since_field: str | None = None
    related: tuple[str, ...] = ()
    prefetch: tuple[str, ...] = ()
    date_is_day: bool = False
    code_filter: Callable[[str], Q] | None = None
    order: tuple[str, ...] = ("pk",)


def _obs_code(code: str) -> Q:
    metrics = codes.metrics_for_code(code)
    q = Q(metric__in=metrics)
    if "hrv" in metrics and code == "80404-7":
        q = Q(metric__in=metrics - {"hrv"}) | Q(metric="hrv", method="sdnn")
    elif "hrv" in metrics:
        q = Q(metric__in=metrics - {"hrv"}) | Q(metric="hrv", method="rmssd")
    return q


def _daily_code(code: str) -> Q:
    fields = codes.daily_fields_for_code(code)
    q = Q(pk__in=[])
    for f in fields:
        if f == "hrv_ms":
            q |= Q(hrv_ms__isnull=False, hrv_method="sdnn" if code == "80404-7" else "rmssd")
        else:
            q |= Q(**{f"{f}__isnull": False})
    return q


def _lab_code(code: str) -> Q:
    return Q(loinc=code)


def _one(fn):
    return lambda row: [fn(row)]


OBSERVATION_SOURCES = (
    Source(
        Observation,
        "clinical",
        _one(r.observation),
        "effective_at",
        "created_at",
        code_filter=_obs_code,
        order=("-effective_at", "pk"),
    ),
    Source(
        DailyMetric,
        "wearables",
        r.daily_observations,
        "date",
        "updated_at",
        date_is_day=True,
        code_filter=_daily_code,
        order=("-date", "pk"),
    ),
    Source(
        BloodTest,
        "clinical",
        _one(r.lab_result),
        "recorded_at",
        "recorded_at",
        code_filter=_lab_code,
        order=("-recorded_at", "pk"),
    ),
)

TYPES: dict[str, tuple[Source, ...]] = {
    "Patient": (Source(Patient, "patients", lambda p: [r.patient(p)], None, "updated_at"),),
    "Condition": (Source(Patient, "patients", r.conditions, None, "updated_at"),),
    "AllergyIntolerance": (Source(Patient, "patients", r.allergies, None, "updated_at"),),
    "Observation": OBSERVATION_SOURCES,
    "QuestionnaireResponse": (
        Source(
            Response,
            "clinical",
            _one(r.questionnaire_response),
            "submitted_at",
            "submitted_at",
            prefetch=("answers__question",),
            order=("-submitted_at", "pk"),
        ),
    ),
    "MedicationStatement": (
        Source(Medication, "clinical", _one(r.medication_statement), "start_date", "updated_at", date_is_day=True),
    ),
    "CarePlan": (
        Source(
            CarePlan, "clinical", _one(r.care_plan), "start_date", "updated_at", date_is_day=True, prefetch=("goals",)
        ),
    ),
    "Goal": (Source(Goal, "clinical", _one(r.goal), "due_date", "updated_at", date_is_day=True),),
    "Appointment": (
        Source(Visit, "scheduling", _one(r.appointment), "starts_at", "updated_at", order=("-starts_at", "pk")),
    ),
    "ServiceRequest": (
        Source(LabOrder, "clinical", _one(r.lab_order), "ordered_at", "updated_at", order=("-ordered_at", "pk")),
    ),
}
# The patient compartment: what $everything and a Patient/Group $export hold.
PATIENT_TYPES = tuple(TYPES)
SEARCH_PARAMS = ("patient", "subject", "code", "date", "_count", "_page", "_id", "_since")


def patient_rows(user, resource: str = "patients") -> QuerySet:
    return access.patients_for(user, "read", resource)


def rows(user, source: Source, patients: QuerySet | None = None) -> QuerySet:
    """The gated rows of one source, optionally limited to a set of patients (a queryset)."""
    if source.model is Patient:
        qs = access.patients_for(user, "read", source.resource)
        if patients is not None:
            qs = qs.filter(pk__in=patients.values("pk"))
        return qs
    qs = access.scoped(user, source.model.objects.all(), source.resource)
    if patients is not None:
        qs = qs.filter(patient__in=patients.values("pk"))
    if source.related:
        qs = qs.select_related(*source.related)
    if source.prefetch:
        qs = qs.prefetch_related(*source.prefetch)
    return qs


# --- date search with prefixes (eq, ne, lt, le, gt, ge, sa, eb) ----------------------------------

_PREFIX = re.compile(r"^(eq|ne|lt|le|gt|ge|sa|eb)?(.+)$")


def parse_moment(raw: str, element: str) -> tuple[datetime, datetime]:
    """A FHIR date/dateTime as the half-open interval it denotes: 2026, 2026-03, 2026-03-04, or an
    instant with its offset (a naive time is refused: the hour would be a guess)."""
    raw = raw.strip()
    try:
        if re.fullmatch(r"\d{4}", raw):
            start = datetime(int(raw), 1, 1, tzinfo=UTC)
            return start, start.replace(year=start.year + 1)
        if re.fullmatch(r"\d{4}-\d{2}", raw):
            y, m = map(int, raw.split("-"))
            start = datetime(y, m, 1, tzinfo=UTC)
            return start, (datetime(y + 1, 1, 1, tzinfo=UTC) if m == 12 else datetime(y, m + 1, 1, tzinfo=UTC))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            d = parse_date(raw)
            if d is None:
                raise ValueError
            start = datetime.combine(d, time.min, tzinfo=UTC)
            return start, start + timedelta(days=1)
        moment = parse_datetime(raw.replace(" ", "+"))  # a '+' in a query string arrives as a space
    except ValueError:
        moment = None
    if moment is None:
        raise SearchError(
            element, f"'{raw}' is not a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or an instant with an offset)."
        )
    if moment.tzinfo is None:
        raise SearchError(element, f"'{raw}' has a time without a UTC offset.")
    return moment, moment + timedelta(seconds=1)


def date_filter(source: Source, values: list[str]) -> Q:
    q = Q()
    for raw in values:
        m = _PREFIX.match(raw)
        prefix, text = (m.group(1) or "eq"), m.group(2)
        start, end = parse_moment(text, "date")
        fieldname = source.date_field
        if source.date_is_day:
            start_v, end_v = start.date(), (end - timedelta(microseconds=1)).date()
            cond = {
                "eq": Q(**{f"{fieldname}__gte": start_v, f"{fieldname}__lte": end_v}),
                "ne": ~Q(**{f"{fieldname}__gte": start_v, f"{fieldname}__lte": end_v}),
                "lt": Q(**{f"{fieldname}__lt": start_v}),
                "eb": Q(**{f"{fieldname}__lt": start_v}),
                "le": Q(**{f"{fieldname}__lte": end_v}),
                "gt": Q(**{f"{fieldname}__gt": end_v}),
                "sa": Q(**{f"{fieldname}__gt": end_v}),
                "ge": Q(**{f"{fieldname}__gte": start_v}),
            }[prefix]
        else:
            cond = {
                "eq": Q(**{f"{fieldname}__gte": start, f"{fieldname}__lt": end}),
                "ne": ~Q(**{f"{fieldname}__gte": start, f"{fieldname}__lt": end}),
                "lt": Q(**{f"{fieldname}__lt": start}),
                "eb": Q(**{f"{fieldname}__lt": start}),
                "le": Q(**{f"{fieldname}__lt": end}),
                "gt": Q(**{f"{fieldname}__gte": end}),
                "sa": Q(**{f"{fieldname}__gte": end}),
                "ge": Q(**{f"{fieldname}__gte": start}),
            }[prefix]
        q &= cond
    return q


def patient_id_of(raw: str, element: str = "patient") -> str:
    """`patient=<id>` or `patient=Patient/<id>` (or a full URL ending so)."""
    value = raw.strip().rstrip("/").rsplit("Patient/", 1)[-1]
    if not re.fullmatch(r"[0-9a-fA-F-]{36}", value):
        raise SearchError(element, f"'{raw}' is not a Patient id.")
    return value


@dataclass
class Search:
    """A parsed search: filters per source, paging."""

    type: str
    count: int = 50
    page: int = 1
    filters: dict = field(default_factory=dict)


MAX_COUNT = 500


def parse(resource_type: str, params) -> Search:
    search = Search(resource_type)
    for key in params:
        base = key.split(":", 1)[0]
        if base not in SEARCH_PARAMS and base not in ("_format",):
            raise SearchError(
                key, f"Unknown search parameter '{key}' for {resource_type} (supported: {', '.join(SEARCH_PARAMS)})."
            )
    for name in ("_count", "_page"):
        if name in params:
            raw = params.get(name)
            if not re.fullmatch(r"\d{1,6}", raw or "") or int(raw) < (0 if name == "_count" else 1):
                raise SearchError(name, f"{name} must be a positive whole number.")
            setattr(search, name.lstrip("_"), int(raw))
    search.count = min(search.count, MAX_COUNT)
    pid = params.get("patient") or params.get("subject")
    if pid:
        search.filters["patient"] = patient_id_of(pid, "patient" if params.get("patient") else "subject")
    if params.get("_id"):
        search.filters["_id"] = params.get("_id")
    if "code" in params:
        if resource_type != "Observation":
            raise SearchError("code", f"code is searchable on Observation only, not {resource_type}.")
        values = []
        for token in params.get("code").split(","):
            system, _, code = token.rpartition("|")
            if not code:
                raise SearchError("code", "code needs a value (system|code or code).")
            values.append(code)
        search.filters["code"] = values
    dates = params.getlist("date") if hasattr(params, "getlist") else ([params["date"]] if "date" in params else [])
    if dates:
        for raw in dates:
            m = _PREFIX.match(raw)
            parse_moment(m.group(2), "date")
        search.filters["date"] = dates
    if params.get("_since"):
        start, _ = parse_moment(params.get("_since"), "_since")
        search.filters["_since"] = start
    return search


def filtered(user, search: Search, source: Source, patients: QuerySet | None = None) -> QuerySet:
    qs = rows(user, source, patients)
    f = search.filters
    if "patient" in f:
        qs = qs.filter(pk=f["patient"]) if source.model is Patient else qs.filter(patient_id=f["patient"])
    if "_id" in f:
        ids = [i.strip() for i in f["_id"].split(",")]
        pks = [i for i in ids if re.fullmatch(r"[0-9a-fA-F-]{36}", i)]
        qs = qs.filter(pk__in=pks)
    if "code" in f:
        q = Q(pk__in=[])
        for code in f["code"]:
            q |= source.code_filter(code) if source.code_filter else Q(pk__in=[])
        qs = qs.filter(q)
    if "date" in f:
        if source.date_field is None:
            raise SearchError("date", f"date is not searchable on {search.type}.")
        qs = qs.filter(date_filter(source, f["date"]))
    if "_since" in f and source.since_field:
        qs = qs.filter(**{f"{source.since_field}__gte": f["_since"]})
    return qs.order_by(*source.order)


def run(user, search: Search, patients: QuerySet | None = None) -> tuple[list[dict], int]:
    """One page of a search across the type's sources (in order: readings, then daily summaries,
    then labs for Observation), and the total number of matching rows. A row that maps to several
    resources (a day of wearable summaries) counts as one row for paging."""
    sources = TYPES[search.type]
    offset = (search.page - 1) * search.count
    remaining = search.count
    out: list[dict] = []
    total = 0
    for source in sources:
        qs = filtered(user, search, source, patients)
        n = qs.count()
        if remaining and offset < total + n:
            start = max(0, offset - total)
            for row in qs[start : start + remaining]:
                out.extend(source.to_fhir(row))
                remaining -= 1
        total += n
    return out, total


def stream(
    user, resource_type: str, patients: QuerySet | None = None, since: datetime | None = None, chunk_size: int = CHUNK
) -> Iterator[dict]:
    """Every resource of a type for these patients, a chunk of rows at a time (exports)."""
    search = Search(resource_type)
    if since is not None:
        search.filters["_since"] = since
    for source in TYPES[resource_type]:
        qs = filtered(user, search, source, patients).order_by("pk")
        iterator = qs.iterator(chunk_size=chunk_size) if not source.prefetch else qs.iterator(chunk_size=chunk_size)
        for row in iterator:
            yield from source.to_fhir(row)


def to_utc_day(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=UTC)
