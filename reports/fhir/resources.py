"""Our rows as FHIR R4 resources (plain dicts, JSON-ready). Pure functions: no queries beyond the
row's own select_related/prefetch (callers load), no access decisions (callers gate).

What maps to what (docs/architecture.md "FHIR R4"):
    patients.Patient -> Patient (+ Condition, AllergyIntolerance from the record's free-text lists)
    mahalo.Project -> Organization; mahalo.StaffMember -> Practitioner
    clinical.Observation -> Observation (vital-signs with US Core profiles, activity, survey, laboratory)
    wearables.DailyMetric -> one Observation per measured field (daily summaries)
    clinical.BloodTest -> Observation (laboratory); clinical.LabOrder -> ServiceRequest
    assessments.Questionnaire -> Questionnaire (assessments.fhir.export); Response -> QuestionnaireResponse
    care.Medication -> MedicationStatement; care.CarePlan -> CarePlan; care.Goal -> Goal
    scheduling.Visit -> Appointment
"""

from __future__ import annotations

import re
from datetime import date, datetime

from clinical import observations as obs_service
from clinical.models import Interpretation
from reports.fhir import codes as c

# An id FHIR accepts ([A-Za-z0-9-.]{1,64}); all of ours are UUIDs or built from them.


def ref(kind: str, pk) -> dict:
    return {"reference": f"{kind}/{pk}"}


def instant(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _meta(updated: datetime | None, profiles: list[str] | None = None) -> dict:
    meta: dict = {}
    if updated:
        meta["lastUpdated"] = instant(updated)
    if profiles:
        meta["profile"] = profiles
    return meta


def _clean(resource: dict) -> dict:
    """Drop empty values: FHIR forbids empty strings, lists and objects."""
    out = {}
    for key, value in resource.items():
        if isinstance(value, dict):
            value = _clean(value)
        elif isinstance(value, list):
            value = [_clean(v) if isinstance(v, dict) else v for v in value if v not in (None, "", [], {})]
            value = [v for v in value if v not in ({}, [])]
        if value in (None, "", [], {}):
            continue
        out[key] = value
    return out


# --- Directory: Organization, Practitioner, Patient ----------------------------------------------


def organization(project) -> dict:
    return _clean(
        {
            "resourceType": "Organization",
            "id": str(project.pk),
            "active": project.is_active,
            "name": project.name,
            "alias": [project.brand_name] if project.brand_name else [],
            "telecom": [{"system": "email", "value": project.support_email}] if project.support_email else [],
        }
    )


def practitioner(staff) -> dict:
    user = staff.user
    full = (user.full_name or user.email).strip()
    given, _, family = full.rpartition(" ")
    name = {"text": full, "family": family or full}
    if given:
        name["given"] = given.split()
    return _clean(
        {
            "resourceType": "Practitioner",
            "id": str(staff.pk),
            "active": bool(staff.is_active and user.is_active),
            "name": [name],
            "telecom": [{"system": "email", "value": user.email, "use": "work"}],
            "identifier": [{"system": "https://mahalo.health/fhir/NamingSystem/license", "value": staff.license_number}]
            if staff.license_number
            else [],
            "qualification": [{"code": {"text": staff.title}}] if staff.title else [],
        }
    )


GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def patient(p) -> dict:
    telecom = []
    if p.phone:
        telecom.append({"system": "phone", "value": str(p.phone), "use": p.phone_type or None})
    if p.alternate_phone:
        telecom.append({"system": "phone", "value": str(p.alternate_phone)})
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    name = {"use": "official", "family": p.last_name, "given": [p.first_name], "text": f"{p.first_name} {p.last_name}"}
    names = [name]
    if p.preferred_name:
        names.append({"use": "usual", "given": [p.preferred_name]})
    address = {
        "line": [p.street_address] if p.street_address else [],
        "city": p.city,
        "state": p.state,
        "postalCode": p.postal_code,
        "country": p.country,
    }
    contacts = []
    for n in (1, 2):
        contact_name = getattr(p, f"emergency_contact_{n}_name")
        if contact_name:
            phone = getattr(p, f"emergency_contact_{n}_phone")
            relation = getattr(p, f"emergency_contact_{n}_relationship")
            contacts.append(
                {
                    "name": {"text": contact_name},
                    "relationship": [{"text": relation}] if relation else [],
                    "telecom": [{"system": "phone", "value": str(phone)}] if phone else [],
                }
            )
    return _clean(
        {
            "resourceType": "Patient",
            "id": str(p.pk),
            "meta": _meta(p.updated_at if hasattr(p, "updated_at") else None),
            "identifier": [
                {
                    "use": "usual",
                    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                    "system": f"{c.MRN_SYSTEM}/{p.project_id}",
                    "value": p.mrn,
                }
            ]
            if p.mrn
            else [],
            "active": p.status in ("active", "paused"),
            "name": names,
            "telecom": telecom,
            "gender": GENDER.get(p.sex, "unknown"),
            "birthDate": day(p.date_of_birth),
            "address": [address] if any(v for v in address.values() if v and v != p.country) else [],
            "communication": [{"language": {"text": p.primary_language}}] if p.primary_language else [],
            "contact": contacts,
            "managingOrganization": ref("Organization", p.project_id),
        }
    )


# The record keeps problems and allergies as free text (seed data); each line or comma-separated
# item becomes one resource whose code is text only (no terminology is claimed).
_NONE = {"none", "nkda", "nka", "n/a", "na", "no known allergies", "no known drug allergies", "-"}


def _items(text: str) -> list[str]:
    parts = [s.strip(" .;") for s in re.split(r"[\n;,]+", text or "")]
    return [s[:200] for s in parts if s and s.lower() not in _NONE]


def conditions(p) -> list[dict]:
    return [
        _clean(
            {
                "resourceType": "Condition",
                "id": f"cond-{p.pk}-{n}",
                "clinicalStatus": {"coding": [{"system": c.CONDITION_CLINICAL, "code": "active"}]},
                "verificationStatus": {"coding": [{"system": c.CONDITION_VERIFICATION, "code": "unconfirmed"}]},
                "category": [{"coding": [{"system": c.CONDITION_CATEGORY, "code": "problem-list-item"}]}],
                "code": {"text": text},
                "subject": ref("Patient", p.pk),
                "note": [{"text": "From the patient record's chronic conditions (free text)."}],
            }
        )
        for n, text in enumerate(_items(p.chronic_conditions), 1)
    ]


def allergies(p) -> list[dict]:
    out = []
    for kind, text, prefix in (("medication", p.medication_allergies, "med"), (None, p.other_allergies, "other")):
        for n, item in enumerate(_items(text), 1):
            out.append(
                _clean(
                    {
                        "resourceType": "AllergyIntolerance",
                        "id": f"allergy-{prefix}-{p.pk}-{n}",
                        "clinicalStatus": {"coding": [{"system": c.ALLERGY_CLINICAL, "code": "active"}]},
                        "verificationStatus": {"coding": [{"system": c.ALLERGY_VERIFICATION, "code": "unconfirmed"}]},
                        "category": [kind] if kind else [],
                        "code": {"text": item},
                        "patient": ref("Patient", p.pk),
                    }
                )
            )
    return out


# --- Observations --------------------------------------------------------------------------------

INTERPRETATION_CODES = {
    Interpretation.NORMAL: ("N", "Normal"),
    Interpretation.ABNORMAL: ("A", "Abnormal"),
    Interpretation.CRITICAL: ("AA", "Critical abnormal"),
}


def _interpretation(o) -> list[dict]:
    out = []
    if o.interpretation in INTERPRETATION_CODES:
        code, display = INTERPRETATION_CODES[o.interpretation]
        out.append({"coding": [{"system": c.INTERPRETATION, "code": code, "display": display}]})
    elif o.interpretation == Interpretation.INVALID:
        out.append({"text": "Not a possible value: kept, left out of trends and rules"})
    label = obs_service.category_label(o)
    if label:
        # The published table's class (ACC/AHA BP category, WHO BMI class, ADA glucose class).
        source = obs_service.category_source(o)
        out.append(
            {
                "coding": [{"system": c.CATEGORY_SYSTEM, "code": o.category, "display": label}],
                "text": f"{label} ({source})" if source else label,
            }
        )
    return out


def observation(o) -> dict:
    """A clinical.Observation. BP is one row (value/value2) and one FHIR panel with two components."""
    in_error = obs_service.entered_in_error(o)
    category = c.category_of(o.metric)
    profiles = []
    if o.metric in c.PROFILES:
        profiles = [c.US_CORE + c.PROFILES[o.metric]]
    elif category == "survey":
        profiles = [c.SURVEY_PROFILE]
    res = {
        "resourceType": "Observation",
        "id": str(o.pk),
        "meta": _meta(o.created_at, profiles),
        "status": "entered-in-error" if in_error else "final",
        "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": category}]}],
        "code": c.code_of(o.metric, o.method),
        "subject": ref("Patient", o.patient_id),
        "interpretation": _interpretation(o),
    }
    if o.end_at:
        res["effectivePeriod"] = {"start": instant(o.effective_at), "end": instant(o.end_at)}
    else:
        res["effectiveDateTime"] = instant(o.effective_at)
    res["issued"] = instant(o.created_at)
    if o.metric == "hrv":
        res["method"] = c.hrv_method(o.method)
    if o.metric == "blood_pressure":
        res["component"] = [
            {
                "code": {"coding": [{"system": c.LOINC, "code": c.BP_SYSTOLIC, "display": "Systolic blood pressure"}]},
                "valueQuantity": c.quantity(o.value, "mmHg"),
            },
            {
                "code": {
                    "coding": [{"system": c.LOINC, "code": c.BP_DIASTOLIC, "display": "Diastolic blood pressure"}]
                },
                "valueQuantity": c.quantity(o.value2, "mmHg"),
            },
        ]
    else:
        res["valueQuantity"] = c.quantity(o.value, o.unit)
    if o.device:
        res["device"] = {"display": o.device[:200]}
    notes = []
    if o.context:
        res["extension"] = [{"url": c.MEASUREMENT_SETTING, "valueCode": o.context}]
    details = o.details or {}
    if details.get("note"):
        notes.append({"text": details["note"]})
    if in_error:
        notes.append({"text": f"Entered in error: {details.get('error_reason', '')}".strip(": ")})
    res["note"] = notes
    res["performer"] = [ref("Patient", o.patient_id)] if o.source == "patient" else []
    return _clean(res)


def daily_observations(d) -> list[dict]:
    """A wearables.DailyMetric (one day, one source) as one Observation per measured field."""
    out = []
    base = {
        "resourceType": "Observation",
        "status": "final",
        "subject": ref("Patient", d.patient_id),
        "effectiveDateTime": day(d.date),
        "issued": instant(d.updated_at),
        "device": {"display": (d.device or d.get_source_display())[:200]},
    }
    for field, (suffix, code, display, unit) in c.DAILY_CODES.items():
        value = getattr(d, field)
        if value is None:
            continue
        system = c.LOCAL if not code[0].isdigit() else c.LOINC
        category = "vital-signs" if field in ("respiratory_rate", "spo2") else "activity"
        coding = [{"system": system, "code": code, "display": display}]
        if field == "spo2":
            coding.append({"system": c.LOINC, "code": c.SPO2_EXTRA, "display": "Oxygen saturation in Arterial blood"})
        out.append(
            _clean(
                {
                    **base,
                    "id": f"dm-{d.pk}-{suffix}",
                    "meta": _meta(d.updated_at),
                    "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": category}]}],
                    "code": {"coding": coding, "text": display + " (daily)"},
                    "valueQuantity": c.quantity(value, unit),
                }
            )
        )
    if d.hrv_ms is not None and d.hrv_method in ("rmssd", "sdnn"):
        out.append(
            _clean(
                {
                    **base,
                    "id": f"dm-{d.pk}-hrv",
                    "meta": _meta(d.updated_at),
                    "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": "activity"}]}],
                    "code": c.code_of("hrv", d.hrv_method),
                    "method": c.hrv_method(d.hrv_method),
                    "valueQuantity": c.quantity(d.hrv_ms, "ms"),
                }
            )
        )
    return out


def lab_result(b) -> dict:
    coding = [{"system": c.LOINC, "code": b.loinc, "display": b.test_name}] if b.loinc else []
    value = {"value": c._num(b.value), "unit": b.unit} if b.unit else {"value": c._num(b.value)}
    reference = {}
    if b.reference_low is not None:
        reference["low"] = {"value": c._num(b.reference_low), **({"unit": b.unit} if b.unit else {})}
    if b.reference_high is not None:
        reference["high"] = {"value": c._num(b.reference_high), **({"unit": b.unit} if b.unit else {})}
    flag = []
    if b.reference_low is not None and b.value < b.reference_low:
        flag = [{"coding": [{"system": c.INTERPRETATION, "code": "L", "display": "Low"}]}]
    elif b.reference_high is not None and b.value > b.reference_high:
        flag = [{"coding": [{"system": c.INTERPRETATION, "code": "H", "display": "High"}]}]
    elif reference:
        flag = [{"coding": [{"system": c.INTERPRETATION, "code": "N", "display": "Normal"}]}]
    return _clean(
        {
            "resourceType": "Observation",
            "id": str(b.pk),
            "meta": _meta(None, [c.LAB_PROFILE] if b.loinc else []),
            "status": "final",
            "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": "laboratory"}]}],
            "code": {"coding": coding, "text": b.test_name},
            "subject": ref("Patient", b.patient_id),
            "effectiveDateTime": instant(b.recorded_at),
            "valueQuantity": value,
            "interpretation": flag,
            "referenceRange": [reference] if reference else [],
            "basedOn": [ref("ServiceRequest", b.lab_order_id)] if b.lab_order_id else [],
        }
    )


LAB_STATUS = {"ordered": "active", "in_progress": "active", "completed": "completed", "cancelled": "revoked"}


def lab_order(order) -> dict:
    tests = [str(t) for t in (order.tests or [])]
    return _clean(
        {
            "resourceType": "ServiceRequest",
            "id": str(order.pk),
            "meta": _meta(order.updated_at),
            "status": LAB_STATUS.get(order.status, "unknown"),
            "intent": "order",
            "category": [{"coding": [{"system": c.SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}],
            "code": {"text": ", ".join(tests) or "Laboratory tests"},
            "subject": ref("Patient", order.patient_id),
            "authoredOn": instant(order.ordered_at),
            "note": [{"text": order.notes}] if order.notes else [],
            "orderDetail": [{"text": t} for t in tests],
        }
    )


# --- Questionnaires ------------------------------------------------------------------------------


def questionnaire_response(r) -> dict:
    """An assessments.Response with its answers (prefetched: answers__question)."""
    items = []
    for a in r.answers.all():
        q = a.question
        values = []
        for raw in a.value.split("|") if q.type == "multiple_choice" else [a.value]:
            if raw == "":
                continue
            if q.options:
                opt = next((o for o in q.options if str(o.get("code")) == raw), {})
                coding = {"code": raw, "display": opt.get("display", "")}
                if opt.get("system"):
                    coding["system"] = opt["system"]
                values.append({"valueCoding": coding})
            elif q.type == "integer" and re.fullmatch(r"-?\d+", raw):
                values.append({"valueInteger": int(raw)})
            elif q.type == "decimal" and re.fullmatch(r"-?\d+(\.\d+)?", raw):
                values.append({"valueDecimal": float(raw)})
            elif q.type == "boolean" and raw.lower() in ("true", "false"):
                values.append({"valueBoolean": raw.lower() == "true"})
            elif q.type == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                values.append({"valueDate": raw})
            else:
                values.append({"valueString": raw})
        items.append({"linkId": q.link_id, "text": q.text[:500], "answer": values})
    res = {
        "resourceType": "QuestionnaireResponse",
        "id": str(r.pk),
        "questionnaire": f"Questionnaire/{r.questionnaire_id}",
        "status": "completed" if r.complete else "in-progress",
        "subject": ref("Patient", r.patient_id),
        "authored": instant(r.submitted_at),
        "item": items,
    }
    if r.observation_id:
        res["extension"] = [
            {
                "url": "https://mahalo.health/fhir/StructureDefinition/total-observation",
                "valueReference": ref("Observation", r.observation_id),
            }
        ]
    return _clean(res)


# --- Care: medications, plans, goals; scheduling: appointments ----------------------------------

MED_STATUS = {"active": "active", "on_hold": "on-hold", "stopped": "stopped", "completed": "completed"}


def medication_statement(m) -> dict:
    dose = {}
    if m.dose is not None:
        dose = {"doseAndRate": [{"doseQuantity": {"value": c._num(m.dose), "unit": m.dose_unit or None}}]}
    dosage = {
        "text": " ".join(
            x
            for x in (
                str(m.dose.normalize()) if m.dose is not None else "",
                m.dose_unit,
                m.get_route_display().lower(),
                m.schedule,
            )
            if x
        ).strip(),
        "asNeededBoolean": m.as_needed,
        "route": {"text": m.get_route_display()},
        "patientInstruction": m.instructions,
        **dose,
    }
    return _clean(
        {
            "resourceType": "MedicationStatement",
            "id": str(m.pk),
            "meta": _meta(m.updated_at),
            "status": MED_STATUS.get(m.status, "unknown"),
            "medicationCodeableConcept": {"text": m.name},
            "subject": ref("Patient", m.patient_id),
            "effectivePeriod": {"start": day(m.start_date), "end": day(m.end_date)},
            "dateAsserted": instant(m.created_at),
            "reasonCode": [{"text": m.reason}] if m.reason else [],
            "informationSource": ref("Patient", m.patient_id) if m.patient_reported else None,
            "dosage": [dosage],
        }
    )


PLAN_STATUS = {"draft": "draft", "active": "active", "completed": "completed", "revoked": "revoked"}


def care_plan(plan) -> dict:
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": str(plan.pk),
            "meta": _meta(plan.updated_at),
            "status": PLAN_STATUS.get(plan.status, "unknown"),
            "intent": "plan",
            "title": plan.name,
            "description": plan.notes[:2000] if plan.notes else None,
            "subject": ref("Patient", plan.patient_id),
            "period": {"start": day(plan.start_date), "end": day(plan.end_date)},
            "created": instant(plan.created_at),
            "goal": [ref("Goal", g.pk) for g in plan.goals.all()],
            "activity": [
                {
                    "detail": {
                        "status": "in-progress" if plan.status == "active" else "not-started",
                        "description": str(ph.get("name") or ph.get("title") or "Phase")[:200],
                    }
                }
                for ph in (plan.phases or [])
                if isinstance(ph, dict)
            ],
        }
    )


GOAL_LIFECYCLE = {"active": "active", "achieved": "completed", "not_achieved": "completed", "cancelled": "cancelled"}
GOAL_ACHIEVEMENT = {"achieved": "achieved", "not_achieved": "not-achieved", "active": "in-progress"}


def goal(g) -> dict:
    target = {}
    if g.target_value is not None:
        target["detailQuantity"] = {"value": c._num(g.target_value), **({"unit": g.unit} if g.unit else {})}
    if g.due_date:
        target["dueDate"] = day(g.due_date)
    achievement = GOAL_ACHIEVEMENT.get(g.status)
    return _clean(
        {
            "resourceType": "Goal",
            "id": str(g.pk),
            "meta": _meta(g.updated_at),
            "lifecycleStatus": GOAL_LIFECYCLE.get(g.status, "proposed"),
            "achievementStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/goal-achievement", "code": achievement}]
            }
            if achievement
            else None,
            "category": [{"text": g.category}] if g.category else [],
            "description": {"text": g.title},
            "subject": ref("Patient", g.patient_id),
            "target": [target] if target else [],
            "addresses": [],
            "outcomeReference": [],
        }
    )


VISIT_STATUS = {
    "PLANNED": "booked",
    "CHECKED_IN": "checked-in",
    "IN_PROGRESS": "arrived",
    "COMPLETED": "fulfilled",
    "CANCELLED": "cancelled",
    "NO_SHOW": "noshow",
}


def appointment(v) -> dict:
    return _clean(
        {
            "resourceType": "Appointment",
            "id": str(v.pk),
            "status": VISIT_STATUS.get(v.status, "proposed"),
            "appointmentType": {"text": v.get_visit_type_display()},
            "description": v.get_visit_type_display(),
            "start": instant(v.starts_at),
            "end": instant(v.ends_at),
            "created": instant(getattr(v, "created_at", None)),
            "comment": v.reason[:2000] if v.reason else None,
            "cancelationReason": {"text": v.cancel_reason} if v.cancel_reason else None,
            "participant": [
                {"actor": ref("Patient", v.patient_id), "status": "accepted"},
                {"actor": ref("Practitioner", v.staff_id), "status": "accepted"},
            ],
        }
    )
