from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports and interoperability (DESIGN.md "Layout"): report templates, generated reports and
    exports, the FHIR R4 API. It reads every domain app; nothing imports it."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Reports"

    def ready(self):
        from reports.fhir import tasks  # noqa: F401  (the worker autodiscovers reports.tasks only)
