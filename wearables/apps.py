from django.apps import AppConfig


class WearablesConfig(AppConfig):
    name = "wearables"
    default_auto_field = "django.db.models.BigAutoField"
