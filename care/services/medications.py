"""Medications and their doses: the list (staff entry, patient-reported additions), schedules as
RRULE lines in the patient's wall clock, dose rows generated ahead (idempotent), taken / skipped
from the portal and the API, missed after a grace period, and adherence.

Why dose rows rather than a log of takings (MedicationLogs 004): a dose nobody logged must be
visible as missed, and adherence needs its denominator. Rows exist for `HORIZON` ahead so the
portal's "today" and reminders read them; the Celery beat tasks keep the horizon filled and mark
missed doses (both idempotent: unique (medication, scheduled_at), and updates keyed on status).

DST: each time of day is expanded as a naive wall-clock time by dateutil and then placed in the
patient's zone, so 08:00 stays 08:00 across a change (a time that doesn't exist that night, 02:30
on a spring-forward day, lands an hour later; an ambiguous one takes its first occurrence)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from care.models import Medication, MedicationDose
from mahalo import audit, config

HORIZON = timedelta(days=2)
GRACE_SETTING = "care.dose_grace_minutes"
DEFAULT_GRACE_MINUTES = 120
EARLY_LOG = timedelta(hours=12)  # a dose may be marked taken up to this long before its time
WEEKDAYS = [("MO", "Mon"), ("TU", "Tue"), ("WE", "Wed"), ("TH", "Thu"), ("FR", "Fri"), ("SA", "Sat"), ("SU", "Sun")]


# --- Schedules ----------------------------------------------------------------------------

def schedule_build(times: list[time], weekdays: list[str] | None = None) -> str:
    """RRULE lines for doses at `times` every day (or on `weekdays`, e.g. ["MO", "TH"])."""
    by_day = f";BYDAY={','.join(weekdays)}" if weekdays else ""
    freq = "WEEKLY" if weekdays else "DAILY"
    return "\n".join(f"RRULE:FREQ={freq}{by_day};BYHOUR={t.hour};BYMINUTE={t.minute};BYSECOND=0"
                     for t in sorted(set(times)))


def schedule_parse(schedule: str, start: date):
    """The rruleset of a schedule, dtstart at the start date's local midnight; ValueError if bad."""
    text = "\n".join(line.strip() if line.strip().upper().startswith("RRULE:") else f"RRULE:{line.strip()}"
                     for line in (schedule or "").splitlines() if line.strip())
    if not text:
        raise ValueError("No schedule.")
    return rrulestr(text, dtstart=datetime.combine(start, time(0)), forceset=True, unfold=True)


def schedule_times(schedule: str) -> list[str]:
    """The times of day a schedule names, "HH:MM" (for forms and labels)."""
    out = []
    for line in (schedule or "").splitlines():
        hours = re.search(r"BYHOUR=([\d,]+)", line)
        minutes = re.search(r"BYMINUTE=([\d,]+)", line)
        for h in (hours.group(1).split(",") if hours else []):
            for m in (minutes.group(1).split(",") if minutes else ["0"]):
                out.append(f"{int(h):02d}:{int(m):02d}")
    return sorted(set(out))


def schedule_label(med: Medication) -> str:
    if med.as_needed or not med.schedule:
        return "As needed"
    times = schedule_times(med.schedule)
    days = re.search(r"BYDAY=([A-Z,]+)", med.schedule)
    when = ", ".join(times) if times else "Custom schedule"
    if days:
        names = dict(WEEKDAYS)
        return f"{when} on " + ", ".join(names.get(d, d) for d in days.group(1).split(","))
    return f"{when} daily" if times else when


def occurrences(med: Medication, start: datetime, end: datetime) -> list[datetime]:
    """Aware UTC times of the medication's doses in [start, end]."""
    if med.as_needed or not med.schedule:
        return []
    tz = med.patient.tz
    lo = max(start, datetime.combine(med.start_date, time(0), tzinfo=tz))
    hi = end if med.end_date is None else min(end, datetime.combine(med.end_date + timedelta(days=1), time(0),
                                                                     tzinfo=tz))
    if lo > hi:
        return []
    rules = schedule_parse(med.schedule, med.start_date)
    # Widen by a day each side in wall-clock terms, then filter exactly in UTC.
    naive_lo = lo.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    naive_hi = hi.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    out = []
    for wall in rules.between(naive_lo, naive_hi, inc=True):
        at = wall.replace(tzinfo=tz).astimezone(UTC)
        if lo <= at <= hi:
            out.append(at)
    return out


# --- Allergies -----------------------------------------------------------------------------

def allergy_matches(patient, name: str) -> list[str]:
    """The patient's recorded medication allergies that the name mentions (or that mention it)."""
    text = patient.medication_allergies or ""
    terms = [t.strip() for t in re.split(r"[,;\n/]+", text) if t.strip()]
    words = {w for w in re.findall(r"[a-z]{4,}", (name or "").lower())}
    hits = []
    for term in terms:
        term_words = set(re.findall(r"[a-z]{4,}", term.lower()))
        if words & term_words or any(w.startswith(tw[:5]) or tw.startswith(w[:5]) for w in words
                                     for tw in term_words if len(tw) >= 5 and len(w) >= 5):
            hits.append(term)
    return hits


# --- Writes --------------------------------------------------------------------------------

@dataclass
class MedicationIn:
    name: str
    start_date: date
    dose: Decimal | None = None
    dose_unit: str = ""
    route: str = Medication.Route.ORAL
    schedule: str = ""
    as_needed: bool = False
    end_date: date | None = None
    prescriber_name: str = ""
    instructions: str = ""
    reason: str = ""
    critical: bool = False


def _validate(data: MedicationIn) -> dict:
    errors: dict[str, list[str]] = {}
    if not (data.name or "").strip():
        errors["name"] = ["Name the medication."]
    if data.route not in Medication.Route.values:
        errors["route"] = ["Unknown route."]
    if data.dose is not None and data.dose <= 0:
        errors["dose"] = ["A dose is more than zero."]
    if data.end_date and data.start_date and data.end_date < data.start_date:
        errors["end_date"] = ["The end date is before the start date."]
    if not data.as_needed:
        if not (data.schedule or "").strip():
            errors["schedule"] = ["Give the times of day, or mark it as needed."]
        else:
            try:
                schedule_parse(data.schedule, data.start_date or date.today())
            except (ValueError, TypeError) as exc:
                errors["schedule"] = [f"Not a schedule this system understands: {exc}"]
    return errors


@transaction.atomic
def medication_create(*, patient, actor, data: MedicationIn, patient_reported: bool = False, request=None,
                      via: str = "") -> Medication:
    errors = _validate(data)
    if errors:
        raise ValidationError(errors)
    staff_entry = not patient_reported
    med = Medication.objects.create(
        project_id=patient.project_id, program_id=patient.program_id, patient=patient, name=data.name.strip()[:200],
        dose=data.dose, dose_unit=data.dose_unit.strip()[:20], route=data.route,
        schedule="" if data.as_needed else data.schedule.strip(), as_needed=data.as_needed,
        start_date=data.start_date, end_date=data.end_date, prescriber=actor if staff_entry and not data.prescriber_name
        else None, prescriber_name=data.prescriber_name.strip()[:200], instructions=data.instructions.strip(),
        reason=data.reason.strip()[:300], critical=data.critical and staff_entry, patient_reported=patient_reported,
        created_by=actor)
    audit.record(action="write", request=request, actor=actor, resource="care.medication", patient=patient,
                 object_id=med.pk, metadata={"event": "medication_added", "via": via, "name": med.name,
                                             "patient_reported": patient_reported,
                                             "allergy_warning": allergy_matches(patient, med.name)})
    doses_generate(med)
    return med


@transaction.atomic
def medication_set_status(*, medication: Medication, actor, status: str, reason: str = "", request=None,
                          via: str = "") -> Medication:
    if status not in Medication.Status.values:
        raise ValidationError({"status": ["Unknown status."]})
    med = Medication.objects.select_for_update(of=("self",)).select_related("patient__program").get(pk=medication.pk)
    before = med.status
    med.status = status
    if status in (Medication.Status.STOPPED, Medication.Status.COMPLETED) and med.end_date is None:
        med.end_date = med.patient.today
    med._change_reason = reason[:100] if reason else None
    med.save()
    if status != Medication.Status.ACTIVE:
        # Future doses nobody logged go: a stopped medication is not "missed".
        med.doses.filter(status=MedicationDose.Status.SCHEDULED, scheduled_at__gt=timezone.now()).delete()
    else:
        doses_generate(med)
    audit.record(action="update", request=request, actor=actor, resource="care.medication", patient=med.patient,
                 object_id=med.pk, metadata={"event": "medication_status", "from": before, "to": status,
                                             "reason": reason, "via": via})
    return med


def doses_generate(med: Medication, *, now: datetime | None = None, horizon: timedelta = HORIZON) -> int:
    """Create the dose rows from now (or the medication's creation, whichever is later) to now + horizon.
    Idempotent: existing (medication, time) rows are left as they are. Returns rows attempted."""
    now = now or timezone.now()
    if med.status != Medication.Status.ACTIVE or med.as_needed or not med.schedule:
        return 0
    start = max(med.created_at or now, now - timedelta(days=1))
    tz = med.patient.tz
    rows = [MedicationDose(project_id=med.project_id, patient_id=med.patient_id, medication=med, scheduled_at=at,
                           local_date=at.astimezone(tz).date())
            for at in occurrences(med, start, now + horizon)]
    MedicationDose.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def doses_generate_all(*, now: datetime | None = None) -> int:
    meds = (Medication.objects.filter(status=Medication.Status.ACTIVE, as_needed=False)
            .exclude(schedule="").select_related("patient__program"))
    return sum(doses_generate(m, now=now) for m in meds.iterator())


def grace_minutes(project=None) -> int:
    return config.get_int(GRACE_SETTING, DEFAULT_GRACE_MINUTES, project=project) or DEFAULT_GRACE_MINUTES


def doses_mark_missed(*, now: datetime | None = None) -> int:
    """Doses neither taken nor skipped by their time plus the grace period become missed."""
    from care.services import dose_rules

    now = now or timezone.now()
    due = MedicationDose.objects.filter(status=MedicationDose.Status.SCHEDULED,
                                        scheduled_at__lt=now - timedelta(minutes=grace_minutes()))
    ids = list(due.values_list("pk", flat=True)[:5000])  # a backlog is worked off in slices, run after run
    if not ids:
        return 0
    with transaction.atomic():
        count = MedicationDose.objects.filter(pk__in=ids, status=MedicationDose.Status.SCHEDULED).update(
            status=MedicationDose.Status.MISSED)
        dose_rules.record_missed(ids, now)
    return count


LOGGABLE = (MedicationDose.Status.TAKEN, MedicationDose.Status.SKIPPED)


@transaction.atomic
def dose_log(*, dose: MedicationDose, actor, status: str, taken_at: datetime | None = None, note: str = "",
             request=None, via: str = "") -> MedicationDose:
    """Mark a dose taken or skipped (also a missed one, late: the patient remembers). Marking it again
    changes it; the audit trail keeps every mark."""
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if status not in LOGGABLE:
        errors["status"] = ["Say 'taken' or 'skipped'."]
    dose = (MedicationDose.objects.select_for_update(of=("self",)).select_related("medication", "patient__program")
            .get(pk=dose.pk))
    if dose.scheduled_at - EARLY_LOG > now:
        errors["status"] = ["This dose isn't due yet."]
    if status == MedicationDose.Status.TAKEN:
        taken_at = taken_at or now
        if timezone.is_naive(taken_at):
            errors["taken_at"] = ["Give the time with a time zone."]
        elif taken_at > now + timedelta(minutes=5):
            errors["taken_at"] = ["That time is in the future."]
        elif taken_at < dose.scheduled_at - EARLY_LOG:
            errors["taken_at"] = ["That is long before this dose was due."]
    else:
        taken_at = None
    if errors:
        raise ValidationError(errors)
    before = dose.status
    dose.status, dose.taken_at, dose.logged_at, dose.logged_by = status, taken_at, now, actor
    dose.note = (note or "").strip()[:300]
    dose.save()
    audit.record(action="update", request=request, actor=actor, resource="care.dose", patient=dose.patient,
                 object_id=dose.pk, metadata={"event": f"dose_{status}", "from": before, "via": via,
                                              "medication": str(dose.medication_id)})
    return dose


# --- Reading -------------------------------------------------------------------------------

def active_medications(patient) -> list[Medication]:
    return list(Medication.objects.filter(patient=patient).select_related("prescriber")
                .order_by("status", "-critical", "name"))


def today_doses(patient) -> list[MedicationDose]:
    return list(MedicationDose.objects.filter(patient=patient, local_date=patient.today,
                                              medication__status=Medication.Status.ACTIVE)
                .select_related("medication").order_by("scheduled_at", "medication__name"))


@dataclass
class Adherence:
    due: int = 0
    taken: int = 0
    skipped: int = 0
    missed: int = 0
    days: int = 0
    days_covered: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.taken / self.due) if self.due else None

    @property
    def days_percent(self) -> int | None:
        return round(100 * self.days_covered / self.days) if self.days else None


def adherence(patient, days: int, *, now: datetime | None = None) -> tuple[Adherence, dict]:
    """(overall, {medication id: Adherence}) over the last `days` local days, counting only doses whose
    outcome is known (taken, skipped, missed): a dose still within its grace period isn't held against
    anyone. Days covered: days on which every known dose was taken (proportion of days covered)."""
    now = now or timezone.now()
    first = patient.today - timedelta(days=days - 1)
    rows = (MedicationDose.objects.filter(patient=patient, local_date__gte=first, scheduled_at__lte=now)
            .exclude(status=MedicationDose.Status.SCHEDULED).values_list("medication_id", "local_date", "status"))
    overall = Adherence()
    per: dict = {}
    day_ok: dict = {}
    med_day_ok: dict = {}
    for med_id, day, status in rows:
        for a in (overall, per.setdefault(med_id, Adherence())):
            a.due += 1
            setattr(a, status, getattr(a, status) + 1)
        taken = status == MedicationDose.Status.TAKEN
        day_ok[day] = day_ok.get(day, True) and taken
        med_day_ok[(med_id, day)] = med_day_ok.get((med_id, day), True) and taken
    overall.days, overall.days_covered = len(day_ok), sum(day_ok.values())
    for (med_id, _day), ok in med_day_ok.items():
        per[med_id].days += 1
        per[med_id].days_covered += ok
    return overall, per


def daily_adherence(patient, days: int, *, now: datetime | None = None) -> list[tuple[date, int | None]]:
    """Per local day: % of known doses taken (None: no dose due that day)."""
    now = now or timezone.now()
    first = patient.today - timedelta(days=days - 1)
    counts: dict = {}
    for day, status in (MedicationDose.objects.filter(patient=patient, local_date__gte=first, scheduled_at__lte=now)
                        .exclude(status=MedicationDose.Status.SCHEDULED).values_list("local_date", "status")):
        due, taken = counts.get(day, (0, 0))
        counts[day] = (due + 1, taken + (status == MedicationDose.Status.TAKEN))
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        due, taken = counts.get(day, (0, 0))
        out.append((day, round(100 * taken / due) if due else None))
    return out


def recent_doses(patient, limit: int = 40) -> list[MedicationDose]:
    return list(MedicationDose.objects.filter(patient=patient, scheduled_at__lte=timezone.now())
                .select_related("medication", "logged_by").order_by("-scheduled_at")[:limit])
