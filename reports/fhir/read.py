"""Read one resource by type and id, `$everything`, and the directory types (Organization,
Practitioner, Questionnaire). Every row through `mahalo.access` (404 for missing and forbidden alike,
the read audited); ids we build (`cond-<patient>-<n>`, `dm-<day row>-<field>`) are resolved through the
gated row they come from."""

from __future__ import annotations

import re
import uuid

from django.http import Http404

from assessments import fhir as assessments_fhir
from assessments.models import Questionnaire, Response
from care.models import CarePlan, Goal, Medication
from clinical.models import BloodTest, LabOrder, Observation
from mahalo import access, audit
from mahalo.models import Project, StaffMember
from reports.fhir import query
from reports.fhir import resources as r
from scheduling.models import Visit
from wearables.models import DailyMetric

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
SIMPLE = {
    "MedicationStatement": (Medication, "clinical", r.medication_statement),
    "CarePlan": (CarePlan, "clinical", r.care_plan),
    "Goal": (Goal, "clinical", r.goal),
    "Appointment": (Visit, "scheduling", r.appointment),
    "ServiceRequest": (LabOrder, "clinical", r.lab_order),
}
DIRECTORY_TYPES = ("Organization", "Practitioner", "Questionnaire")
READ_TYPES = (*query.PATIENT_TYPES, *DIRECTORY_TYPES)


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Http404 from None


def _from_patient(request, resource_type: str, resource_id: str) -> dict:
    m = re.fullmatch(rf"(?:cond|allergy-(?:med|other))-({UUID})-\d+", resource_id)
    if not m:
        raise Http404
    patient = access.patient_for_request(request, m.group(1), "read", "patients")
    found = (r.conditions if resource_type == "Condition" else r.allergies)(patient)
    for res in found:
        if res["id"] == resource_id:
            return res
    raise Http404


def _observation(request, resource_id: str) -> dict:
    m = re.fullmatch(rf"dm-({UUID})-([a-z-]+)", resource_id)
    if m:
        row = access.load(request, DailyMetric.objects, m.group(1), resource="wearables")
        for res in r.daily_observations(row):
            if res["id"] == resource_id:
                return res
        raise Http404
    pk = _uuid(resource_id)
    try:
        return r.observation(access.load(request, Observation.objects, pk, resource="clinical"))
    except Http404:
        return r.lab_result(access.load(request, BloodTest.objects, pk, resource="clinical"))


def organization_for(user, pk: str) -> Project:
    mine = {getattr(access.project_of(user), "pk", None)}
    own = access.patient_of(user)
    if own is not None:
        mine.add(own.project_id)
    project = Project.objects.filter(pk=pk).first()
    if project is None or not (user.is_superuser or project.pk in mine):
        raise Http404
    return project


def read(request, resource_type: str, resource_id: str) -> dict:
    if resource_type == "Patient":
        return r.patient(access.patient_for_request(request, _uuid(resource_id), "read", "patients"))
    if resource_type in ("Condition", "AllergyIntolerance"):
        return _from_patient(request, resource_type, resource_id)
    if resource_type == "Observation":
        return _observation(request, resource_id)
    if resource_type == "QuestionnaireResponse":
        row = access.load(
            request, Response.objects.prefetch_related("answers__question"), _uuid(resource_id), resource="clinical"
        )
        return r.questionnaire_response(row)
    if resource_type in SIMPLE:
        model, resource, fn = SIMPLE[resource_type]
        return fn(access.load(request, model.objects, _uuid(resource_id), resource=resource))
    if resource_type == "Questionnaire":
        q = access.load(request, Questionnaire.objects, _uuid(resource_id), resource="clinical", via="project")
        return assessments_fhir.export(q, list(q.questions.order_by("order")))
    if resource_type == "Practitioner":
        staff = access.load(
            request, StaffMember.objects.select_related("user"), _uuid(resource_id), resource="patients", via="project"
        )
        return r.practitioner(staff)
    if resource_type == "Organization":
        project = organization_for(request.user, _uuid(resource_id))
        audit.record(
            request=request,
            action="read",
            resource="patients",
            project=project,
            object_id=project.pk,
            metadata={"model": "mahalo.Project", "via": "fhir"},
        )
        return r.organization(project)
    raise Http404


def directory(request, resource_type: str, search: query.Search) -> tuple[list[dict], int]:
    """Search the tenant's Organization, Practitioners or Questionnaires (paged like the rest)."""
    user = request.user
    if set(search.filters) - {"_id"}:
        raise query.SearchError(
            next(iter(set(search.filters) - {"_id"})), f"{resource_type} is searchable by _id only."
        )
    ids = [i.strip() for i in search.filters.get("_id", "").split(",") if re.fullmatch(UUID, i.strip())]
    if resource_type == "Organization":
        project = access.project_of(user) or getattr(access.patient_of(user), "project", None)
        rows = [project] if project is not None and (not ids or str(project.pk) in ids) else []
        return [r.organization(p) for p in rows], len(rows)
    if resource_type == "Practitioner":
        qs = access.scoped(user, StaffMember.objects.select_related("user"), "patients").order_by("pk")
        fn = r.practitioner
    else:
        qs = access.scoped(user, Questionnaire.objects.prefetch_related("questions"), "clinical").order_by("pk")

        def fn(q):
            return assessments_fhir.export(q, sorted(q.questions.all(), key=lambda x: x.order))

    if "_id" in search.filters:
        qs = qs.filter(pk__in=ids)
    total = qs.count()
    start = (search.page - 1) * search.count
    return [fn(row) for row in qs[start : start + search.count]], total


def everything(request, patient_id, types: list[str] | None = None, since=None) -> list[dict]:
    """The patient compartment (every type we map), plus the Organization, the Practitioners their
    appointments name and the Questionnaires their responses answer, so every reference resolves."""
    patient = access.patient_for_request(request, patient_id, "read", "patients")
    user = request.user
    out: list[dict] = []
    staff_ids, questionnaire_ids = set(), set()
    for resource_type in types or query.PATIENT_TYPES:
        search = query.Search(resource_type, filters={"patient": str(patient.pk)})
        if since is not None:
            search.filters["_since"] = since
        for source in query.TYPES[resource_type]:
            for row in query.filtered(user, search, source):
                if isinstance(row, Visit):
                    staff_ids.add(row.staff_id)
                if isinstance(row, Response):
                    questionnaire_ids.add(row.questionnaire_id)
                out.extend(source.to_fhir(row))
    if not types:
        out.append(r.organization(patient.project))
        # The people and forms this record points at: bounded by the gated patient's own rows above.
        for staff in StaffMember.objects.filter(pk__in=staff_ids).select_related("user"):
            out.append(r.practitioner(staff))
        for q in Questionnaire.objects.filter(pk__in=questionnaire_ids).prefetch_related("questions"):
            out.append(assessments_fhir.export(q, sorted(q.questions.all(), key=lambda x: x.order)))
    audit.record(
        request=request,
        action="read",
        resource="patients",
        patient=patient,
        object_id=patient.pk,
        metadata={"via": "fhir", "operation": "$everything", "resources": len(out)},
    )
    return out
