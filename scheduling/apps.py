from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scheduling"
    verbose_name = "Scheduling and telehealth"

    def ready(self):
        # Visits appear on the patient's chart timeline.
        from scheduling import chart  # noqa: F401
