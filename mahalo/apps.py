from django.apps import AppConfig


class MahaloConfig(AppConfig):
    name = "mahalo"
    verbose_name = "Mahalo core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from mahalo import audit, checks  # noqa: F401 - registers the deploy checks

        audit.connect_axes()
        from mahalo import credentials

        credentials.connect()
