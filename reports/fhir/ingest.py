"""`POST /fhir/R4/Observation`: a device or an app sends one FHIR Observation; it is checked as FHIR
(fhir.resources' R4B model), read into our terms, and recorded through
`clinical.observations.observation_record`, the one writer of a reading a person's device or app sends
for them: unit conversion (clinical.units), classification (clinical.interpret: interpretation and the
published category), `Patient.last_data_at`, the rules on commit and the critical-value safety path
all apply, exactly as for the portal, the chart and /api/v1/.

A patient's login records for themselves (source "patient"); staff with clinical:write record for a
patient in their scope (source "staff"). What can be posted: the metrics people measure at home
(`ENTRY_METRICS`: BP, heart rate, resting HR, SpO2, respiratory rate, temperature, weight, glucose),
by LOINC code. Everything that is wrong answers 400 with an OperationOutcome whose expression names
the element; nothing is stored then.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from fhir.resources.R4B.observation import Observation as FhirObservation
from pydantic import ValidationError as PydanticError
from rest_framework.exceptions import PermissionDenied

from clinical import observations
from clinical.metrics import METRICS
from clinical.models import Source
from mahalo import access
from reports.fhir import codes
from reports.fhir.http import FhirInvalid
from reports.fhir.query import patient_id_of

POSTABLE = {METRICS[m].loinc: m for m in observations.ENTRY_METRICS}
# UCUM codes a device sends -> the spellings clinical.units accepts.
UCUM_IN = {
    "mm[Hg]": "mmHg",
    "/min": "/min",
    "{beats}/min": "bpm",
    "[lb_av]": "lb",
    "[degF]": "°F",
    "Cel": "Cel",
    "kg": "kg",
    "g": "g",
    "%": "%",
    "mg/dL": "mg/dL",
    "mmol/L": "mmol/L",
    "kPa": "kPa",
}
STATUSES = ("final", "amended", "corrected", "preliminary")
FIELD_ELEMENTS = {
    "value": "Observation.valueQuantity.value",
    "unit": "Observation.valueQuantity.unit",
    "effective_at": "Observation.effectiveDateTime",
    "metric": "Observation.code",
    "value2": "Observation.component[1].valueQuantity.value",
    "context": f"Observation.extension('{codes.MEASUREMENT_SETTING}')",
    "source": "Observation",
    "note": "Observation.note",
}


def structure(data) -> None:
    """FHIR R4(B) structure and datatypes, through fhir.resources: unknown elements, wrong types,
    missing required elements. Raises FhirInvalid naming each element."""
    if not isinstance(data, dict) or data.get("resourceType") != "Observation":
        raise FhirInvalid([("Observation.resourceType", "Send one Observation resource.")])
    try:
        FhirObservation.model_validate({k: v for k, v in data.items() if k != "resourceType"})
    except PydanticError as exc:
        issues = []
        for err in exc.errors()[:20]:
            path = "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}"
                for p in err.get("loc", ())
                if not (isinstance(p, str) and p.startswith("function-"))
            )
            issues.append((f"Observation{path}", err.get("msg", "invalid")))
        raise FhirInvalid(issues or [("Observation", str(exc))]) from None


def _quantity(q, element: str) -> tuple[float, str]:
    if not isinstance(q, dict) or q.get("value") is None:
        raise FhirInvalid([(element, "A valueQuantity with a value is required.")])
    value = q["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FhirInvalid([(f"{element}.value", "Enter a number.")])
    unit = q.get("code") if q.get("system") == codes.UCUM and q.get("code") else q.get("unit") or q.get("code")
    if not unit:
        raise FhirInvalid([(f"{element}.unit", "The unit is required (UCUM code, e.g. mm[Hg], kg, Cel).")])
    return float(value), UCUM_IN.get(unit, unit)


def _metric(data: dict) -> str:
    for coding in (data.get("code") or {}).get("coding") or []:
        if coding.get("system") == codes.LOINC and coding.get("code") in POSTABLE:
            return POSTABLE[coding["code"]]
    raise FhirInvalid(
        [
            (
                "Observation.code",
                "Use a LOINC code this API records: "
                + ", ".join(f"{code} ({METRICS[m].label.lower()})" for code, m in POSTABLE.items())
                + ".",
            )
        ]
    )


def _moment(data: dict) -> datetime:
    raw = data.get("effectiveDateTime")
    if not raw:
        raise FhirInvalid([("Observation.effectiveDateTime", "When it was measured is required.")])
    moment = parse_datetime(raw) if isinstance(raw, str) else None
    if moment is None or moment.tzinfo is None:
        raise FhirInvalid(
            [("Observation.effectiveDateTime", "Use an instant with a UTC offset, e.g. 2026-03-04T07:30:00-10:00.")]
        )
    return moment


def parse(data: dict, *, staff: bool) -> dict:
    """The reading in our terms: metric, value(s), unit, time, context, note."""
    structure(data)
    if data.get("status") not in STATUSES:
        raise FhirInvalid([("Observation.status", "status must be final, amended, corrected or preliminary.")])
    metric = _metric(data)
    value2 = None
    if metric == "blood_pressure":
        parts = {}
        for n, comp in enumerate(data.get("component") or []):
            for coding in (comp.get("code") or {}).get("coding") or []:
                if coding.get("code") in (codes.BP_SYSTOLIC, codes.BP_DIASTOLIC):
                    parts[coding["code"]] = _quantity(
                        comp.get("valueQuantity"), f"Observation.component[{n}].valueQuantity"
                    )
        missing = [c for c in (codes.BP_SYSTOLIC, codes.BP_DIASTOLIC) if c not in parts]
        if missing:
            raise FhirInvalid(
                [
                    (
                        "Observation.component",
                        "Blood pressure needs a systolic (8480-6) and a diastolic (8462-4) component.",
                    )
                ]
            )
        (value, unit), (value2, unit2) = parts[codes.BP_SYSTOLIC], parts[codes.BP_DIASTOLIC]
        if unit2 != unit:
            raise FhirInvalid([("Observation.component", "Both components need the same unit.")])
    else:
        value, unit = _quantity(data.get("valueQuantity"), "Observation.valueQuantity")
    context = ""
    for ext in data.get("extension") or []:
        if ext.get("url") == codes.MEASUREMENT_SETTING:
            context = str(ext.get("valueCode") or "")
    if metric == "blood_pressure" and not context:
        context = "office" if staff else "home"
    notes = [n.get("text", "") for n in data.get("note") or [] if n.get("text")]
    device = (data.get("device") or {}).get("display")
    if device:
        notes.append(f"Sent by {device}")
    return {
        "metric": metric,
        "value": value,
        "value2": value2,
        "unit": unit,
        "effective_at": _moment(data),
        "context": context,
        "note": " · ".join(notes)[:500],
    }


def record(request, data) -> object:
    """Validate, gate and record; returns the stored clinical.Observation."""
    own = access.patient_of(request.user)
    staff = own is None
    reading = parse(data, staff=staff)
    subject = (data.get("subject") or {}).get("reference", "")
    if own is not None:
        if subject and patient_id_of(subject, "Observation.subject") != str(own.pk):
            raise FhirInvalid([("Observation.subject", "A patient records readings for themselves only.")])
        patient, source = own, Source.PATIENT
        if not access.can(request.user, "clinical", "write", patient):
            raise PermissionDenied()
    else:
        if not subject:
            raise FhirInvalid([("Observation.subject", "Name the patient (Patient/<id>).")])
        if not access.can(request.user, "clinical", "write"):
            raise PermissionDenied()
        patient = access.patient_for_request(
            request, patient_id_of(subject, "Observation.subject"), "write", "clinical"
        )
        source = Source.STAFF
    try:
        return observations.observation_record(
            patient,
            reading["metric"],
            reading["value"],
            reading["unit"],
            reading["effective_at"],
            value2=reading["value2"],
            context=reading["context"],
            note=reading["note"],
            actor=request.user,
            source=source,
            request=request,
            via="fhir",
        )
    except ValidationError as exc:
        raise FhirInvalid(
            [(FIELD_ELEMENTS.get(k, f"Observation.{k}"), m) for k, msgs in exc.message_dict.items() for m in msgs]
        ) from None
