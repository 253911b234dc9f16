"""Clinical data. Observation is the one narrow table for every reading
(DESIGN.md): Measurement, VitalReading, HRVReading, BMIReading (003),
VitalsSamples (004) and health_realtime (001) all become rows here.

The clinical-monitoring issue adds classification, vitals entry, labs, rules and
alerts on top of it; wearables write into it through `wearables.ingest`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from clinical.metrics import HRV_METHODS, METRIC_CHOICES


class Source(models.TextChoices):
    """Where a value came from: a wearable provider, a phone, or a person."""

    WHOOP = "whoop", "WHOOP"
    OURA = "oura", "Oura"
    WITHINGS = "withings", "Withings"
    GARMIN = "garmin", "Garmin"
    GOOGLE_HEALTH = "google_health", "Google Health (Fitbit)"
    POLAR = "polar", "Polar"
    STRAVA = "strava", "Strava"
    APPLE_HEALTH = "apple_health", "Apple Health"
    SAMSUNG_HEALTH = "samsung_health", "Samsung Health"
    HEALTH_CONNECT = "health_connect", "Health Connect"
    PATIENT = "patient", "Entered by patient"
    STAFF = "staff", "Entered by staff"


class Interpretation(models.TextChoices):
    INVALID = "invalid", "Invalid"
    NORMAL = "normal", "Normal"
    ABNORMAL = "abnormal", "Abnormal"
    CRITICAL = "critical", "Critical"


class Observation(models.Model):
    """One reading. BP is one row: `value` systolic, `value2` diastolic.

    Idempotency key: (patient, source, metric, effective_at) - a provider that
    sends the same sample again updates it instead of adding a row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="observations")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    metric = models.CharField(max_length=32, choices=METRIC_CHOICES)
    value = models.FloatField()
    value2 = models.FloatField(null=True, blank=True, help_text="Second component (diastolic for BP).")
    unit = models.CharField(max_length=16)
    effective_at = models.DateTimeField(help_text="When it was measured (start, for sessions).")
    end_at = models.DateTimeField(null=True, blank=True, help_text="End of a session (sleep, workout).")
    source = models.CharField(max_length=20, choices=Source.choices)
    device = models.CharField(max_length=200, blank=True)
    # HRV: rmssd | sdnn. Stored with every value so trends never mix methods.
    method = models.CharField(max_length=16, blank=True, choices=[("", "")] + list(HRV_METHODS))
    # Where or how: sleep/rest/workout (HRV), home/office/cuffless (BP), fasting/post_meal/random (glucose).
    context = models.CharField(max_length=20, blank=True)
    external_id = models.CharField(max_length=100, blank=True, help_text="The provider's own record id.")
    details = models.JSONField(null=True, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    # clinical.interpret decides both at write time. Invalid values are kept, flagged,
    # and left out of trends and rules.
    interpretation = models.CharField(max_length=10, choices=Interpretation.choices, blank=True)
    # The published table's slug: BP ACC/AHA category, BMI WHO class, glucose ADA class.
    category = models.CharField(max_length=24, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "source", "metric", "effective_at"],
                                    name="uniq_observation_per_source_time"),
        ]
        indexes = [models.Index(fields=["patient", "metric", "effective_at"], name="obs_patient_metric_time"),
                   # Newest readings of a patient across metrics (the vitals table, portal lists).
                   models.Index(fields=["patient", "-effective_at"], name="obs_patient_recent")]

    def __str__(self):
        if self.value2 is not None:
            return f"{self.get_metric_display()} {self.value:g}/{self.value2:g} {self.unit}"
        return f"{self.get_metric_display()} {self.value:g} {self.unit}"


# --- Labs (ma_blood_tests 000, LabOrder 003) ------------------------------------


class LabOrder(models.Model):
    class Status(models.TextChoices):
        ORDERED = "ordered", "Ordered"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="lab_orders")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    tests = models.JSONField(default=list, help_text="Test names or codes, e.g. [\"A1C\", \"Lipid panel\"].")
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ORDERED)
    ordered_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_reason = models.TextField(blank=True)
    # The visit the order was placed in (scheduling.Visit's id). Not a foreign key: clinical and
    # scheduling are siblings (.importlinter) and neither depends on the other; the care app, above
    # both, resolves it.
    visit_ref = models.UUIDField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-ordered_at"]
        indexes = [models.Index(fields=["patient", "status"], name="laborder_patient_status")]


class BloodTest(models.Model):
    """One lab result with its reference range; in range shows green, out of range red."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="blood_tests")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    lab_order = models.ForeignKey(LabOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="results")
    test_name = models.CharField(max_length=120)
    loinc = models.CharField(max_length=16, blank=True)
    value = models.FloatField()
    unit = models.CharField(max_length=24, blank=True)
    reference_low = models.FloatField(null=True, blank=True)
    reference_high = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField()
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    # A clinician releases a result to the patient (the portal shows released results only).
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["test_name", "-recorded_at"]
        indexes = [models.Index(fields=["patient", "test_name", "recorded_at"], name="bloodtest_patient_test")]

    @property
    def in_range(self) -> bool | None:
        if self.reference_low is None and self.reference_high is None:
            return None
        low_ok = self.reference_low is None or self.value >= self.reference_low
        high_ok = self.reference_high is None or self.value <= self.reference_high
        return low_ok and high_ok

    @property
    def color(self) -> str:
        return {True: "green", False: "red", None: ""}[self.in_range]

    @property
    def range_status(self) -> tuple[str, str, str]:
        """(css suffix, mark, words) of the result against its reference range, for the labs tab."""
        if self.in_range is None:
            return "none", "", "No reference range"
        if self.in_range:
            return "green", "✓", "In range"
        side = " (high)" if self.reference_high is not None and self.value > self.reference_high else \
            " (low)" if self.reference_low is not None and self.value < self.reference_low else ""
        return "red", "!", f"Out of range{side}"


# --- Rules and alerts (ClinicalRule, RuleExecution, Alert 003; Alerts 004) ---------


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class ClinicalRule(models.Model):
    """A rule at project level (program empty) or for one program. A program-level
    rule with the same `code` replaces the project's; program settings can override
    the threshold through `threshold_setting`."""

    class Condition(models.TextChoices):
        GT = ">", "greater than"
        LT = "<", "less than"
        GTE = ">=", "at least"
        LTE = "<=", "at most"
        TREND_UP = "trend_up", "trending up"
        TREND_DOWN = "trend_down", "trending down"
        RISE = "rise", "rises by more than (within the window)"
        MISSING = "missing", "no data in the window"

    class Action(models.TextChoices):
        ALERT = "alert", "Raise an alert"
        SUGGEST_VISIT = "suggest_visit", "Suggest a visit"
        ASSIGN_TASK = "assign_task", "Assign a task"
        NOTIFY = "notify", "Notify the care team"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="clinical_rules")
    program = models.ForeignKey("patients.Program", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="clinical_rules")
    code = models.SlugField(max_length=60, help_text="Stable identity, e.g. hypertensive_crisis.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # An Observation metric (or bp_systolic / bp_diastolic, or a DailyMetric field for daily rules).
    metric = models.CharField(max_length=32)
    window_days = models.PositiveSmallIntegerField(default=7)
    condition = models.CharField(max_length=12, choices=Condition.choices)
    threshold = models.FloatField(null=True, blank=True)
    threshold_setting = models.CharField(max_length=80, blank=True,
                                         help_text="Program/project setting key that overrides the threshold.")
    # Extra conditions, e.g. {"context": "home"}, {"baseline_days": 28}, {"min_points": 4}.
    params = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.ALERT)
    priority = models.IntegerField(default=0, help_text="Higher runs first.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-priority", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "program", "code"], name="uniq_rule_code_per_scope"),
            models.UniqueConstraint(fields=["project", "code"], condition=Q(program__isnull=True),
                                    name="uniq_project_rule_code"),
        ]

    def __str__(self):
        return self.name


class Alert(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    OPEN = (Status.ACTIVE, Status.ACKNOWLEDGED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="alerts")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    rule = models.ForeignKey(ClinicalRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts")
    code = models.CharField(max_length=60, help_text="What kind of alert (the rule's code).")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # The readings behind it: [{"id", "metric", "value", "value2", "unit", "at"}, ...] and the rule's numbers.
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.ACTIVE)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="assigned_alerts")
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snooze_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    trigger_count = models.PositiveIntegerField(default=1)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_note = models.TextField(blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+", help_text="Who resolved or dismissed it.")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_note = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Worsening after an acknowledgement or a snooze (clinical/alerting.py). seen_evidence is
    # the evidence as it stood when someone last acknowledged or snoozed the alert: "new"
    # and "worse" are judged against it. worsened_at restarts the escalation clock.
    seen_evidence = models.JSONField(default=dict, blank=True)
    worsened_at = models.DateTimeField(null=True, blank=True,
                                       help_text="Last time new data re-opened it after an acknowledgement or snooze.")
    worsened_count = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # No alert storms: one open alert per rule and patient, updated rather than duplicated.
            models.UniqueConstraint(fields=["rule", "patient"], condition=Q(status__in=["active", "acknowledged"]),
                                    name="uniq_open_alert_per_rule_patient"),
        ]
        indexes = [models.Index(fields=["project", "status", "severity", "created_at"], name="alert_queue"),
                   models.Index(fields=["patient", "status"], name="alert_patient_status")]

    def __str__(self):
        return self.title


class RuleExecution(models.Model):
    """One evaluation of a rule for a patient that fired (with the data it saw)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(ClinicalRule, on_delete=models.CASCADE, related_name="executions")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="rule_executions")
    triggered = models.BooleanField(default=False)
    result = models.JSONField(default=dict)
    alert = models.ForeignKey(Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="executions")
    executed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-executed_at"]
        indexes = [models.Index(fields=["patient", "executed_at"], name="ruleexec_patient_time"),
                   models.Index(fields=["rule", "executed_at"], name="ruleexec_rule_time")]


# --- Recommendations (ma_recommendations 000) --------------------------------------


class Recommendation(models.Model):
    class Domain(models.TextChoices):
        PHYSICAL_ACTIVITY = "physical_activity", "Physical activity"
        NUTRITION = "nutrition", "Nutrition"
        SLEEP = "sleep", "Sleep"
        STRESS = "stress", "Stress"
        MEDICATION = "medication", "Medication"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="recommendations")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    domain = models.CharField(max_length=20, choices=Domain.choices)
    content = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    is_active = models.BooleanField(default=True, help_text="Shown to the patient.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]


# --- RPM billing (CLINICAL.md: 99453, 99454, 99445, 99457, 99458, 99470) -----------


class RpmEpisode(models.Model):
    """A patient's remote-monitoring episode: its start anchors the 30-day device
    periods; setup (99453) is billed once per episode."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="rpm_episodes")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    setup_completed_on = models.DateField(null=True, blank=True, help_text="Device setup and education (99453).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_on"]


class TimeEntry(models.Model):
    """Treatment-management minutes logged by staff (timer or manual entry)."""

    class Source(models.TextChoices):
        TIMER = "timer", "Timer"
        MANUAL = "manual", "Manual entry"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="rpm_time_entries")
    program = models.ForeignKey("patients.Program", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Empty while a timer runs.")
    seconds = models.PositiveIntegerField(default=0)
    interactive = models.BooleanField(default=False, help_text="Included real-time interactive communication.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One running timer per staff member and patient.
            models.UniqueConstraint(fields=["staff", "patient"], condition=Q(ended_at__isnull=True),
                                    name="uniq_running_timer"),
        ]
        indexes = [models.Index(fields=["patient", "started_at"], name="timeentry_patient_time")]


class RpmConsent(models.Model):
    """The patient's documented consent to remote monitoring and its billing (CMS requires it
    before RPM is billed): who gave it, who obtained it, when and how. Withdrawing keeps the
    row (withdrawn_on/by): the record says what held on any day. Only clinical/rpm.py writes."""

    class Method(models.TextChoices):
        VERBAL = "verbal", "Verbal (documented by staff)"
        WRITTEN = "written", "Written (signed form)"
        ELECTRONIC = "electronic", "Electronic (portal or e-signature)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("mahalo.Project", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="rpm_consents")
    obtained_on = models.DateField(help_text="The day the patient consented.")
    method = models.CharField(max_length=12, choices=Method.choices)
    given_by = models.CharField(max_length=200, default="Patient",
                                help_text="Who consented: the patient, or their representative (name, relation).")
    obtained_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    help_text="Staff who obtained and documented it.")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_on = models.DateField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    withdrawn_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-obtained_on", "-created_at"]
        indexes = [models.Index(fields=["patient", "obtained_on"], name="rpmconsent_patient_day")]
