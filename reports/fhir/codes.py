"""Code systems, LOINC codes (CLINICAL.md "LOINC codes for FHIR and exports") and UCUM units for the
FHIR mapping. The metric catalogue (`clinical.metrics`) owns the metric -> LOINC table; this module
adds what FHIR needs on top: categories, UCUM spellings, US Core profiles and the daily summaries'
codes."""

from __future__ import annotations

from clinical.metrics import HRV_LOCAL_RMSSD, METRICS, loinc_for

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
# Local codes (no LOINC code exists, e.g. HRV RMSSD: CLINICAL.md says use a local code, never SDNN's).
LOCAL = "https://mahalo.health/fhir/CodeSystem/metric"
CATEGORY_SYSTEM = "https://mahalo.health/fhir/CodeSystem/clinical-category"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
MRN_SYSTEM = "https://mahalo.health/fhir/NamingSystem/mrn"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
MEASUREMENT_SETTING = "https://mahalo.health/fhir/StructureDefinition/measurement-setting"

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
VITALS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"

# Canonical unit (clinical.metrics) -> UCUM code; the display keeps the human spelling.
UCUM_UNITS = {
    "bpm": "/min",
    "mmHg": "mm[Hg]",
    "kg": "kg",
    "cm": "cm",
    "kg/m2": "kg/m2",
    "%": "%",
    "/min": "/min",
    "Cel": "Cel",
    "mg/dL": "mg/dL",
    "count": "{steps}",
    "kcal": "kcal",
    "mL/kg/min": "mL/kg/min",
    "h": "h",
    "min": "min",
    "ms": "ms",
    "points": "{score}",
}

VITAL_SIGNS = {
    "heart_rate",
    "resting_heart_rate",
    "blood_pressure",
    "weight",
    "height",
    "bmi",
    "spo2",
    "respiratory_rate",
    "body_temperature",
}
ACTIVITY = {"steps", "active_energy", "vo2max", "sleep_session", "workout", "hrv", "skin_temperature"}
SURVEY = {"phq9_total", "phq2_total", "gad7_total", "safety_answer"}
LABORATORY = {"glucose"}

# US Core 6 vital-signs profiles, where one applies (resting HR and HRV have none).
PROFILES = {
    "heart_rate": "us-core-heart-rate",
    "blood_pressure": "us-core-blood-pressure",
    "weight": "us-core-body-weight",
    "height": "us-core-body-height",
    "bmi": "us-core-bmi",
    "spo2": "us-core-pulse-oximetry",
    "respiratory_rate": "us-core-respiratory-rate",
    "body_temperature": "us-core-body-temperature",
}
SURVEY_PROFILE = US_CORE + "us-core-observation-screening-assessment"
LAB_PROFILE = US_CORE + "us-core-observation-lab"

BP_SYSTOLIC, BP_DIASTOLIC = "8480-6", "8462-4"
SPO2_EXTRA = "2708-6"  # US Core pulse oximetry carries both codes (CLINICAL.md: 59408-5 with 2708-6)
STEPS_24H = "41950-7"

# wearables.DailyMetric field -> (id suffix, LOINC or local code, display, canonical unit).
DAILY_CODES = {
    "resting_hr": ("rhr", "40443-4", "Resting heart rate", "bpm"),
    "steps": ("steps", STEPS_24H, "Number of steps in 24 hour Measured", "count"),
    "sleep_hours": ("sleep", "93832-4", "Sleep duration", "h"),
    "sleep_deep_hours": ("sleep-deep", "93831-6", "Deep sleep duration", "h"),
    "sleep_light_hours": ("sleep-light", "93830-8", "Light sleep duration", "h"),
    "sleep_rem_hours": ("sleep-rem", "93829-0", "REM sleep duration", "h"),
    "spo2": ("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    "respiratory_rate": ("rr", "9279-1", "Respiratory rate", "/min"),
    "active_energy_kcal": ("energy", "41981-2", "Calories burned", "kcal"),
    "recovery_score": ("recovery", "recovery-score", "Recovery or readiness score (device, 0-100)", "points"),
    # hrv_ms: by its method (hrv_for)
}
DAILY_IDS = {v[0]: k for k, v in DAILY_CODES.items()} | {"hrv": "hrv_ms"}


def category_of(metric: str) -> str:
    if metric in VITAL_SIGNS:
        return "vital-signs"
    if metric in SURVEY:
        return "survey"
    if metric in LABORATORY:
        return "laboratory"
    return "activity"


def code_of(metric: str, method: str = "") -> dict:
    """The Observation.code for a metric: LOINC where one exists, the local system otherwise.
    HRV: SDNN is LOINC 80404-7; RMSSD has no LOINC code and gets the local one, never SDNN's."""
    code = loinc_for(metric, method)
    label = METRICS[metric].label
    if metric == "hrv":
        label = "Heart rate variability (SDNN)" if method == "sdnn" else "Heart rate variability (RMSSD)"
    if code.startswith("mahalo-"):
        coding = [{"system": LOCAL, "code": code.removeprefix("mahalo-"), "display": label}]
    else:
        coding = [{"system": LOINC, "code": code, "display": label}]
        if metric == "spo2":
            coding.append({"system": LOINC, "code": SPO2_EXTRA, "display": "Oxygen saturation in Arterial blood"})
    return {"coding": coding, "text": label}


def hrv_method(method: str) -> dict:
    names = {
        "rmssd": "RMSSD (root mean square of successive differences)",
        "sdnn": "SDNN (standard deviation of NN intervals)",
    }
    return {
        "coding": [{"system": LOCAL, "code": f"hrv-{method}", "display": names.get(method, method)}],
        "text": method.upper(),
    }


def quantity(value: float, unit: str) -> dict:
    return {"value": _num(value), "unit": unit, "system": UCUM, "code": UCUM_UNITS.get(unit, unit)}


def _num(value: float):
    """JSON numbers without float noise (70.0 -> 70, 36.80000001 -> 36.8)."""
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value


def metrics_for_code(code: str) -> set[str]:
    """The metrics a search `code` (LOINC or local) names."""
    out = {m for m in METRICS if loinc_for(m) == code or METRICS[m].loinc == code}
    if code in (HRV_LOCAL_RMSSD, HRV_LOCAL_RMSSD.removeprefix("mahalo-"), "80404-7"):
        out.add("hrv")
    if code in (BP_SYSTOLIC, BP_DIASTOLIC):
        out.add("blood_pressure")
    if code == SPO2_EXTRA:
        out.add("spo2")
    if code.removeprefix("mahalo-") in {m.loinc.removeprefix("mahalo-") for m in METRICS.values()}:
        out |= {m for m in METRICS if METRICS[m].loinc.removeprefix("mahalo-") == code.removeprefix("mahalo-")}
    return out


def daily_fields_for_code(code: str) -> set[str]:
    out = {field for field, spec in DAILY_CODES.items() if spec[1] == code}
    if code in ("80404-7", "hrv-rmssd", HRV_LOCAL_RMSSD):
        out.add("hrv_ms")
    if code == SPO2_EXTRA:
        out.add("spo2")
    return out
