"""What the wellness check-ins register (called once from AssessmentsConfig.ready())."""

from __future__ import annotations


def register() -> None:
    from django.db.models.signals import post_save

    from assessments.wellness import admin, demo, services, tasks  # noqa: F401 - admin, tasks: register themselves
    from clinical.units import register_metric
    from mahalo import config
    from mahalo.signals import demo_seeded
    from patients import shell

    register_metric(services.METRIC, "Wellness check-in: probability worse than usual", "%", pint_unit="percent")
    post_save.connect(services.on_phq9, sender="assessments.Response", dispatch_uid="assessments.wellness_phq9")
    demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="assessments.wellness_demo")
    shell.register_portal_page(shell.PortalPage("wellness", "Check-in", 44, "portal_wellness",
                                                feature=config.WELLNESS))
