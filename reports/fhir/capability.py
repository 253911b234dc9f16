"""The CapabilityStatement (`GET /fhir/R4/metadata`): what this server reads, searches and accepts."""

from __future__ import annotations

from django.utils import timezone

from reports.fhir import query, read

PARAMS = {
    "patient": ("reference", "The patient the resource is about (Patient/<id> or <id>)."),
    "code": ("token", "LOINC code (system|code or code); Observation only."),
    "date": ("date", "With prefixes eq, ne, lt, le, gt, ge, sa, eb; repeat for a range."),
    "_id": ("token", "Resource ids, comma-separated."),
    "_since": ("date", "Changed at or after this instant."),
    "_count": ("number", "Page size (default 50, at most 500)."),
}
OPERATIONS = [
    ("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"),
    ("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"),
]


def capability_statement(base: str) -> dict:
    resources = []
    for resource_type in read.READ_TYPES:
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if resource_type == "Observation":
            interactions.append({"code": "create"})
        params = (
            ["_id", "_count"]
            if resource_type in read.DIRECTORY_TYPES
            else [p for p in PARAMS if p not in ("code",) or resource_type == "Observation"]
        )
        if resource_type in query.TYPES and all(s.date_field is None for s in query.TYPES[resource_type]):
            params = [p for p in params if p != "date"]
        entry = {
            "type": resource_type,
            "interaction": interactions,
            "searchParam": [{"name": p, "type": PARAMS[p][0], "documentation": PARAMS[p][1]} for p in params],
        }
        if resource_type == "Patient":
            entry["operation"] = [
                {"name": "everything", "definition": OPERATIONS[0][1]},
                {"name": "export", "definition": OPERATIONS[1][1]},
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.now().date().isoformat(),
        "publisher": "Mahalo Health",
        "kind": "instance",
        "software": {"name": "Mahalo Health"},
        "implementation": {"description": "Mahalo Health FHIR R4 API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Same gate and audit as every route: a patient outside your scope is a 404.",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                    "display": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer token from /api/v1/auth/token/ (or a signed-in session).",
                },
                "resource": resources,
                "operation": [{"name": "export", "definition": OPERATIONS[1][1]}],
            }
        ],
    }
