"""The default rule set every program starts with (issue 5), as program-level rules.

`ensure_default_rules(program)` is idempotent by code: a rule that exists is
left exactly as an admin left it (threshold, enabled, params...); only missing
codes are created. It runs when a program is created (post_save, clinical/apps.py),
from seed_demo, and from `manage.py ensure_default_rules` (no data migrations).

Choices written down:
- Hypertensive crisis (> 180 systolic and/or > 120 diastolic, CLINICAL.md) is ONE
  rule on `blood_pressure`: threshold 180 for the systolic, params.value2_threshold
  120 for the diastolic; a reading crossing either fires. One reading, one alert.
  It applies to home and office readings alike (same crisis line), never to
  cuffless ones.
- Stage 2 trend is two rules, because the thresholds depend on where the reading
  was taken (2025 guideline): home mean >= 135/85 and office mean >= 140/90 over
  7 days, each needing at least 3 readings of its kind.
- HRV drop: threshold from the setting `rules.hrv_drop_pct` (default 15 %); resting
  HR rise: `rules.rhr_rise_pct` (default 10 %); both against the 28 days before
  the 7-day window, with the slope test of clinical/rules.py.
- Weight gain > 2 kg in 3 days is a cardiac-rehab rule (fluid retention in heart
  failure). It is created for every program but enabled only for cardiac ones:
  the program setting `rules.cardiac_rehab` (true/false) decides when present,
  else the program's name containing "cardiac". Admins can enable it anywhere.
- Hypoglycemia level 1 fires on values < 70 and >= 54 (params.at_least), level 2
  on < 54 (ADA 2025), so one low reading raises one alert of the right level.
- No data for 3 days: any wearable (device) data; silent for patients who never
  sent any (see clinical/rules.py).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from clinical.models import ClinicalRule, Severity
from mahalo import config

C, A = ClinicalRule.Condition, ClinicalRule.Action
CARDIAC_SETTING = "rules.cardiac_rehab"

DEFAULT_RULES: list[dict] = [
    dict(code="hypertensive_crisis", name="Hypertensive crisis (BP > 180/120)", metric="blood_pressure",
         condition=C.GT, threshold=180, params={"value2_threshold": 120}, window_days=2,
         severity=Severity.CRITICAL, action=A.ALERT, priority=100,
         description="Any home or office reading with systolic > 180 or diastolic > 120 mmHg (ACC/AHA). "
                     "Cuffless readings are not used."),
    dict(code="hypoglycemia_level_2", name="Hypoglycemia level 2 (glucose < 54 mg/dL)", metric="glucose",
         condition=C.LT, threshold=54, window_days=2, severity=Severity.CRITICAL, action=A.ALERT, priority=95,
         description="ADA 2025: level 2 hypoglycemia, < 54 mg/dL."),
    dict(code="spo2_low", name="Low oxygen saturation (SpO2 < 90%)", metric="spo2", condition=C.LT, threshold=90,
         window_days=2, severity=Severity.CRITICAL, action=A.ALERT, priority=90,
         description="Any SpO2 reading below 90 %."),
    dict(code="hypoglycemia_level_1", name="Hypoglycemia level 1 (glucose 54–69 mg/dL)", metric="glucose",
         condition=C.LT, threshold=70, params={"at_least": 54}, window_days=2, severity=Severity.WARNING,
         action=A.ALERT, priority=60, description="ADA 2025: level 1 hypoglycemia, < 70 and >= 54 mg/dL."),
    dict(code="bp_stage2_home", name="Stage 2 hypertension trend (home average ≥ 135/85)", metric="blood_pressure",
         condition=C.GTE, threshold=135, window_days=7, severity=Severity.WARNING, action=A.SUGGEST_VISIT,
         params={"context": "home", "value2_threshold": 85, "aggregate": "mean", "min_points": 3}, priority=50,
         description="Mean of the home readings of the last 7 days at or above 135 systolic or 85 diastolic "
                     "(2025 guideline, home thresholds); at least 3 readings."),
    dict(code="bp_stage2_office", name="Stage 2 hypertension trend (office average ≥ 140/90)",
         metric="blood_pressure", condition=C.GTE, threshold=140, window_days=7, severity=Severity.WARNING,
         action=A.SUGGEST_VISIT, priority=50,
         params={"context": "office", "value2_threshold": 90, "aggregate": "mean", "min_points": 3},
         description="Mean of the office readings of the last 7 days at or above 140/90; at least 3 readings."),
    dict(code="weight_gain_3d", name="Weight gain > 2 kg in 3 days", metric="weight", condition=C.RISE,
         threshold=2, window_days=3, severity=Severity.WARNING, action=A.ALERT, priority=50,
         description="Cardiac rehab: a rise of more than 2 kg within 3 days (possible fluid retention)."),
    dict(code="resting_hr_trend_up", name="Resting heart rate trending up", metric="resting_heart_rate",
         condition=C.TREND_UP, threshold=10, threshold_setting="rules.rhr_rise_pct", window_days=7,
         params={"baseline_days": 28, "min_points": 4, "min_slope": 0.5}, severity=Severity.WARNING,
         action=A.ALERT, priority=40,
         description="Daily resting HR rising (slope > 0.5 bpm/day over >= 4 days) and the 7-day mean at least "
                     "10 % above the previous 28 days' mean."),
    dict(code="hrv_trend_down", name="HRV trending down vs baseline", metric="hrv", condition=C.TREND_DOWN,
         threshold=15, threshold_setting="rules.hrv_drop_pct", window_days=7,
         params={"baseline_days": 28, "min_points": 4, "min_slope": 0}, severity=Severity.WARNING,
         action=A.ALERT, priority=40,
         description="Daily HRV (one method) falling over >= 4 days and the 7-day mean at least 15 % (setting "
                     "rules.hrv_drop_pct) below the previous 28 days' mean."),
    dict(code="no_data_3d", name="No device data for 3 days", metric="device", condition=C.MISSING, window_days=3,
         severity=Severity.WARNING, action=A.ALERT, priority=10,
         description="No wearable or connected-device data at all in the last 3 days."),
]


def is_cardiac(program) -> bool:
    value = config.get_setting(CARDIAC_SETTING, kind=bool, program=program, project=program.project)
    return value if value is not None else "cardiac" in program.name.lower()


def ensure_default_rules(program) -> int:
    """Create the program's missing default rules. Returns how many were created."""
    created = 0
    have = set(ClinicalRule.objects.filter(program=program).values_list("code", flat=True))
    for spec in DEFAULT_RULES:
        if spec["code"] in have:
            continue
        fields = {**spec, "params": dict(spec.get("params", {}))}
        if spec["code"] == "weight_gain_3d":
            fields["enabled"] = is_cardiac(program)
        try:
            with transaction.atomic():
                ClinicalRule.objects.create(project_id=program.project_id, program=program, **fields)
        except IntegrityError:
            continue  # created meanwhile by a concurrent run: idempotent
        created += 1
    return created


def ensure_project_rule(project_id, code: str, **fields) -> ClinicalRule:
    """A tenant-wide rule by its code, created on first use with `fields` (two first uses at
    once race on the unique code: the loser reads the winner's row). For rules other apps
    evaluate themselves (a questionnaire's safety answer, a wellness worsening)."""
    rule = ClinicalRule.objects.filter(project_id=project_id, program__isnull=True, code=code).first()
    if rule is None:
        try:
            with transaction.atomic():
                rule = ClinicalRule.objects.create(project_id=project_id, code=code, **fields)
        except IntegrityError:
            rule = ClinicalRule.objects.get(project_id=project_id, program__isnull=True, code=code)
    return rule
