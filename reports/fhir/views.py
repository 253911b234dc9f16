"""FHIR R4 endpoints under /fhir/R4/ (DESIGN "Fixed points"; issue 18). Routes in reports/urls.py.

GET  metadata                                  CapabilityStatement
GET  <Type>?patient=&code=&date=&_count=&_page=  search (Bundle searchset with paging links)
GET  <Type>/<id>                               read
POST Observation                               a device or app records a reading (reports.fhir.ingest)
GET  Patient/<id>/$everything                  the patient compartment as one Bundle
GET  $export | Patient/$export | Group/<program id>/$export   Bulk Data kick-off (Prefer: respond-async)
GET  $export-status/<job>                      202 + X-Progress, then 200 + manifest; DELETE cancels
GET  $export-file/<job>/<Type>.ndjson          the requester's file (audited)
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import MethodNotAllowed

from mahalo import access, audit
from patients.models import Program
from reports.fhir import export, ingest, query, read
from reports.fhir import resources as r
from reports.fhir.capability import capability_statement
from reports.fhir.http import NDJSON, FhirView, fhir_response
from reports.models import FhirExportJob

TYPE_RESOURCE = {
    "Patient": "patients",
    "Condition": "patients",
    "AllergyIntolerance": "patients",
    "Appointment": "scheduling",
}


def base_url(request) -> str:
    return request.build_absolute_uri("/fhir/R4/")


def bundle(request, resources: list[dict], *, total: int | None = None, links: list[dict] | None = None) -> dict:
    base = base_url(request)
    out = {"resourceType": "Bundle", "type": "searchset", "timestamp": r.instant(timezone.now())}
    if total is not None:
        out["total"] = total
    out["link"] = links or [{"relation": "self", "url": request.build_absolute_uri()}]
    out["entry"] = [
        {"fullUrl": f"{base}{res['resourceType']}/{res['id']}", "resource": res, "search": {"mode": "match"}}
        for res in resources
    ]
    return out


def _page_link(request, page: int) -> str:
    params = request.query_params.copy()
    params["_page"] = str(page)
    return request.build_absolute_uri(request.path) + "?" + params.urlencode()


def _audit_list(request, resource_type: str, resources: list[dict]) -> None:
    subjects = sorted(
        {(res.get("subject") or res.get("patient") or {}).get("reference", "") for res in resources} - {""}
        | {f"Patient/{res['id']}" for res in resources if res["resourceType"] == "Patient"}
    )
    audit.record(
        request=request,
        action="list",
        resource=TYPE_RESOURCE.get(resource_type, "clinical"),
        metadata={"via": "fhir", "type": resource_type, "count": len(resources), "patients": subjects[:200]},
    )


class Metadata(FhirView):
    @extend_schema(exclude=True)
    def get(self, request):
        return fhir_response(capability_statement(base_url(request)))


class TypeEndpoint(FhirView):
    """Search a type; POST creates (Observation only)."""

    @extend_schema(exclude=True)
    def get(self, request, resource_type):
        if resource_type not in read.READ_TYPES:
            raise Http404
        search = query.parse(resource_type, request.query_params)
        if resource_type in read.DIRECTORY_TYPES:
            resources, total = read.directory(request, resource_type, search)
        else:
            resources, total = query.run(request.user, search)
        links = [{"relation": "self", "url": _page_link(request, search.page)}]
        if search.page * search.count < total:
            links.append({"relation": "next", "url": _page_link(request, search.page + 1)})
        if search.page > 1:
            links.append({"relation": "previous", "url": _page_link(request, search.page - 1)})
        _audit_list(request, resource_type, resources)
        return fhir_response(bundle(request, resources, total=total, links=links))

    @extend_schema(exclude=True)
    def post(self, request, resource_type):
        if resource_type != "Observation":
            raise MethodNotAllowed("POST", detail=f"{resource_type} is read-only here; POST Observation only.")
        obs = ingest.record(request, request.data)
        body = r.observation(obs)
        return fhir_response(body, status=201, headers={"Location": f"{base_url(request)}Observation/{obs.pk}"})


class ReadEndpoint(FhirView):
    @extend_schema(exclude=True)
    def get(self, request, resource_type, resource_id):
        if resource_type not in read.READ_TYPES:
            raise Http404
        return fhir_response(read.read(request, resource_type, resource_id))


class PatientRead(FhirView):
    @extend_schema(exclude=True)
    def get(self, request, patient_id):
        return fhir_response(read.read(request, "Patient", str(patient_id)))


class Everything(FhirView):
    @extend_schema(exclude=True)
    def get(self, request, patient_id):
        params = request.query_params
        issues = [
            (k, f"'{k}' is not supported by $everything (use _type, _since).")
            for k in params
            if k not in ("_type", "_since", "_format")
        ]
        types = [t for t in (params.get("_type") or "").split(",") if t]
        issues += [
            ("_type", f"'{t}' is not in the patient compartment here.") for t in types if t not in query.PATIENT_TYPES
        ]
        if issues:
            raise ingest.FhirInvalid(issues)
        since = query.parse_moment(params["_since"], "_since")[0] if params.get("_since") else None
        resources = read.everything(request, patient_id, types or None, since)
        return fhir_response(bundle(request, resources, total=len(resources)))


def _accepted(request, job: FhirExportJob):
    location = request.build_absolute_uri(reverse("fhir_export_status", args=[job.pk]))
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "information",
                "code": "informational",
                "diagnostics": "Export accepted; poll Content-Location.",
            }
        ],
    }
    return fhir_response(body, status=202, headers={"Content-Location": location})


class SystemExport(FhirView):
    @extend_schema(exclude=True)
    def get(self, request):
        if not access.can(request.user, "reports", "read") or access.patient_of(request.user) is not None:
            raise ingest.PermissionDenied()
        return _accepted(request, export.kick_off(request, FhirExportJob.Kind.SYSTEM))


class PatientExport(SystemExport):
    @extend_schema(exclude=True)
    def get(self, request):
        if not access.can(request.user, "reports", "read") or access.patient_of(request.user) is not None:
            raise ingest.PermissionDenied()
        return _accepted(request, export.kick_off(request, FhirExportJob.Kind.PATIENT))


class GroupExport(FhirView):
    @extend_schema(exclude=True)
    def get(self, request, program_id):
        if not access.can(request.user, "reports", "read") or access.patient_of(request.user) is not None:
            raise ingest.PermissionDenied()
        program = access.programs_for(request.user).filter(pk=program_id).first()
        if program is None:
            if Program.objects.filter(pk=program_id).exists():
                audit.record(
                    request=request,
                    action="denied",
                    resource="reports",
                    object_id=str(program_id),
                    metadata={"model": "patients.Program", "operation": "$export"},
                )
            raise Http404
        return _accepted(request, export.kick_off(request, FhirExportJob.Kind.GROUP, program=program))


class ExportStatus(FhirView):
    @extend_schema(exclude=True)
    def get(self, request, job_id):
        job = export.job_for(request, job_id)
        if job.status in (FhirExportJob.Status.QUEUED, FhirExportJob.Status.RUNNING):
            return fhir_response(
                {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "information", "code": "informational", "diagnostics": job.progress or job.status}
                    ],
                },
                status=202,
                headers={"X-Progress": (job.progress or job.get_status_display())[:100], "Retry-After": "5"},
            )
        if job.status == FhirExportJob.Status.DONE:
            audit.record(
                request=request,
                action="read",
                resource="reports",
                project=job.project,
                object_id=job.pk,
                metadata={"event": "fhir_export_manifest"},
            )
            body = export.manifest(request, job)
            response = fhir_response(body)
            response["Expires"] = job.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT") if job.expires_at else ""
            response["Content-Type"] = "application/json"
            return response
        if job.status == FhirExportJob.Status.FAILED:
            return fhir_response(
                {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "error", "code": "exception", "diagnostics": "The export failed; start a new one."}
                    ],
                },
                status=422,
            )
        raise Http404  # cancelled or expired: the files are gone

    @extend_schema(exclude=True)
    def delete(self, request, job_id):
        job = export.job_for(request, job_id)
        if job.status in (FhirExportJob.Status.CANCELLED, FhirExportJob.Status.EXPIRED):
            raise Http404
        export.cancel(request, job)
        return fhir_response(
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {"severity": "information", "code": "informational", "diagnostics": "Cancelled; files deleted."}
                ],
            },
            status=202,
        )


class ExportFile(FhirView):
    @extend_schema(exclude=True)
    def get(self, request, job_id, file_name):
        job = export.job_for(request, job_id)
        names = {o["name"] for o in job.output}
        if job.status != FhirExportJob.Status.DONE or file_name not in names:
            raise Http404
        path = f"{job.folder}/{file_name}"
        if not default_storage.exists(path):
            raise Http404
        audit.record(
            request=request,
            action="export",
            resource="reports",
            project=job.project,
            object_id=job.pk,
            metadata={"event": "fhir_export_download", "file": file_name},
        )
        return FileResponse(default_storage.open(path, "rb"), content_type=NDJSON)
