"""Programs (cohorts) and patients.

Seeds: ma_programs, ma_patients (000), profiles (001), Patient (003),
Patients (004). The patients issue extends Patient with the rest of the union.
"""

import uuid
import zoneinfo
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Upper
from django.utils import timezone
from guardian.models import UserObjectPermissionBase
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords


def validate_timezone(value: str) -> None:
    # Validated rather than `choices`: the tz database changes with tzdata
    # releases and must not force a new migration each time.
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/New_York).")


class Program(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="programs")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Decides display and day boundaries for this program's patients.
    timezone = models.CharField(max_length=64, default="America/New_York", validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="uniq_program_name_per_project")]

    def __str__(self):
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Patient(models.Model):
    """One person in a program: the union of the seeds' patient records."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        DISCHARGED = "discharged", "Discharged"
        ARCHIVED = "archived", "Archived"

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class ContactMethod(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        TEXT = "text", "Text message"
        PORTAL = "portal", "Portal message"

    class ContactTime(models.TextChoices):
        MORNING = "morning", "Morning"
        AFTERNOON = "afternoon", "Afternoon"
        EVENING = "evening", "Evening"

    class PhoneType(models.TextChoices):
        MOBILE = "mobile", "Mobile"
        HOME = "home", "Home"
        WORK = "work", "Work"

    class Smoking(models.TextChoices):
        NEVER = "never", "Never"
        FORMER = "former", "Former"
        CURRENT = "current", "Current"

    class Alcohol(models.TextChoices):
        NONE = "none", "None"
        OCCASIONAL = "occasional", "Occasional"
        MODERATE = "moderate", "Moderate"
        HEAVY = "heavy", "Heavy"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="patients")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="patients")
    # Portal login, when the patient has one.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="patient"
    )
    # Identity. MRN: the program's own identifier for the patient.
    mrn = models.CharField("MRN", max_length=40, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    # Contact.
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True, help_text="E.164, e.g. +18085550142")
    phone_type = models.CharField(max_length=10, choices=PhoneType.choices, blank=True)
    alternate_phone = PhoneNumberField(blank=True)
    preferred_contact_method = models.CharField(max_length=10, choices=ContactMethod.choices, blank=True)
    preferred_contact_time = models.CharField(max_length=10, choices=ContactTime.choices, blank=True)
    street_address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, default="US")
    # Emergency contacts (seed 004 keeps two).
    emergency_contact_1_name = models.CharField(max_length=150, blank=True)
    emergency_contact_1_relationship = models.CharField(max_length=60, blank=True)
    emergency_contact_1_phone = PhoneNumberField(blank=True)
    emergency_contact_2_name = models.CharField(max_length=150, blank=True)
    emergency_contact_2_relationship = models.CharField(max_length=60, blank=True)
    emergency_contact_2_phone = PhoneNumberField(blank=True)
    # Body and background.
    height_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True,
                                    validators=[MinValueValidator(30), MaxValueValidator(272)])
    smoking_status = models.CharField(max_length=10, choices=Smoking.choices, blank=True)
    alcohol_use = models.CharField(max_length=12, choices=Alcohol.choices, blank=True)
    primary_language = models.CharField(max_length=60, blank=True)
    occupation = models.CharField(max_length=120, blank=True)
    education = models.CharField(max_length=120, blank=True)
    living_situation = models.CharField(max_length=120, blank=True)
    primary_caregiver = models.CharField(max_length=150, blank=True)
    # Anything else a program collects (seed 003's demographics JSON).
    demographics = models.JSONField(default=dict, blank=True)
    # Clinical background.
    medication_allergies = models.TextField(blank=True)
    other_allergies = models.TextField(blank=True)
    chronic_conditions = models.TextField(blank=True)
    primary_doctor_name = models.CharField(max_length=150, blank=True)
    primary_doctor_phone = PhoneNumberField(blank=True)
    # Coverage.
    insurance_provider = models.CharField(max_length=150, blank=True)
    insurance_policy_number = models.CharField(max_length=60, blank=True)
    insurance_group_number = models.CharField(max_length=60, blank=True)
    preferred_pharmacy = models.CharField(max_length=150, blank=True)
    pharmacy_phone = PhoneNumberField(blank=True)
    # Cardiac rehab (seed 004).
    surgery_date = models.DateField(null=True, blank=True)
    surgery_type = models.CharField(max_length=150, blank=True)
    discharge_summary = models.TextField(blank=True)
    current_stage = models.CharField(max_length=80, blank=True)
    target_heart_rate = models.PositiveSmallIntegerField(null=True, blank=True,
                                                         validators=[MinValueValidator(30), MaxValueValidator(250)])
    max_heart_rate = models.PositiveSmallIntegerField(null=True, blank=True,
                                                      validators=[MinValueValidator(30), MaxValueValidator(250)])
    resting_heart_rate = models.PositiveSmallIntegerField(null=True, blank=True,
                                                          validators=[MinValueValidator(20), MaxValueValidator(200)])
    bp_goal_systolic = models.PositiveSmallIntegerField(null=True, blank=True,
                                                        validators=[MinValueValidator(70), MaxValueValidator(250)])
    bp_goal_diastolic = models.PositiveSmallIntegerField(null=True, blank=True,
                                                         validators=[MinValueValidator(40), MaxValueValidator(150)])
    weight_goal_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True,
                                         validators=[MinValueValidator(20), MaxValueValidator(400)])
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # Set by data ingest (wearables, vitals): the registry's "last data" and "no data in N days".
    last_data_at = models.DateTimeField(null=True, blank=True)
    # What the registry's search box matches, kept by the database itself (so
    # bulk writes can't forget it) and trigram-indexed on PostgreSQL.
    search_text = models.GeneratedField(
        expression=Upper(Concat(
            "first_name", Value(" "), "last_name", Value(" "), "preferred_name", Value(" "), "mrn", Value(" "),
            "email", Value(" "), "phone", output_field=models.TextField(),
        )),
        output_field=models.TextField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Field-level change history (django-simple-history), shown on the timeline.
    history = HistoricalRecords(excluded_fields=["search_text", "updated_at"])

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "mrn"], condition=~models.Q(mrn=""),
                                    name="uniq_patient_mrn_per_project"),
        ]
        indexes = [
            models.Index(fields=["project", "program", "status"]),
            # Serves the registry's default order (name, then id as tie-breaker). It carries status and
            # program (PostgreSQL INCLUDE) so a deep page's OFFSET walk is index-only: without them each
            # skipped row was read from the heap to test "not archived" (12 ms at page 95 of 10,000).
            models.Index(fields=["project", "last_name", "first_name", "id"], include=["status", "program"],
                         name="patient_name_order_cov"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        if self.preferred_name and self.preferred_name != self.first_name:
            return f"{self.first_name} “{self.preferred_name}” {self.last_name}"
        return self.full_name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The patient's time zone: their program's, which decides local days and display (UTC
        only for a record not yet in a program). The one spelling of this rule."""
        return self.program.tz if self.program_id else zoneinfo.ZoneInfo("UTC")

    @property
    def today(self) -> date:
        """The patient's local date now (the program's calendar day, not the server's)."""
        return timezone.localdate(timezone=self.tz)

    @property
    def age(self) -> int | None:
        """Whole years on the patient's own local date: a birthday starts at local midnight in the
        program's time zone, not the server's."""
        if not self.date_of_birth:
            return None
        today = self.today
        born = self.date_of_birth
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def post_op_week(self) -> int | None:
        """Whole weeks since surgery (CLINICAL.md: the first week after surgery is week 0); None without a
        surgery date or before it. The one definition: the chart header, the API and rehab's phases use it."""
        if not self.surgery_date:
            return None
        days = (self.today - self.surgery_date).days
        return days // 7 if days >= 0 else None

    @property
    def bp_goal(self) -> str:
        if self.bp_goal_systolic and self.bp_goal_diastolic:
            return f"{self.bp_goal_systolic}/{self.bp_goal_diastolic}"
        return ""

    def clean(self):
        errors = {}
        if self.program_id and self.project_id and self.program.project_id != self.project_id:
            errors["program"] = "The program must belong to the patient's project."
        if self.date_of_birth and self.date_of_birth > date.today():
            errors["date_of_birth"] = "Date of birth can't be in the future."
        if self.date_of_birth and self.date_of_birth < date(1900, 1, 1):
            errors["date_of_birth"] = "Check the year: that is before 1900."
        if self.surgery_date and self.date_of_birth and self.surgery_date < self.date_of_birth:
            errors["surgery_date"] = "Surgery can't be before the date of birth."
        if bool(self.bp_goal_systolic) != bool(self.bp_goal_diastolic):
            errors["bp_goal_diastolic"] = "Give both numbers of the blood pressure goal, or neither."
        elif self.bp_goal_systolic and self.bp_goal_diastolic and self.bp_goal_diastolic >= self.bp_goal_systolic:
            errors["bp_goal_diastolic"] = "The diastolic goal must be lower than the systolic goal."
        if self.target_heart_rate and self.max_heart_rate and self.target_heart_rate > self.max_heart_rate:
            errors["target_heart_rate"] = "The target heart rate can't exceed the maximum."
        if errors:
            raise ValidationError(errors)


class PatientFlag(models.Model):
    """A care flag on a patient (seed 003's `flags`), one row per flag so lists can filter on it."""

    class Flag(models.TextChoices):
        HIGH_RISK = "HIGH_RISK", "High risk"
        RPM_ENROLLED = "RPM_ENROLLED", "RPM enrolled"
        CCM_ENROLLED = "CCM_ENROLLED", "CCM enrolled"
        FALL_RISK = "FALL_RISK", "Fall risk"
        NEEDS_INTERPRETER = "NEEDS_INTERPRETER", "Needs interpreter"
        POST_SURGICAL = "POST_SURGICAL", "Post-surgical"
        DIABETES = "DIABETES", "Diabetes"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="flags")
    flag = models.CharField(max_length=30, choices=Flag.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flag"]
        constraints = [models.UniqueConstraint(fields=["patient", "flag"], name="uniq_patient_flag")]
        indexes = [models.Index(fields=["flag", "patient"])]

    def __str__(self):
        return self.get_flag_display()


class ProgramEnrollment(models.Model):
    """A stay in a program. The open one (ended_at null) is the current program;
    moving a patient closes it and opens the next, keeping who and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="enrollments")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrollments")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=models.Q(ended_at__isnull=True),
                                    name="one_open_enrollment_per_patient"),
        ]

    def __str__(self):
        return f"{self.patient} in {self.program} from {self.started_at:%Y-%m-%d}"


class CareTeamLink(models.Model):
    """A staff member on a patient's care team (seed 001's patient_doctor_links).

    requested → active → ended, and blocked from requested or active. An active
    link grants the staff member the patient (a guardian `view_patient` grant),
    even outside their programs; leaving `active` removes the grant at once.
    Transitions go through patients.care_team, never by editing `status`."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"
        BLOCKED = "blocked", "Blocked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team_links")
    staff = models.ForeignKey("mahalo.StaffMember", on_delete=models.CASCADE, related_name="care_team_links")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "staff"], name="uniq_care_team_pair"),
            models.CheckConstraint(condition=models.Q(status__in=["requested", "active", "ended", "blocked"]),
                                   name="care_team_status_valid"),
        ]

    def __str__(self):
        return f"{self.staff.user} ↔ {self.patient} ({self.status})"


class PatientUserObjectPermission(UserObjectPermissionBase):
    """Per-object grants on a patient (django-guardian, direct foreign key so the
    access gate can join on it instead of scanning generic object ids)."""

    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)


class PatientImport(models.Model):
    """One bulk import of patients from a CSV or Excel file.

    uploaded → validated (preview shown) → importing → done | failed. The valid
    rows go in all together or not at all; the invalid ones are listed in
    `errors` (and the downloadable report) with their row number and reason."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        VALIDATED = "validated", "Checked"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    # Rows that name no program go here (must be a program the importer may write to).
    default_program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    # Touched when an import starts and as it progresses: a job "importing" with
    # an old heartbeat lost its worker and is re-queued by the beat sweeper.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    imported_rows = models.PositiveIntegerField(default=0)
    # [{"row": 7, "field": "email", "message": "..."}], in file order.
    errors = models.JSONField(default=list, blank=True)
    # What the preview shows: counts per program, a sample of valid rows.
    summary = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
