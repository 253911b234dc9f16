"""The registry's filters, shared by the page, its CSV export and the API, so a
filter means the same thing everywhere. Everything starts from the gate's
`access.patients_for(user)`; filters only narrow it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Aggregate, CharField, Expression, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.timesince import timesince

from mahalo import access, db
from mahalo.models import StaffMember
from patients.models import CareTeamLink, Patient, PatientFlag

FILTER_KEYS = ("q", "program", "status", "flag", "care_team", "no_data_days", "sort")
SORTS = {
    "name": ("last_name", "first_name"),
    "-name": ("-last_name", "-first_name"),
    "age": ("-date_of_birth",),
    "-age": ("date_of_birth",),
    "program": ("program__name", "last_name"),
    "status": ("status", "last_name"),
    "last_data": ("last_data_at", "last_name"),
    "-last_data": ("-last_data_at", "last_name"),
    "-created": ("-created_at",),
}
MAX_NO_DATA_DAYS = 365


@dataclass(frozen=True)
class Column:
    """A registry column another app contributes (open alerts, next appointment).

    Its value comes from one of two places. Preferably `annotation()`: an expression on Patient
    (a correlated subquery on OuterRef("pk")) that the page's one query carries, evaluated for
    that page's rows only (see page_rows). Where SQL can't say it per row (a count of each
    patient's own local days), `values(patient_ids)`: {patient id: value} for a page (or an
    export chunk) in a fixed number of queries. Either way the list's query count stays
    constant. `cell(value, row)` is the <td> as safe HTML (built in Python: 50 template
    includes a page cost more than the SQL); `export(value)` is the CSV text."""

    key: str
    label: str
    order: int
    cell: Callable[[object, dict], str]
    export: Callable[[object], str] = str
    annotation: Callable[[], Expression] | None = None
    values: Callable[[list], dict] | None = None

    def __post_init__(self):
        if (self.annotation is None) == (self.values is None):
            raise ValueError(f"registry column {self.key}: give annotation or values, not both or neither")

    @property
    def attr(self) -> str:
        return f"col_{self.key}"


@dataclass(frozen=True)
class Filter:
    """A registry filter another app contributes: a <select> of `choices`;
    `apply(queryset, value)` narrows the gate's patients or raises ValueError(message)."""

    key: str
    label: str
    choices: tuple[tuple[str, str], ...]
    apply: Callable[[QuerySet, str], QuerySet]


EXTRA_COLUMNS: dict[str, Column] = {}
EXTRA_FILTERS: dict[str, Filter] = {}


def register_column(column: Column) -> Column:
    EXTRA_COLUMNS[column.key] = column
    return column


def register_filter(flt: Filter) -> Filter:
    EXTRA_FILTERS[flt.key] = flt
    return flt


def _extra_columns() -> list[Column]:
    return sorted(EXTRA_COLUMNS.values(), key=lambda c: (c.order, c.key))


def filter_fields(filters: dict, errors: dict) -> list[dict]:
    """The registered filters as the page's form shows them."""
    return [{"key": f.key, "label": f.label, "choices": f.choices, "value": filters.get(f.key, ""),
             "error": errors.get(f.key, "")} for f in EXTRA_FILTERS.values()]


def filter_keys() -> tuple[str, ...]:
    return FILTER_KEYS + tuple(EXTRA_FILTERS)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def care_team_choices(user) -> QuerySet[StaffMember]:
    """Staff a user may filter the registry by: active staff of their own tenant."""
    project = access.project_of(user)
    if project is None or access.staff_of(user) is None:
        return StaffMember.objects.none()
    return (StaffMember.objects.filter(project=project, is_active=True).select_related("user")
            .order_by("user__full_name"))


def filter_patients(user, params, *, focus=None) -> tuple[QuerySet[Patient], dict, dict]:
    """(patients, the filters applied, errors by filter) for query parameters `params`.

    `focus` is the staff member's current program (the program switcher): used
    when no program filter is given."""
    qs = access.patients_for(user)
    f = {k: (params.get(k) or "").strip() for k in filter_keys()}
    errors: dict[str, str] = {}

    if f["program"]:
        program_id = _uuid(f["program"])
        qs = qs.filter(program_id=program_id) if program_id else qs.none()
    elif focus is not None:
        qs = qs.filter(program=focus)

    if f["status"] == "all":
        pass
    elif f["status"] in Patient.Status.values:
        qs = qs.filter(status=f["status"])
    else:
        f["status"] = ""
        qs = qs.exclude(status=Patient.Status.ARCHIVED)

    if f["flag"]:
        if f["flag"] in PatientFlag.Flag.values:
            qs = qs.filter(flags__flag=f["flag"])
        else:
            errors["flag"] = "Unknown flag."

    if f["care_team"]:
        staff_id = _uuid(f["care_team"])
        if staff_id is None:
            errors["care_team"] = "Unknown care team member."
        else:
            # One link per (patient, staff): the join can't duplicate patients.
            qs = qs.filter(care_team_links__staff_id=staff_id, care_team_links__status=CareTeamLink.Status.ACTIVE)

    if f["no_data_days"]:
        try:
            days = int(f["no_data_days"])
            if not 1 <= days <= MAX_NO_DATA_DAYS:
                raise ValueError
        except ValueError:
            errors["no_data_days"] = f"Give a number of days from 1 to {MAX_NO_DATA_DAYS}."
        else:
            since = timezone.now() - timedelta(days=days)
            qs = qs.filter(Q(last_data_at__isnull=True) | Q(last_data_at__lt=since))

    for key, flt in EXTRA_FILTERS.items():
        if f[key]:
            try:
                qs = flt.apply(qs, f[key])
            except ValueError as exc:
                errors[key] = str(exc)

    qs = search(qs, f["q"])

    qs = qs.order_by(*SORTS.get(f["sort"], SORTS["name"]), "id")
    return qs, f, errors


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
PHONE_CHARS = re.compile(r"^[\d\s().+-]+$")


def _as_date(term: str):
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(term, fmt).date()
        except ValueError:
            continue
    return None


def search(qs: QuerySet, q: str, prefix: str = "") -> QuerySet:
    """The one patient search (the registry, its CSV and API, the top bar's search): every
    word must match. A word that is a date matches the date of birth (1956-03-14, 3/14/1956);
    a phone number typed with spaces, dashes or brackets ("(808) 555-0101") is matched by
    its digits; any other word is a part of a name, MRN, email or phone (`search_text`).
    `prefix` is the path to the patient from another model ("patient__")."""
    q = (q or "").strip()
    if not q:
        return qs
    digits = re.sub(r"\D", "", q)
    if PHONE_CHARS.match(q) and len(digits) >= 7 and _as_date(q) is None:
        # Phones are stored E.164 (+18085550101): the national digits are a substring.
        return qs.filter(**{f"{prefix}search_text__contains": digits})
    for term in q.split():
        day = _as_date(term)
        if day is not None:
            qs = qs.filter(**{f"{prefix}date_of_birth": day})
        else:
            qs = qs.filter(**{f"{prefix}search_text__contains": term.upper()})
    return qs


LIST_FIELDS = ("id", "project_id", "program_id", "program__name", "program__timezone", "mrn", "first_name",
               "last_name", "preferred_name", "date_of_birth", "email", "status", "last_data_at")


class _FlagList(Aggregate):
    """The flags of a patient as one comma-separated string (string_agg / group_concat)."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ',')"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


def _flag_list() -> Subquery:
    return Subquery(PatientFlag.objects.filter(patient=OuterRef("pk")).order_by().values("patient")
                    .annotate(flags=_FlagList("flag")).values("flags")[:1], output_field=CharField())


def page_rows(qs: QuerySet[Patient], page_slice: QuerySet[Patient]) -> list[Patient]:
    """The page's patients with every list column, in one query: the page's ids are an inner
    LIMIT/OFFSET walk of the ordered list (index-only on the default order, see
    Patient.Meta.indexes), and only those 50 rows are read, joined to their program and
    given their flags and registered columns by correlated subqueries. (Joining or
    annotating the rows OFFSET skips made deep pages cost in proportion to their depth;
    one query per column made every page pay a round trip and an ORM compile per column.)"""
    page = list(with_list_columns(qs.filter(pk__in=page_slice.values("pk"))).order_by(*qs.query.order_by))
    _load_values(page)
    return page


def with_list_columns(qs: QuerySet[Patient]) -> QuerySet[Patient]:
    """What a registry row shows, and only that: a patient has ~70 columns, and
    parsing its six phone fields costs more than the SQL."""
    return qs.select_related("program").only(*LIST_FIELDS).annotate(
        phone_e164=Cast("phone", output_field=CharField()), flag_list=_flag_list(),
        **{c.attr: c.annotation() for c in _extra_columns() if c.annotation},
    )


def _load_values(patients) -> None:
    """Set the value of every `values` column on a page's (or chunk's) patients."""
    for c in _extra_columns():
        if c.values:
            found = c.values([p.pk for p in patients]) if patients else {}
            for p in patients:
                setattr(p, c.attr, found.get(p.pk))


FLAG_LABELS = dict(PatientFlag.Flag.choices)


def flags_of(p: Patient) -> list[str]:
    return sorted(p.flag_list.split(",")) if p.flag_list else []


def list_rows(patients) -> list[dict]:
    return [list_row(p) for p in patients]


BASE_EXPORT_HEADER = ["Name", "MRN", "Age", "Program", "Status", "Flags", "Phone", "Email", "Last data received"]


def export_header() -> list[str]:
    return BASE_EXPORT_HEADER + [c.label for c in _extra_columns()]


def export_rows(qs: QuerySet[Patient], chunk: int = 500):
    """Every row of the filtered registry, streamed in chunks, with the page's columns."""
    batch = []
    # mahalo.db.iterate: keeps streaming behind PgBouncer (no server-side cursor outside a transaction).
    for patient in db.iterate(with_list_columns(qs), chunk_size=chunk):
        batch.append(patient)
        if len(batch) == chunk:
            _load_values(batch)
            yield from map(export_row, batch)
            batch = []
    _load_values(batch)
    yield from map(export_row, batch)


def export_row(p: Patient) -> list:
    """One CSV row: the registry table's columns, in its order (contact split in two)."""
    return [
        f"{p.last_name}, {p.first_name}", p.mrn, "" if p.age is None else p.age, p.program.name,
        p.get_status_display(), "; ".join(FLAG_LABELS[f] for f in flags_of(p)),
        p.phone_e164 or "", p.email,
        timezone.localtime(p.last_data_at).strftime("%Y-%m-%d %H:%M") if p.last_data_at else "",
    ] + [c.export(getattr(p, c.attr)) for c in _extra_columns()]


# Registry table columns: (key, label, sort key toggled by a click or None).
COLUMNS = [("name", "Name", "name"), ("age", "Age", "age"), ("program", "Program", "program"),
           ("status", "Status", "status"), ("contact", "Contact", None), ("last_data", "Last data", "-last_data")]


def column_headers(current_sort: str, base_query: str) -> list[dict]:
    """Header cells with their sort links: a click sorts by the column, a second click reverses."""
    out = []
    active = current_sort or "name"
    for key, label, sort in COLUMNS + [(c.key, c.label, None) for c in _extra_columns()]:
        cell = {"key": key, "label": label, "url": "", "sorted": ""}
        if sort:
            plain = sort.lstrip("-")
            is_active = active.lstrip("-") == plain
            target = ("-" + plain if not active.startswith("-") else plain) if is_active else sort
            cell["url"] = f"?{base_query}{'&' if base_query else ''}sort={target}"
            if is_active:
                cell["sorted"] = "descending" if active.startswith("-") else "ascending"
        out.append(cell)
    return out


def list_row(p: Patient) -> dict:
    """A registry row, formatted once in Python (the template only prints it: 50 rows a page)."""
    from mahalo.templatetags.mahalo import phone_from_e164

    row = {
        "id": p.pk,
        "url": f"/patients/{p.pk}/",
        "name": f"{p.last_name}, {p.first_name}",
        "preferred": p.preferred_name if p.preferred_name != p.first_name else "",
        "mrn": p.mrn,
        "flags": [(f.lower(), FLAG_LABELS[f]) for f in flags_of(p)],
        "age": "—" if p.age is None else p.age,
        "program": p.program.name,
        "status": p.status,
        "status_label": p.get_status_display(),
        "phone": phone_from_e164(p.phone_e164),
        "email": p.email,
        "last_data": f"{timesince(p.last_data_at)} ago" if p.last_data_at else "",
        "values": {c.key: getattr(p, c.attr) for c in _extra_columns()},
    }
    row["extra"] = [c.cell(row["values"][c.key], row) for c in _extra_columns()]
    return row
