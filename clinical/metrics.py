"""The metric catalogue: one code per measured thing, its canonical unit and its
LOINC code (CLINICAL.md; a local code where LOINC has none, e.g. RMSSD).

Observation.metric holds these slugs. Every writer converts to the canonical unit
before storing, so a trend never mixes units.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    unit: str
    loinc: str
    # A value an app computes from other data (a day's sodium total, days over target, doses missed),
    # not a measurement: alert summaries name it by its label instead of calling it "a reading".
    derived: bool = False


_LOCAL = "mahalo-"  # prefix of local codes where LOINC has none

METRICS: dict[str, Metric] = {m.code: m for m in [
    Metric("heart_rate", "Heart rate", "bpm", "8867-4"),
    Metric("resting_heart_rate", "Resting heart rate", "bpm", "40443-4"),
    # HRV: one metric, the method (rmssd | sdnn) on every row; never trended across methods.
    Metric("hrv", "Heart rate variability", "ms", "80404-7"),
    Metric("blood_pressure", "Blood pressure", "mmHg", "85354-9"),
    Metric("weight", "Body weight", "kg", "29463-7"),
    Metric("height", "Body height", "cm", "8302-2"),
    Metric("bmi", "Body mass index", "kg/m2", "39156-5"),
    Metric("spo2", "Oxygen saturation", "%", "59408-5"),
    Metric("respiratory_rate", "Respiratory rate", "/min", "9279-1"),
    Metric("body_temperature", "Body temperature", "Cel", "8310-5"),
    Metric("skin_temperature", "Skin temperature", "Cel", "39106-0"),
    Metric("glucose", "Blood glucose", "mg/dL", "41653-7"),
    Metric("steps", "Steps", "count", "55423-8"),
    Metric("active_energy", "Active energy burned", "kcal", "41981-2"),
    Metric("vo2max", "VO2 max", "mL/kg/min", "60842-2"),
    # Sessions: value is the duration; stages or sport details go in Observation.details.
    Metric("sleep_session", "Sleep", "h", "93832-4"),
    Metric("workout", "Workout", "min", _LOCAL + "workout"),
    # Questionnaire totals (assessments writes them so trends, rules and FHIR see them; CLINICAL.md).
    Metric("phq9_total", "PHQ-9 total score", "points", "44261-6"),
    Metric("phq2_total", "PHQ-2 total score", "points", "55758-7"),
    Metric("gad7_total", "GAD-7 total score", "points", "70274-6"),
    # A questionnaire safety item answered at or above its threshold (PHQ-9 item 9 > 0): the
    # questionnaire_safety rule raises the critical alert from it. Value = the item's score.
    Metric("safety_answer", "Questionnaire safety answer", "points", _LOCAL + "safety-answer"),
]}

# What a device or companion app may report. Scores, safety answers and nutrition day totals are
# written by this product's own services from what a person answered or logged, never by a device.
DEVICE_METRICS = frozenset({
    "heart_rate", "resting_heart_rate", "hrv", "blood_pressure", "weight", "height", "bmi", "spo2",
    "respiratory_rate", "body_temperature", "skin_temperature", "glucose", "steps", "active_energy", "vo2max",
    "sleep_session", "workout",
})

HRV_METHODS = (("rmssd", "RMSSD"), ("sdnn", "SDNN"))
HRV_LOCAL_RMSSD = _LOCAL + "hrv-rmssd"


def loinc_for(metric: str, method: str = "") -> str:
    """The code an export should carry. RMSSD has no LOINC code (CLINICAL.md)."""
    if metric == "hrv":
        return "80404-7" if method == "sdnn" else HRV_LOCAL_RMSSD
    return METRICS[metric].loinc


METRIC_CHOICES = [(m.code, m.label) for m in METRICS.values()]

