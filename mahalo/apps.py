from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MahaloConfig(AppConfig):
    name = "mahalo"
    verbose_name = "Mahalo core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from mahalo import audit, checks  # noqa: F401 - registers the deploy checks

        audit.connect_axes()
        from mahalo import credentials

        credentials.connect()
        from mahalo import db

        # Fresh tables and indexes get planner statistics at once (issue 20).
        post_migrate.connect(db.after_migrate, dispatch_uid="mahalo.db.after_migrate")
