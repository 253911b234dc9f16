from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scheduling"
    verbose_name = "Scheduling and telehealth"

    def ready(self):
        # What the frame, the chart and the portal show of scheduling (mahalo/shell.py, patients/shell.py).
        # Importing scheduling.chart also registers the visits timeline source.
        from mahalo import shell as frame
        from messaging import panels
        from patients import registry, shell
        from scheduling import chart, portal_home, tasks  # noqa: F401 - portal_home registers its card; tasks registers them (calls and telehealth queue by name)

        frame.register_nav(frame.NavItem("Schedule", "schedule", "/schedule/", order=30,
                                         permission=("scheduling", "read")))
        frame.register_today(frame.TodayItem("visits_today", "Visits today", "schedule", order=20,
                                             permission=("scheduling", "read"), count=chart.visits_today,
                                             query="?view=day"))
        registry.register_column(registry.Column("next_visit", "Next appointment", 20, chart.next_visit_cell,
                                                 chart.export_time, annotation=chart.next_visit_annotation))
        shell.register_tab(shell.Tab("visits", "Visits", 30, "patient_visits", "patients/tab_visits.html"))
        shell.register_overview(shell.Header("next_visit", "scheduling/_overview_visit.html",
                                             chart.next_visit_context, order=20))
        from mahalo.signals import demo_seeded
        from scheduling import demo

        demo_seeded.connect(demo.on_demo_seeded_calls, dispatch_uid="scheduling.demo_calls")
        # The video-call panel on every thread page (staff and portal).
        panels.register_thread_panel(panels.ThreadPanel("calls", "scheduling/_call_panel.html", _call_panel,
                                                        order=10))
        shell.register_portal_page(shell.PortalPage("visits", "Visits", 30, "portal_visits",
                                                    also_current=("calendar",)))


def _call_panel(request, thread):
    from mahalo import config
    from scheduling.views.calls import panel_context

    if not config.feature_on(thread.patient.project, config.TELEHEALTH, cache=request.user):
        return None  # video calls are switched off for the tenant: no call panel on threads
    return panel_context(request, thread)
