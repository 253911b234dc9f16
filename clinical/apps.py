from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_save

        from clinical import tasks, triggers  # noqa: F401 - tasks: registers them (triggers queues by name)
        from clinical.ingest import data_ingested

        # Rules run after every ingest and for every new program's defaults (clinical/triggers.py).
        data_ingested.connect(triggers.on_data_ingested, dispatch_uid="clinical.evaluate_after_ingest")
        post_save.connect(triggers.on_program_saved, sender="patients.Program",
                          dispatch_uid="clinical.default_rules_for_new_program")
        # Timeline sources: alerts, recommendations and lab orders (registered on import).
        from clinical import (
            chart,  # noqa: F401
            portal_home,  # noqa: F401 (registers its portal home cards)
        )

        self.register_pages()
        from clinical.alert_actions import register_defaults

        register_defaults()  # the alert page's next steps (clinical/alert_actions.py)

    @staticmethod
    def register_pages():
        """What the frame, the chart and the portal show of clinical (mahalo/shell.py, patients/shell.py)."""
        from clinical.alerting import open_alert_count
        from clinical.chart import (
            chart_alerts_context,
            chart_glance_context,
            has_open_alerts,
            open_alerts_annotation,
            open_alerts_cell,
        )
        from mahalo import config
        from mahalo import shell as frame
        from patients import registry, shell

        frame.register_nav(frame.NavItem("Alerts", "alert_queue", "/alerts/", order=20,
                                         permission=("clinical", "read"), badge=open_alert_count,
                                         badge_template="clinical/_alert_badge.html"))
        frame.register_nav(frame.NavItem("Reports", "rpm_report", "/reports/", order=70,
                                         permission=("reports", "read"), feature=config.RPM))
        frame.register_today(frame.TodayItem("open_alerts", "Open alerts", "alert_queue", order=10,
                                             permission=("clinical", "read"), count=open_alert_count))
        registry.register_column(registry.Column("alerts", "Open alerts", 10, open_alerts_cell, lambda n: n or 0,
                                                 annotation=open_alerts_annotation))
        registry.register_filter(registry.Filter("alerts", "Alerts", (("open", "Has open alerts"),),
                                                 has_open_alerts))
        shell.register_header(shell.Header("glance", "clinical/_chart_glance.html", chart_glance_context, order=10))
        shell.register_header(shell.Header("alerts", "clinical/_chart_alerts.html", chart_alerts_context))
        shell.register_overview(shell.Header("alerts", "clinical/_overview_alerts.html", chart_alerts_context,
                                             order=10))
        shell.register_tab(shell.Tab("vitals", "Vitals", 40, "patient_vitals", "patients/tab_vitals.html",
                                     resource="clinical"))
        shell.register_tab(shell.Tab("labs", "Labs", 50, "patient_labs", "clinical/tab_labs.html",
                                     resource="clinical"))
        shell.register_tab(shell.Tab("recommendations", "Recommendations", 60, "patient_recommendations",
                                     "clinical/tab_recommendations.html", resource="clinical"))
        shell.register_tab(shell.Tab("rpm", "RPM", 70, "patient_rpm", "clinical/tab_rpm.html", resource="clinical",
                                     feature=config.RPM))
        shell.register_portal_page(shell.PortalPage("vitals", "My readings", 40, "portal_vitals"))
        shell.register_portal_page(shell.PortalPage("recommendations", "Recommendations", 50,
                                                    "portal_recommendations"))
        shell.register_portal_page(shell.PortalPage("labs", "Lab results", 45, "portal_labs"))
