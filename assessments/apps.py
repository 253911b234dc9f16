from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "assessments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_save

        from assessments import demo, signals
        from assessments.wellness import setup as wellness_setup
        from mahalo.signals import demo_seeded

        # Every tenant starts with PHQ-9, PHQ-2 and GAD-7 (load_questionnaires does it for existing ones).
        post_save.connect(signals.on_project_saved, sender="mahalo.Project",
                          dispatch_uid="assessments.builtins_for_new_project")
        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="assessments.demo")
        self.register_pages()
        wellness_setup.register()  # mental-wellness check-ins (issue 15)

    @staticmethod
    def register_pages():
        from mahalo import config
        from patients import shell

        shell.register_tab(shell.Tab("assessments", "Assessments", 55, "patient_assessments",
                                     "assessments/tab_assessments.html", resource="clinical"))
        shell.register_portal_page(shell.PortalPage("questionnaires", "Questionnaires", 45, "portal_questionnaires",
                                                    feature=config.QUESTIONNAIRES))
