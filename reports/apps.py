from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports and interoperability (DESIGN.md "Layout"): report templates, generated reports and
    exports, the FHIR R4 API. It reads every domain app; nothing imports it."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Reports"

    def ready(self):
        # Generated reports, exports, weekly summaries (issue 18).
        from mahalo.celery import app as celery_app
        from patients import shell
        from reports.fhir import tasks  # noqa: F401 - registers the $export task (autodiscovery finds reports.tasks only)
        from reports.sections import builtin  # noqa: F401 - registers the built-in sections

        shell.register_tab(shell.Tab("reports", "Reports", 90, "patient_reports", "reports/tab_reports.html",
                                     resource="reports"))
        shell.register_portal_page(shell.PortalPage("summaries", "Weekly summary", 65, "portal_weekly_summaries"))
        celery_app.conf.beat_schedule.setdefault("reports-requeue-stalled", {
            "task": "reports.requeue_stalled", "schedule": 300.0})
        celery_app.conf.beat_schedule.setdefault("reports-weekly-summaries", {
            "task": "reports.weekly_summaries", "schedule": 3600.0})
