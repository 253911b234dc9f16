"""Questionnaires (seed 000: ma_questionnaires, ma_questions, ma_questionnaire_instances,
ma_responses), merged per DESIGN "Where the seed tables go".

- `Questionnaire` is one *version* of an instrument in a tenant: rows with the same
  (project, code) are its versions. A published version is immutable (services and
  admin refuse changes); a new version is a new row, so an answer always points at the
  exact version the patient was asked.
- `Question` holds the FHIR item: linkId, code, type, options with ordinal scores.
- `Assignment` is ma_questionnaire_instances: one questionnaire for one patient, with
  its window (available_at, due_at, expires_at) and the seed's statuses plus
  in_progress and expired. `Schedule` generates assignments (an RRULE or a one-off).
- `Response` (one per assignment) + `Answer` per item are ma_responses; the total is
  also written as a clinical.Observation (LOINC) by assessments.services.
- `SafetyEvent` records a safety answer (PHQ-9 item 9 > 0) and the alert it raised,
  with the documented outcome.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Questionnaire(models.Model):
    class Kind(models.TextChoices):
        SYMPTOM = "symptom", "Symptom"
        BASELINE = "baseline", "Baseline"
        DEMOGRAPHIC = "demographic", "Demographic"

    class TriggerMode(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULED = "scheduled", "Scheduled"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="questionnaires")
    code = models.CharField(max_length=64, help_text="The instrument's identity across versions, e.g. LOINC "
                                                     "44249-1 for PHQ-9, or a slug for a custom form.")
    version = models.PositiveIntegerField(default=1)
    version_label = models.CharField(max_length=40, blank=True, help_text="The FHIR `version`, if any.")
    url = models.CharField(max_length=300, blank=True, help_text="FHIR canonical URL, if any.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SYMPTOM)
    trigger_mode = models.CharField(max_length=10, choices=TriggerMode.choices, default=TriggerMode.MANUAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    builtin = models.BooleanField(default=False, help_text="Loaded by load_questionnaires (PHQ-9, PHQ-2, GAD-7).")
    # The scoring declaration (assessments/scoring.py documents the keys): method, bands,
    # classifier, missing-answer rule, subscales, safety items, total code and metric, triggers.
    scoring = models.JSONField(default=dict, blank=True)
    preamble = models.TextField(blank=True, help_text="Shown before the first question, e.g. 'Over the last 2 "
                                                      "weeks...'.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "code", "version"], name="uniq_questionnaire_version"),
        ]
        indexes = [models.Index(fields=["project", "code", "status"], name="questionnaire_code")]

    def __str__(self):
        return f"{self.name} (v{self.version})"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class Question(models.Model):
    class Type(models.TextChoices):
        CHOICE = "choice", "Choice"
        MULTIPLE = "multiple_choice", "Multiple choice"
        SCALE = "scale", "Scale"
        INTEGER = "integer", "Whole number"
        DECIMAL = "decimal", "Number"
        TEXT = "text", "Text"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes / no"
        DISPLAY = "display", "Text to read (no answer)"

    OPTION_TYPES = (Type.CHOICE, Type.MULTIPLE, Type.SCALE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(default=0)
    link_id = models.CharField(max_length=100)
    code = models.CharField(max_length=64, blank=True, help_text="e.g. LOINC 44260-8.")
    code_system = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    prefix = models.CharField(max_length=20, blank=True)
    type = models.CharField(max_length=16, choices=Type.choices)
    required = models.BooleanField(default=False)
    # [{"code", "display", "system", "score"}]: the score comes from ordinalValue / itemWeight, never the text.
    options = models.JSONField(default=list, blank=True)
    # FHIR enableWhen: [{"question": linkId, "operator": "=", "answer": value}], with enable_behavior all|any.
    enable_when = models.JSONField(default=list, blank=True)
    enable_behavior = models.CharField(max_length=3, default="all")
    help_text = models.TextField(blank=True)
    group = models.CharField(max_length=200, blank=True, help_text="The FHIR group the item came from.")
    reverse_scored = models.BooleanField(default=False, help_text="Score = (max option score + min) - score.")
    translations = models.JSONField(default=dict, blank=True, help_text='{"es": {"text": ..., "options": {code: '
                                                                         'display}}}')

    class Meta:
        ordering = ["questionnaire", "order"]
        constraints = [models.UniqueConstraint(fields=["questionnaire", "link_id"], name="uniq_question_link_id")]

    def __str__(self):
        return f"{self.link_id}: {self.text[:60]}"

    @property
    def answerable(self) -> bool:
        return self.type != self.Type.DISPLAY


class Schedule(models.Model):
    """Assign an instrument to a patient (or every active patient of a program) on an
    RRULE in the program's local time, each occurrence open for `window_hours`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="questionnaire_schedules")
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="schedules")
    rrule = models.TextField(help_text="RFC 5545 RRULE, e.g. FREQ=WEEKLY;INTERVAL=2;COUNT=6.")
    starts_on = models.DateField(help_text="First local date the rule may fire.")
    local_time = models.TimeField(help_text="Local time of day in the program's time zone.")
    window_hours = models.PositiveIntegerField(default=72, help_text="Hours from opening to expiry.")
    active = models.BooleanField(default=True)
    generated_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(patient__isnull=False) | Q(program__isnull=False),
                                              name="schedule_has_target")]


class Assignment(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        SKIPPED = "skipped", "Skipped"
        EXPIRED = "expired", "Expired"

    OPEN = (Status.NEW, Status.IN_PROGRESS)

    class Source(models.TextChoices):
        MANUAL = "manual", "Assigned by staff"
        SCHEDULE = "schedule", "Schedule"
        TRIGGER = "trigger", "Triggered by a rule"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="assignments")
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="assignments")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    schedule = models.ForeignKey(Schedule, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="assignments")
    occurrence = models.DateTimeField(null=True, blank=True, help_text="The schedule occurrence (idempotency).")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    assigned_at = models.DateTimeField()
    available_at = models.DateTimeField(help_text="When the patient can start it (and when it is due).")
    due_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, help_text="Why (a trigger says which answer).")
    # Save and resume: {linkId: value} the patient has answered so far (not scored, not a response).
    draft = models.JSONField(default=dict, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    expiry_reminded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-available_at"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "patient", "occurrence"],
                                    condition=Q(schedule__isnull=False), name="uniq_schedule_occurrence"),
        ]
        indexes = [models.Index(fields=["patient", "status", "available_at"], name="assignment_patient_status"),
                   models.Index(fields=["status", "due_at"], name="assignment_due")]

    def __str__(self):
        return f"{self.questionnaire.name} for {self.patient_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class Response(models.Model):
    class Via(models.TextChoices):
        PORTAL = "portal", "Portal"
        API = "api", "App / API"
        STAFF = "staff", "Entered by staff (interview)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="questionnaire_responses")
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="response")
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="responses")
    submitted_at = models.DateTimeField()
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    via = models.CharField(max_length=8, choices=Via.choices)
    on_behalf = models.BooleanField(default=False, help_text="Staff entered the answers for the patient.")
    total = models.FloatField(null=True, blank=True, help_text="Empty when the response is incomplete.")
    complete = models.BooleanField(default=True)
    prorated = models.BooleanField(default=False)
    severity = models.CharField(max_length=24, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    safety_flag = models.BooleanField(default=False)
    observation_id = models.UUIDField(null=True, blank=True, help_text="The clinical.Observation of the total.")

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["patient", "questionnaire", "submitted_at"], name="response_patient_q")]


class Answer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    value = models.TextField(blank=True, help_text="The code (choices; several joined by |) or the typed value.")
    display = models.TextField(blank=True, help_text="What the patient saw.")
    score = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["question__order"]
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="uniq_answer_per_question")]


class SafetyEvent(models.Model):
    """A safety answer and what was done about it (issue 14, the safety pathway)."""

    class Outcome(models.TextChoices):
        CONTACTED = "contacted", "Patient contacted"
        SAFETY_PLAN = "safety_plan", "Safety plan made or reviewed"
        REFERRED = "referred", "Referred (crisis team, emergency, specialist)"
        NO_RISK = "no_risk", "No current risk on assessment"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="safety_events")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="safety_events")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    answer_display = models.CharField(max_length=300)
    score = models.FloatField(null=True, blank=True)
    alert_id = models.UUIDField(null=True, blank=True, help_text="The clinical.Alert raised for it.")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    due_at = models.DateTimeField(help_text="When someone must have acted (program setting).")
    created_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    outcome_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
from assessments.wellness.models import *  # noqa: F401,F403,E402 - mental-wellness check-ins (issue 15)
