"""FHIR R4 API under /fhir/R4/ (issue 18): mapping (resources, codes), gated queries (query, read),
POST Observation (ingest), Bulk Data export (export, tasks), validators for tests and CI (validate)."""
