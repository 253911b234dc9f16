"""Availability, slots, visit requests, visits, video sessions and calendars.

Seeds: ma_appointments (000), video_calls (001), ProviderAvailability,
VisitSlot, VisitRequest, Visit, VirtualVisitSession (003), Calendars,
CalendarEvents, EventTemplates (004). One model per concept: the seed's
appointment *is* the Visit; its video call *is* the VirtualVisitSession.

Rows are written only by scheduling/services.py (and telehealth.py for the
video session), which hold the locks that keep a staff member's visits from
overlapping. On PostgreSQL the database enforces it too: an exclusion
constraint added by migration 0002 (scheduling.db.VISIT_NO_OVERLAP).
"""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from mahalo.recurrence import describe_rule, validate_rrule


class Mode(models.TextChoices):
    VIRTUAL = "VIRTUAL", "Video visit"
    IN_PERSON = "IN_PERSON", "In person"


class Severity(models.TextChoices):
    GREEN = "GREEN", "Green: routine"
    YELLOW = "YELLOW", "Yellow: soon"
    ORANGE = "ORANGE", "Orange: urgent"
    RED = "RED", "Red: emergency"


# Triage order of the request queue (most severe first).
SEVERITY_RANK = {Severity.RED: 0, Severity.ORANGE: 1, Severity.YELLOW: 2, Severity.GREEN: 3}


class Arrival(models.TextChoices):
    """Seed 003's RequestType / VisitType."""

    SCHEDULED = "SCHEDULED", "Scheduled"
    WALK_IN = "WALK_IN", "Walk-in"


class Availability(models.Model):
    """A staff member's bookable time for one program: a weekly (or any RFC 5545)
    recurring block, or a one-off date. Times are wall-clock times in the
    program's timezone, so 09:00 stays 09:00 across daylight-saving changes."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        PAUSED = "PAUSED", "Paused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, related_name="availability")
    staff = models.ForeignKey("mahalo.StaffMember", on_delete=models.CASCADE, related_name="availability")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    location = models.CharField(max_length=200, blank=True)
    # RFC 5545 RRULE value (e.g. "FREQ=WEEKLY;BYDAY=MO,WE,FR"); empty: a one-off block on `starts_on`.
    rrule = models.CharField("recurrence rule", max_length=500, blank=True)
    # Dates (YYYY-MM-DD) the recurring block doesn't happen (holidays, leave).
    exdates = models.JSONField(default=list, blank=True)
    starts_on = models.DateField(help_text="First date (the date itself for a one-off block).")
    ends_on = models.DateField(null=True, blank=True, help_text="Last date, or empty for no end.")
    start_time = models.TimeField()
    end_time = models.TimeField()
    slot_minutes = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(5),
                                                                            MaxValueValidator(480)])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "availability"
        ordering = ["staff", "starts_on", "start_time"]
        indexes = [models.Index(fields=["staff", "status"]), models.Index(fields=["program", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="availability_end_after_start"),
        ]

    def __str__(self):
        return f"{self.staff} {self.describe()}"

    def describe(self) -> str:
        when = describe_rule(self.rrule, self.starts_on) if self.rrule else f"{self.starts_on:%a %b %-d, %Y}"
        return f"{when}, {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def clean(self):
        errors = {}
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            errors["end_time"] = "The block must end after it starts."
        elif self.start_time and self.end_time and self.slot_minutes:
            minutes = (self.end_time.hour * 60 + self.end_time.minute) - (self.start_time.hour * 60
                                                                          + self.start_time.minute)
            if self.slot_minutes > minutes:
                errors["slot_minutes"] = "A visit can't be longer than the block."
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            errors["ends_on"] = "The last date is before the first."
        if self.rrule:
            try:
                validate_rrule(self.rrule)
            except ValueError as exc:
                errors["rrule"] = str(exc)
        if self.program_id and self.project_id and self.program.project_id != self.project_id:
            errors["program"] = "The program must belong to the same project."
        if errors:
            raise ValidationError(errors)


class Slot(models.Model):
    """A concrete piece of a staff member's time: held for a proposal, booked by
    a visit, or blocked. Open slots are computed from Availability (slots.py) and
    only become rows when something happens to them."""

    class Status(models.TextChoices):
        FREE = "FREE", "Free"
        HELD = "HELD", "Held"
        BOOKED = "BOOKED", "Booked"
        BLOCKED = "BLOCKED", "Blocked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey("patients.Program", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    staff = models.ForeignKey("mahalo.StaffMember", on_delete=models.CASCADE, related_name="slots")
    availability = models.ForeignKey(Availability, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    location = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FREE)
    held_until = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["staff", "starts_at"]),
            models.Index(fields=["status", "starts_at"]),
            models.Index(fields=["held_until"]),
        ]
        constraints = [
            # One row per staff member and start: concurrent bookers of the same
            # slot meet on this row (and its lock) instead of creating two.
            models.UniqueConstraint(fields=["staff", "starts_at"], name="uniq_slot_staff_start"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_end_after_start"),
        ]

    def __str__(self):
        return f"{self.staff} {self.starts_at:%Y-%m-%d %H:%M} {self.status}"

    def is_held(self, now) -> bool:
        return self.status == self.Status.HELD and self.held_until is not None and self.held_until > now


class VisitRequestQuerySet(models.QuerySet):
    def triage_order(self):
        """The triage queue's order: untriaged first (those flagged for immediate review
        at the very top), oldest first within them; then most severe, then oldest. An
        untriaged request is unknown, not routine: it never sorts below a Green one."""
        rank = models.Case(
            models.When(severity__isnull=True, urgent_review=True, then=models.Value(-2)),
            models.When(severity__isnull=True, then=models.Value(-1)),
            *[models.When(severity=s, then=models.Value(r)) for s, r in SEVERITY_RANK.items()],
            default=models.Value(9), output_field=models.IntegerField())
        return self.annotate(triage_rank=rank).order_by("triage_rank", "created_at", "pk")


class VisitRequest(models.Model):
    """A patient's (or staff's, on their behalf) request for a visit, triaged and
    answered with a proposed, held slot that the patient confirms.

    `severity` is empty until a person triages it ("untriaged", shown as such and
    sorted first). `urgency_terms` are the words of the reason that commonly signal
    urgency (scheduling.services.urgency_matches, a per-program list), found when the
    request was made: decision support that flags it for immediate review
    (`urgent_review`), never a triage decision."""

    class Status(models.TextChoices):
        NEW = "NEW", "New"
        TRIAGED = "TRIAGED", "Triaged"
        AWAITING_PATIENT_CONFIRMATION = "AWAITING_PATIENT_CONFIRMATION", "Awaiting patient confirmation"
        CONVERTED_TO_VISIT = "CONVERTED_TO_VISIT", "Booked"
        CANCELLED = "CANCELLED", "Cancelled"

    OPEN = (Status.NEW, Status.TRIAGED, Status.AWAITING_PATIENT_CONFIRMATION)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="visit_requests")
    request_type = models.CharField(max_length=10, choices=Arrival.choices, default=Arrival.SCHEDULED)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.VIRTUAL)
    preferred_date = models.DateField(null=True, blank=True)
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    reason = models.TextField(max_length=2000)
    reason_category = models.CharField(max_length=60, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, null=True, blank=True, default=None,
                                help_text="Empty until triaged.")
    urgency_terms = models.JSONField(default=list, blank=True,
                                     help_text="Words of the reason that often signal urgency (decision support).")
    urgent_review = models.BooleanField(default=False, help_text="Flagged for immediate review by urgency_terms.")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.NEW)
    proposed_slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    visit = models.OneToOneField("scheduling.Visit", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="from_request")
    triage_note = models.CharField(max_length=500, blank=True)
    triaged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    triaged_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    objects = VisitRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "status"]), models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.patient} {self.get_request_type_display()} request ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_untriaged(self) -> bool:
        return not self.severity


class Visit(models.Model):
    """An appointment (seed 000) / visit (seed 003): who, with whom, when, how, and
    where it is in its life: PLANNED → CHECKED_IN → IN_PROGRESS → COMPLETED, or
    CANCELLED / NO_SHOW. Cancelled visits stay (with who, when and why); a
    reschedule cancels this one and books a new one pointing back at it."""

    class Status(models.TextChoices):
        PLANNED = "PLANNED", "Planned"
        CHECKED_IN = "CHECKED_IN", "Checked in"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETED = "COMPLETED", "Completed"
        CANCELLED = "CANCELLED", "Cancelled"
        NO_SHOW = "NO_SHOW", "No-show"

    class Type(models.TextChoices):
        CONSULTATION = "CONSULTATION", "Consultation"
        FOLLOW_UP = "FOLLOW_UP", "Follow-up"
        CHECK_UP = "CHECK_UP", "Check-up"
        REHAB_SESSION = "REHAB_SESSION", "Rehab session"
        NUTRITION = "NUTRITION", "Nutrition counselling"
        MENTAL_HEALTH = "MENTAL_HEALTH", "Wellness session"
        OTHER = "OTHER", "Other"

    # Statuses that no longer occupy the time (the overlap rules ignore them).
    INACTIVE = (Status.CANCELLED, Status.NO_SHOW)
    ACTIVE = (Status.PLANNED, Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED)
    UPCOMING = (Status.PLANNED, Status.CHECKED_IN, Status.IN_PROGRESS)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="visits")
    staff = models.ForeignKey("mahalo.StaffMember", on_delete=models.PROTECT, related_name="visits")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="visits")
    visit_type = models.CharField(max_length=20, choices=Type.choices, default=Type.CONSULTATION)
    arrival = models.CharField(max_length=10, choices=Arrival.choices, default=Arrival.SCHEDULED)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    location = models.CharField(max_length=200, blank=True)
    reason = models.TextField(max_length=2000, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED, db_index=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The program's timezone when booked (seed 000's appointment timezone).
    timezone = models.CharField(max_length=64, default="UTC")
    patient_initiated = models.BooleanField(default=False)
    rescheduled_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="rescheduled_to")
    cancel_reason = models.CharField(max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    checked_in_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["patient", "status"]),
            models.Index(fields=["staff", "starts_at"]),
            models.Index(fields=["status", "starts_at"]),
            models.Index(fields=["patient", "starts_at"]),
        ]
        constraints = [
            # A slot is booked by one live visit; a cancelled one frees it for the next.
            models.UniqueConstraint(fields=["slot"], condition=~Q(status__in=["CANCELLED", "NO_SHOW"]),
                                    name="uniq_live_visit_per_slot"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="visit_end_after_start"),
        ]

    def __str__(self):
        return f"{self.patient} with {self.staff.user} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.status not in self.INACTIVE

    @property
    def is_virtual(self) -> bool:
        return self.mode == Mode.VIRTUAL

    @property
    def tz(self):
        try:
            return zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


# The database's own guarantee (PostgreSQL): no two live visits of one staff
# member overlap. Added by migration 0002 with btree_gist; SQLite has no
# exclusion constraints, so there the services' locking is the guarantee.


class VirtualVisitSession(models.Model):
    """A video call session (seed 003's virtual visit session and seed 001's video_calls): the room
    of a booked virtual visit, or an ad-hoc call a clinician starts from a message thread. One
    table for both; exactly which one started it is `visit` or `thread`.

    `call_status` is seed 001's lifecycle (scheduled → ringing → active → ended / missed /
    canceled / failed); `status` is the room's state the visit pages already show."""

    class Status(models.TextChoices):
        NOT_STARTED = "NOT_STARTED", "Not started"
        WAITING = "WAITING", "Waiting"
        ACTIVE = "ACTIVE", "Active"
        ENDED = "ENDED", "Ended"

    class CallStatus(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RINGING = "ringing", "Ringing"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"
        MISSED = "missed", "Missed"
        CANCELED = "canceled", "Canceled"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    visit = models.OneToOneField(Visit, null=True, blank=True, on_delete=models.CASCADE, related_name="session")
    # An ad-hoc call belongs to the conversation it was started from (seed 001's conversation_id).
    thread = models.ForeignKey("messaging.Thread", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="calls")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    # When an unanswered ring becomes "missed" (the timeout task and the sweeper both read it).
    ring_deadline = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    provider = models.CharField(max_length=20, default="jitsi")
    room_name = models.CharField(max_length=128, db_index=True)
    room_url = models.URLField(max_length=500, blank=True)
    provider_data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_STARTED, db_index=True)
    call_status = models.CharField(max_length=10, choices=CallStatus.choices, default=CallStatus.SCHEDULED)
    patient_joined_at = models.DateTimeField(null=True, blank=True)
    staff_joined_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    recording_enabled = models.BooleanField(default=False)
    recording_url = models.URLField(max_length=500, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(visit__isnull=False) | models.Q(thread__isnull=False),
                                   name="call_has_visit_or_thread"),
        ]
        indexes = [
            models.Index(fields=["thread", "-created_at"], name="video_call_thread_created"),
            models.Index(fields=["call_status", "ring_deadline"], name="video_call_status_deadline"),
        ]

    def __str__(self):
        return f"{self.provider}:{self.room_name} ({self.call_status})"

    LIVE = (CallStatus.SCHEDULED, CallStatus.RINGING, CallStatus.ACTIVE)

    @property
    def is_live(self) -> bool:
        return self.call_status in self.LIVE

    @property
    def duration(self):
        if self.started_at and self.ended_at:
            return self.ended_at - self.started_at
        return None

    @property
    def duration_label(self) -> str:
        """"12 min 05 s", "1 h 3 min", "40 s": for the thread line and the pages."""
        seconds = int(self.duration.total_seconds()) if self.duration else 0
        minutes, secs = divmod(seconds, 60)
        if minutes >= 60:
            return f"{minutes // 60} h {minutes % 60} min"
        return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


class EventCategory(models.TextChoices):
    APPOINTMENT = "appointment", "Appointment"
    MEDICATION = "medication", "Medication"
    EXERCISE = "exercise", "Exercise"
    THERAPY = "therapy", "Therapy"
    MEAL = "meal", "Meal"
    OTHER = "other", "Other"


class Calendar(models.Model):
    """A person's calendar (seed 004): a patient's personal events, or a staff member's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendars")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="calendars")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#0f766e")
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    is_visible = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner"], condition=Q(is_default=True),
                                               name="uniq_default_calendar_per_owner")]

    def __str__(self):
        return f"{self.name} ({self.owner})"


class EventTemplate(models.Model):
    """A reusable event (seed 004): project-wide when `owner` is empty."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=EventCategory.choices, default=EventCategory.OTHER)
    duration_minutes = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(5),
                                                                                MaxValueValidator(24 * 60)])
    default_rrule = models.CharField(max_length=300, blank=True, help_text="e.g. FREQ=DAILY")
    color = models.CharField(max_length=7, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class CalendarEvent(models.Model):
    """A personal event (medication reminder, exercise session...), optionally
    recurring (RRULE + EXDATE, expanded in `timezone`). An edited occurrence is a
    child row with `parent` and `recurrence_id` (the start it replaces)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        SKIPPED = "skipped", "Skipped"  # the patient marked it not done (kept, unlike a cancelled one)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="events")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="calendar_events")
    template = models.ForeignKey(EventTemplate, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    location = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=20, choices=EventCategory.choices, default=EventCategory.OTHER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    timezone = models.CharField(max_length=64, default="UTC")
    rrule = models.CharField("recurrence rule", max_length=500, blank=True)
    # Occurrence starts (ISO 8601, UTC) removed from the series.
    exdates = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="overrides")
    recurrence_id = models.DateTimeField(null=True, blank=True)
    color = models.CharField(max_length=7, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["owner", "starts_at"]), models.Index(fields=["calendar"]),
                   models.Index(fields=["status"])]

    def __str__(self):
        return self.title


class CalendarFeedToken(models.Model):
    """A private, revocable iCalendar feed URL. Only the token's hash is stored;
    the URL is shown once, when it is made."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8, help_text="The token's first characters, to tell feeds apart.")
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} feed {self.hint}…"
