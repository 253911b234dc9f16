from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_save

        from clinical import triggers
        from wearables.ingest import data_ingested

        # Rules run after every ingest and for every new program's defaults (clinical/triggers.py).
        data_ingested.connect(triggers.on_data_ingested, dispatch_uid="clinical.evaluate_after_ingest")
        post_save.connect(triggers.on_program_saved, sender="patients.Program",
                          dispatch_uid="clinical.default_rules_for_new_program")
        # Timeline sources: recommendations and lab orders (registered on import).
        from clinical import recommendations  # noqa: F401
