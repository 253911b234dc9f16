from django.apps import AppConfig


class NutritionConfig(AppConfig):
    name = "nutrition"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Nutrition"

    def ready(self):
        from django.db.models.signals import post_save

        from mahalo import shell as frame
        from mahalo.celery import app as celery_app
        from mahalo.signals import demo_seeded
        from nutrition import demo, registry, services
        from patients import shell

        # The daily totals nutrition writes as Observations (trends, rules) join clinical's catalogue.
        services.register_metrics()
        shell.register_tab(shell.Tab("nutrition", "Nutrition", 45, "patient_nutrition", "nutrition/tab_nutrition.html",
                                     resource="nutrition", feature=services.FEATURE))
        shell.register_portal_page(shell.PortalPage("nutrition", "Food & fluids", 35, "portal_nutrition",
                                                    feature=services.FEATURE))
        registry.register()
        frame.register_nav(frame.NavItem("Foods", "food_list", "/nutrition/foods/", order=60,
                                         permission=("nutrition", "write"), menu=True, feature=services.FEATURE))
        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="nutrition.demo")
        post_save.connect(demo.on_program_saved, sender="patients.Program", dispatch_uid="nutrition.rules_for_program")
        # Periodic work lives with the app (copied into django-celery-beat's editable schedule).
        celery_app.conf.beat_schedule.setdefault("nutrition-food-log-reminders", {
            "task": "nutrition.send_food_log_reminders", "schedule": 900.0})
