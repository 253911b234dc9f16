from reports.models.fhir import FhirExportJob  # noqa: F401
