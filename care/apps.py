from django.apps import AppConfig


class CareConfig(AppConfig):
    """Care work (DESIGN.md "Layout"): care plans and tasks, medications and adherence, exercise and
    rehab, goals, sleep logs, daily scores, referrals and excuse notes."""

    name = "care"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Care"
