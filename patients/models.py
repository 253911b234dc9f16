"""Programs (cohorts) and patients.

Seeds: ma_programs, ma_patients (000), profiles (001), Patient (003),
Patients (004). The patients issue extends Patient with the rest of the union.
"""

import uuid
import zoneinfo
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Upper
from guardian.models import UserObjectPermissionBase


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

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="patients")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="patients")
    # Portal login, when the patient has one.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="patient"
    )
    # Medical record number: the program's own identifier for the patient.
    mrn = models.CharField("MRN", max_length=40, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    preferred_contact_method = models.CharField(max_length=10, choices=ContactMethod.choices, blank=True)
    street_address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, default="US")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True)
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

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "mrn"], condition=~models.Q(mrn=""),
                                    name="uniq_patient_mrn_per_project"),
        ]
        indexes = [
            models.Index(fields=["project", "program", "status"]),
            # Serves the registry's default order (name, then id as tie-breaker).
            models.Index(fields=["project", "last_name", "first_name", "id"], name="patient_name_order"),
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
    def age(self) -> int | None:
        if not self.date_of_birth:
            return None
        today = date.today()
        born = self.date_of_birth
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def clean(self):
        if self.program_id and self.project_id and self.program.project_id != self.project_id:
            raise ValidationError({"program": "The program must belong to the patient's project."})
        if self.date_of_birth and self.date_of_birth > date.today():
            raise ValidationError({"date_of_birth": "Date of birth can't be in the future."})


class PatientUserObjectPermission(UserObjectPermissionBase):
    """Per-object grants on a patient (django-guardian, direct foreign key so the
    access gate can join on it instead of scanning generic object ids)."""

    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)
