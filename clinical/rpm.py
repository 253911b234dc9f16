"""The RPM billing ledger (CLINICAL.md, "Remote patient monitoring billing (US CPT, 2026)").

What qualifies, and the choices the table leaves open:

Device periods (99453, 99454, 99445)
- An RpmEpisode's `started_on` anchors consecutive 30-day periods: period 1 is
  started_on .. started_on + 29, period 2 the next 30 days, and so on. When the
  episode ends (`ended_on`), its last period is cut short at that date.
- A day counts once when at least one *device-transmitted* reading falls on it,
  as a LOCAL date in the program's time zone: an Observation whose source is a
  device or provider (every `clinical.models.Source` except "patient" and
  "staff"), or a day another app holds device data for (`wearables.DailyMetric`
  rows from such a source, whose `date` is already local: wearables registers them
  with `register_device_days`, since clinical does not import wearables). CMS
  requires data transmitted by the device, so a value a patient or a nurse typed
  in - even one read off a connected BP cuff - does not count. Several readings,
  metrics or devices on one day count once. Readings flagged "invalid" still
  count: the flag is about clinical plausibility, the code is about the device
  having transmitted.
- 99454 at 16-30 days, 99445 at 2-15 days, never both; nothing at 0-1 day.
- 99453 (setup and education) is billed once per episode: with the period that
  contains `setup_completed_on` (period 1 when setup came before the start),
  and only when that period has a device code (CMS bills setup together with
  the monitoring it set up). A period has one setup date at most, so the code
  can never appear twice for one episode.
- A period belongs to the calendar month in which it ENDS (its last day, after
  any cut-short). A month can hold two period ends (e.g. Jan 1 and Jan 31); the
  report then lists both. An open period that ends later in the current month
  is shown "in progress" with the days so far.

Treatment management (99457, 99458, 99470), per CALENDAR month in the program's
time zone
- Minutes are the finished TimeEntry seconds of the month (an entry belongs to
  the month its `started_at` falls in, locally), summed over all staff, then
  floored to whole minutes: 19 min 59 s is 19 min. A running timer counts only
  once stopped.
- Every management code needs interactive communication: at least one entry of
  the month marked interactive. Without it, no management code at all.
- With it: 20 min or more -> 99457, plus one 99458 for each further FULL 20 min
  (39 -> 99457; 40 -> 99457 + 99458; 60 -> 99457 + 2 x 99458; no cap is
  applied here - payers that cap 99458 units do so on the claim). 10-19 min ->
  99470 (never with 99457). 0-9 min -> nothing.

Queries: `ledger()` reads episodes, device days (one GROUP BY over
observations, one over daily metrics) and minutes (one GROUP BY) - four
queries whatever the number of patients. Writes (timer, manual time, episode)
are audited here, in the one service each, so web and API can't drift apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from clinical.models import Observation, RpmConsent, RpmEpisode, Source, TimeEntry
from mahalo import access, audit
from patients.models import Patient

PERIOD_DAYS = 30
# Entered by a person, not transmitted by a device: never counts toward device days.
MANUAL_SOURCES = (Source.PATIENT, Source.STAFF)
DAYS_99454 = 16
DAYS_99445 = 2
MINUTES_99457 = 20
MINUTES_99458_STEP = 20
MINUTES_99470 = 10
# Manual entries: a single block of management time longer than this is a typo.
MAX_MANUAL_MINUTES = 480
# How far back a manual entry or an episode date may go (late billing corrections).
MAX_BACKDATE_DAYS = 366

CODE_LABELS = {
    "99453": "Device setup and education",
    "99454": "Device supply, 16-30 days",
    "99445": "Device supply, 2-15 days",
    "99457": "Management, first 20 min",
    "99458": "Management, each further 20 min",
    "99470": "Management, first 10 min",
}


# --- Pure rules -------------------------------------------------------------------


def device_code(days: int) -> str | None:
    """99454 at 16-30 days of readings in a period, 99445 at 2-15, else none."""
    if days >= DAYS_99454:
        return "99454"
    if days >= DAYS_99445:
        return "99445"
    return None


def management_codes(seconds: int, interactive: bool) -> list[str]:
    """The month's management codes from its total logged seconds (see module doc)."""
    minutes = seconds // 60
    if not interactive:
        return []
    if minutes >= MINUTES_99457:
        return ["99457"] + ["99458"] * ((minutes - MINUTES_99457) // MINUTES_99458_STEP)
    if minutes >= MINUTES_99470:
        return ["99470"]
    return []


def codes_display(codes: list[str]) -> str:
    """["99457", "99458", "99458"] -> "99457, 99458 ×2" (order kept)."""
    counts: dict[str, int] = {}
    for code in codes:
        counts[code] = counts.get(code, 0) + 1
    return ", ".join(code if n == 1 else f"{code} ×{n}" for code, n in counts.items())


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def parse_month(raw: str) -> date:
    """"YYYY-MM" -> the first of that month; ValueError for anything else."""
    text = (raw or "").strip()
    try:
        if len(text) != 7 or text[4] != "-":
            raise ValueError
        value = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ValueError("Enter a month as YYYY-MM, e.g. 2026-03.") from None
    if not 2000 <= value.year <= 2100:
        raise ValueError("Pick a month between 2000 and 2100.")
    return value


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The aware instant a local day starts (DST-safe: zoneinfo resolves the offset)."""
    return datetime.combine(day, time.min, tzinfo=tz)


def local_today(tz: ZoneInfo) -> date:
    return timezone.now().astimezone(tz).date()


@dataclass(frozen=True)
class Period:
    episode_id: object
    number: int
    start: date
    end: date  # inclusive; cut short at the episode's end
    setup_on: date | None  # the episode's setup date when it falls in (or before) this period

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1


def _period(episode: RpmEpisode, number: int) -> Period | None:
    start = episode.started_on + timedelta(days=PERIOD_DAYS * (number - 1))
    if episode.ended_on is not None and start > episode.ended_on:
        return None
    end = start + timedelta(days=PERIOD_DAYS - 1)
    if episode.ended_on is not None:
        end = min(end, episode.ended_on)
    setup = episode.setup_completed_on
    # Setup before the episode started belongs to period 1; setup after the
    # episode ended belongs to no period.
    holds_setup = setup is not None and setup <= end and (number == 1 or setup >= start)
    return Period(episode.pk, number, start, end, setup if holds_setup else None)


def period_containing(episode: RpmEpisode, day: date) -> Period | None:
    if day < episode.started_on:
        return None
    return _period(episode, (day - episode.started_on).days // PERIOD_DAYS + 1)


def periods_ending_in(episode: RpmEpisode, first: date, last: date) -> list[Period]:
    """The episode's periods whose last day falls in first..last (a calendar month)."""
    out = []
    if last < episode.started_on:
        return out
    # The earliest candidate period is the one holding (first - 29 days).
    number = max(1, (first - episode.started_on).days // PERIOD_DAYS)
    while True:
        period = _period(episode, number)
        if period is None or period.start > last:
            break
        if first <= period.end <= last:
            out.append(period)
        number += 1
    return out


# --- Aggregates (constant queries) ---------------------------------------------------


# Device days held by other apps (a daily summary from a device, not an Observation):
# fn(patient_ids, first, last) -> iterable of (patient_id, local date), one GROUP BY query.
# Registered from the app's AppConfig.ready() (wearables: its DailyMetric days).
DeviceDays = Callable[[object, date, date], Iterable[tuple[object, date]]]
DEVICE_DAY_SOURCES: dict[str, DeviceDays] = {}


def register_device_days(key: str, source: DeviceDays) -> DeviceDays:
    """Count another app's device data as device days (keyed: registering twice replaces)."""
    DEVICE_DAY_SOURCES[key] = source
    return source


def device_days(patient_ids, tz: ZoneInfo, first: date, last: date) -> dict[object, set[date]]:
    """{patient_id: {local dates with device readings}} for first..last (inclusive).

    `patient_ids` may be a list or a subquery. One GROUP BY query for observations and
    one per registered source, one row per patient and local day, whatever the number
    of readings."""
    days: dict[object, set[date]] = defaultdict(set)
    observed = (
        Observation.objects.filter(patient_id__in=patient_ids,
                                   effective_at__gte=local_midnight(first, tz),
                                   effective_at__lt=local_midnight(last + timedelta(days=1), tz))
        .exclude(source__in=MANUAL_SOURCES)
        .annotate(day=TruncDate("effective_at", tzinfo=tz))
        .values_list("patient_id", "day")
        .order_by()  # Meta.ordering would add effective_at to SELECT DISTINCT
        .distinct()
    )
    for patient_id, day in observed:
        days[patient_id].add(day)
    for source in DEVICE_DAY_SOURCES.values():
        for patient_id, day in source(patient_ids, first, last):
            days[patient_id].add(day)
    return days


@dataclass
class MonthTime:
    seconds: int = 0
    interactive: bool = False
    entries: int = 0

    @property
    def minutes(self) -> int:
        return self.seconds // 60


def month_time(patient_ids, tz: ZoneInfo, month: date) -> dict[object, MonthTime]:
    """{patient_id: MonthTime} for the local calendar month of `month`. One GROUP BY."""
    rows = (
        TimeEntry.objects.filter(patient_id__in=patient_ids, ended_at__isnull=False,
                                 started_at__gte=local_midnight(month_start(month), tz),
                                 started_at__lt=local_midnight(month_end(month) + timedelta(days=1), tz))
        .values("patient_id")
        .annotate(total=Sum("seconds"), n=Count("id"), n_interactive=Count("id", filter=Q(interactive=True)))
        .order_by()
    )
    return {r["patient_id"]: MonthTime(r["total"] or 0, r["n_interactive"] > 0, r["n"]) for r in rows}


@dataclass
class PeriodLine:
    period: Period
    days: int
    code: str | None
    setup_billed: bool
    in_progress: bool


@dataclass
class LedgerRow:
    patient: object
    episodes: list[RpmEpisode]
    periods: list[PeriodLine] = field(default_factory=list)
    time: MonthTime = field(default_factory=MonthTime)
    management: list[str] = field(default_factory=list)
    # Why this row may not be billed ("" = documented consent covers the month): see consent_reasons.
    consent_reason: str = ""

    @property
    def billable(self) -> bool:
        return not self.consent_reason

    @property
    def codes(self) -> list[str]:
        out = []
        for line in self.periods:
            if line.setup_billed:
                out.append("99453")
            if line.code:
                out.append(line.code)
        return out + self.management

    @property
    def codes_text(self) -> str:
        return codes_display(self.codes)


def ledger(*, patients: QuerySet, tz: ZoneInfo, month: date, today: date | None = None) -> list[LedgerRow]:
    """One row per patient (of `patients`) with an RPM episode overlapping `month`,
    ordered by name. The report and the chart both use this, so they always agree."""
    first, last = month_start(month), month_end(month)
    today = today or local_today(tz)
    episodes = list(
        RpmEpisode.objects.filter(patient__in=patients, started_on__lte=last)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=first))
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "patient_id", "started_on")
    )
    if not episodes:
        return []
    ids = list(dict.fromkeys(e.patient_id for e in episodes))
    # Periods ending in the month start at most 29 days before it.
    days = device_days(ids, tz, first - timedelta(days=PERIOD_DAYS - 1), last)
    minutes = month_time(ids, tz, month)
    rows: dict[object, LedgerRow] = {}
    for episode in episodes:
        row = rows.setdefault(episode.patient_id, LedgerRow(patient=episode.patient, episodes=[]))
        row.episodes.append(episode)
        for period in periods_ending_in(episode, first, last):
            n = sum(1 for d in days.get(episode.patient_id, ()) if period.start <= d <= period.end)
            code = device_code(n)
            row.periods.append(PeriodLine(period, n, code, setup_billed=bool(period.setup_on and code),
                                          in_progress=period.end >= today))
    reasons = consent_reasons(ids, first, last)
    for patient_id, row in rows.items():
        row.time = minutes.get(patient_id, MonthTime())
        row.management = management_codes(row.time.seconds, row.time.interactive)
        row.consent_reason = reasons.get(patient_id, "")
    return list(rows.values())


# --- Consent (issue 21 item 12) ------------------------------------------------------------
# CMS requires documented consent before RPM is billed. A month is billable for a patient when a
# consent obtained on or before the month's last day was not withdrawn before its first day.

NO_CONSENT = "No RPM consent recorded"


def consent_reasons(patient_ids, first: date, last: date) -> dict[object, str]:
    """{patient id: why the month can't be billed} for those without consent covering it (one query)."""
    found: dict[object, list[RpmConsent]] = {}
    for c in RpmConsent.objects.filter(patient_id__in=list(patient_ids)).order_by("obtained_on"):
        found.setdefault(c.patient_id, []).append(c)
    out = {}
    for pid in patient_ids:
        consents = found.get(pid, [])
        if any(c.obtained_on <= last and (c.withdrawn_on is None or c.withdrawn_on >= first) for c in consents):
            continue
        if not consents:
            out[pid] = NO_CONSENT
        elif all(c.obtained_on > last for c in consents):
            out[pid] = f"Consent obtained {min(c.obtained_on for c in consents):%Y-%m-%d}, after this month"
        else:
            gone = max((c.withdrawn_on for c in consents if c.withdrawn_on), default=None)
            out[pid] = f"Consent withdrawn {gone:%Y-%m-%d}" if gone else NO_CONSENT
    return out


def consents_for(patient) -> list[RpmConsent]:
    """A (gated) patient's consents, newest first."""
    return list(RpmConsent.objects.filter(patient=patient).select_related("obtained_by", "withdrawn_by"))


def active_consent(consents: list[RpmConsent]) -> RpmConsent | None:
    return next((c for c in consents if c.withdrawn_on is None), None)


def consent_for(request, patient, consent_id, *, action: str = "write") -> RpmConsent:
    """One of this patient's consents through the gate (404 for another patient's)."""
    return access.load(request, RpmConsent.objects.filter(patient=patient), consent_id, resource="clinical",
                       action=action)


CONSENT_BACKDATE_DAYS = 3660  # consent given years ago on paper is still consent


@transaction.atomic
def consent_record(*, patient, actor, obtained_on: date, method: str, given_by: str = "Patient", note: str = "",
                   request=None) -> RpmConsent:
    from patients.models import Patient

    today = local_today(patient.tz)
    if obtained_on > today:
        raise ValidationError({"obtained_on": "The date can't be in the future."})
    if obtained_on < today - timedelta(days=CONSENT_BACKDATE_DAYS):
        raise ValidationError({"obtained_on": "The date is more than ten years ago."})
    if method not in RpmConsent.Method.values:
        raise ValidationError({"method": "Choose how consent was given."})
    given_by = (given_by or "").strip() or "Patient"
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # two clicks, one consent
    current = RpmConsent.objects.filter(patient=patient, withdrawn_on__isnull=True).first()
    if current is not None:
        raise ValidationError(f"Consent is already on file (since {current.obtained_on:%b %-d, %Y}); "
                              "withdraw it first to record a new one.")
    consent = RpmConsent.objects.create(project=patient.project, patient=patient, obtained_on=obtained_on,
                                        method=method, given_by=given_by[:200], obtained_by=actor,
                                        note=(note or "").strip())
    _audit(action="create", patient=patient, entry=consent, request=request, actor=actor, what="rpm_consent",
           obtained_on=obtained_on.isoformat(), method=method)
    return consent


@transaction.atomic
def consent_withdraw(*, consent: RpmConsent, actor, on: date, note: str = "", request=None) -> RpmConsent:
    consent = RpmConsent.objects.select_for_update().select_related("patient__program").get(pk=consent.pk)
    patient = consent.patient
    if consent.withdrawn_on is not None:
        raise ValidationError(f"This consent was already withdrawn on {consent.withdrawn_on:%b %-d, %Y}.")
    if on > local_today(patient.tz):
        raise ValidationError({"withdrawn_on": "The date can't be in the future."})
    if on < consent.obtained_on:
        raise ValidationError({"withdrawn_on": "Consent can't be withdrawn before it was given."})
    consent.withdrawn_on, consent.withdrawn_by, consent.withdrawn_note = on, actor, (note or "").strip()
    consent.save(update_fields=["withdrawn_on", "withdrawn_by", "withdrawn_note"])
    _audit(action="update", patient=patient, entry=consent, request=request, actor=actor,
           what="rpm_consent_withdrawn", withdrawn_on=on.isoformat())
    return consent


@dataclass
class CurrentPeriod:
    period: Period
    day_number: int
    days: int
    code: str | None
    days_to_99454: int


def current_period(episode: RpmEpisode | None, tz: ZoneInfo, today: date | None = None) -> CurrentPeriod | None:
    """Where the episode's running 30-day period stands today (two queries)."""
    if episode is None:
        return None
    today = today or local_today(tz)
    period = period_containing(episode, today)
    if period is None:
        return None
    n = len(device_days([episode.patient_id], tz, period.start, min(period.end, today)).get(episode.patient_id, ()))
    return CurrentPeriod(period, (today - period.start).days + 1, n, device_code(n), max(0, DAYS_99454 - n))


# --- Writes (audited) ------------------------------------------------------------------


def _audit(*, action: str, patient, entry, request=None, actor=None, **metadata):
    audit.record(action=action, request=request, actor=actor, resource="clinical", patient=patient,
                 object_id=entry.pk, metadata={"kind": type(entry).__name__, **metadata})


def episodes_for(patient) -> list[RpmEpisode]:
    """A (gated) patient's episodes, newest first."""
    return list(RpmEpisode.objects.filter(patient=patient).order_by("-started_on"))


def finished_entries(patient, since: datetime) -> list[TimeEntry]:
    """A (gated) patient's stopped time entries started since `since`, newest first."""
    return list(TimeEntry.objects.filter(patient=patient, started_at__gte=since, ended_at__isnull=False)
                .select_related("staff").order_by("-started_at"))


def episode_for(request, patient, episode_id, *, action: str = "write") -> RpmEpisode:
    """One of this patient's episodes through the gate: 404 for another patient's episode,
    a missing or a malformed id alike."""
    return access.load(request, RpmEpisode.objects.filter(patient=patient).select_related("patient__program"),
                       episode_id, resource="clinical", action=action)


def running_timer(*, patient, staff_user) -> TimeEntry | None:
    return TimeEntry.objects.filter(patient=patient, staff=staff_user, ended_at__isnull=True).first()


def timer_start(*, patient, staff_user, request=None) -> tuple[TimeEntry, bool]:
    """Start this staff member's timer on the patient; (entry, created).

    Starting again while one runs returns the running one: the partial unique
    constraint (one running timer per staff member and patient) settles a
    double click or two tabs racing."""
    running = running_timer(patient=patient, staff_user=staff_user)
    if running:
        return running, False
    try:
        with transaction.atomic():
            entry = TimeEntry.objects.create(project=patient.project, patient=patient, program=patient.program,
                                             staff=staff_user, started_at=timezone.now(),
                                             source=TimeEntry.Source.TIMER)
    except IntegrityError:
        running = running_timer(patient=patient, staff_user=staff_user)
        if running is None:  # not the race we expected: don't hide it
            raise
        return running, False
    _audit(action="create", patient=patient, entry=entry, request=request, actor=staff_user, what="timer_start")
    return entry, True


@transaction.atomic
def timer_stop(*, patient, staff_user, interactive: bool, note: str = "", request=None) -> TimeEntry | None:
    """Stop the running timer (None when none runs): ended_at now, seconds measured."""
    entry = (TimeEntry.objects.select_for_update()
             .filter(patient=patient, staff=staff_user, ended_at__isnull=True).first())
    if entry is None:
        return None
    entry.ended_at = max(timezone.now(), entry.started_at)
    entry.seconds = int((entry.ended_at - entry.started_at).total_seconds())
    entry.interactive = interactive
    entry.note = note.strip()
    entry.save(update_fields=["ended_at", "seconds", "interactive", "note"])
    _audit(action="update", patient=patient, entry=entry, request=request, actor=staff_user, what="timer_stop",
           seconds=entry.seconds, interactive=interactive)
    return entry


@transaction.atomic
def timer_discard(*, patient, staff_user, request=None) -> bool:
    """Throw away a running timer that was left on by mistake (nothing is billed)."""
    entry = (TimeEntry.objects.select_for_update()
             .filter(patient=patient, staff=staff_user, ended_at__isnull=True).first())
    if entry is None:
        return False
    _audit(action="delete", patient=patient, entry=entry, request=request, actor=staff_user,
           what="timer_discard", started_at=entry.started_at.isoformat())
    entry.delete()
    return True


def time_log_manual(*, patient, staff_user, day: date, minutes: int, interactive: bool, note: str = "",
                    request=None) -> TimeEntry:
    """Log `minutes` of management time on local `day`. ValidationError on bad input;
    nothing is stored then."""
    tz = patient.tz
    today = local_today(tz)
    errors = {}
    if day > today:
        errors["day"] = "The date can't be in the future."
    elif day < today - timedelta(days=MAX_BACKDATE_DAYS):
        errors["day"] = "The date is more than a year ago."
    if not 1 <= minutes <= MAX_MANUAL_MINUTES:
        errors["minutes"] = f"Enter between 1 and {MAX_MANUAL_MINUTES} minutes."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    if day == today:
        # Ended just now - but never before local midnight, or it would land in
        # yesterday (and maybe last month).
        started = max(now - timedelta(minutes=minutes), local_midnight(day, tz))
    else:
        started = datetime.combine(day, time(12, 0), tzinfo=tz)
    entry = TimeEntry.objects.create(project=patient.project, patient=patient, program=patient.program,
                                     staff=staff_user, started_at=started,
                                     ended_at=started + timedelta(minutes=minutes), seconds=minutes * 60,
                                     interactive=interactive, source=TimeEntry.Source.MANUAL, note=note.strip())
    _audit(action="create", patient=patient, entry=entry, request=request, actor=staff_user, what="time_manual",
           seconds=entry.seconds, interactive=interactive, day=day.isoformat())
    return entry


def _check_day(day: date, tz: ZoneInfo, field_name: str) -> None:
    today = local_today(tz)
    if day > today:
        raise ValidationError({field_name: "The date can't be in the future."})
    if day < today - timedelta(days=MAX_BACKDATE_DAYS):
        raise ValidationError({field_name: "The date is more than a year ago."})


@transaction.atomic
def episode_start(*, patient, started_on: date, actor, request=None) -> RpmEpisode:
    """Open an RPM episode. Episodes of one patient never overlap (their periods
    would bill the same days twice)."""
    _check_day(started_on, patient.tz, "started_on")
    # Serialize starts for this patient so two clicks can't open two episodes.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    clash = RpmEpisode.objects.filter(patient=patient).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=started_on)).first()
    if clash is not None:
        raise ValidationError({"started_on": "This patient already has an episode that is open or ends after "
                                             "that date; end it first."})
    episode = RpmEpisode.objects.create(project=patient.project, patient=patient, program=patient.program,
                                        started_on=started_on, created_by=actor)
    _audit(action="create", patient=patient, entry=episode, request=request, actor=actor, what="episode_start",
           started_on=started_on.isoformat())
    return episode


def episode_setup_completed(*, episode: RpmEpisode, on: date, actor, request=None) -> RpmEpisode:
    """Record device setup and education (99453); a correction replaces the date."""
    patient = episode.patient
    _check_day(on, patient.tz, "setup_completed_on")
    if episode.ended_on is not None and on > episode.ended_on:
        raise ValidationError({"setup_completed_on": "Setup can't come after the episode ended."})
    before = episode.setup_completed_on
    episode.setup_completed_on = on
    episode.save(update_fields=["setup_completed_on"])
    _audit(action="update", patient=patient, entry=episode, request=request, actor=actor, what="episode_setup",
           before=before.isoformat() if before else None, after=on.isoformat())
    return episode


def episode_end(*, episode: RpmEpisode, on: date, actor, request=None) -> RpmEpisode:
    patient = episode.patient
    _check_day(on, patient.tz, "ended_on")
    if on < episode.started_on:
        raise ValidationError({"ended_on": "The episode can't end before it started."})
    episode.ended_on = on
    episode.save(update_fields=["ended_on"])
    _audit(action="update", patient=patient, entry=episode, request=request, actor=actor, what="episode_end",
           ended_on=on.isoformat())
    return episode
