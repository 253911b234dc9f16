from reports.models.fhir import FhirExportJob  # noqa: F401
from reports.models.reports import Report, ReportExport, ReportTemplate  # noqa: F401
from reports.models.weekly import WeeklySummary  # noqa: F401
