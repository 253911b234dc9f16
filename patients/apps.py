from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects the password_reset receiver: an invited patient who sets a
        # password through the emailed link has proven the address.
        from patients import invitations  # noqa: F401
