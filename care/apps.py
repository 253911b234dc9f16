from django.apps import AppConfig


class CareConfig(AppConfig):
    """Care work (DESIGN.md "Layout"): care plans and tasks, medications and adherence, exercise and
    rehab, goals, sleep logs, daily scores, referrals and excuse notes."""

    name = "care"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Care"

    def ready(self):
        from django.db.models.signals import post_save

        from care import demo
        from care.services import dose_rules
        from care.services import tasks as task_services
        from care.views.portal import today_doses_context
        from clinical import alerting
        from clinical.models import ClinicalRule
        from mahalo import access
        from mahalo import shell as frame
        from mahalo.celery import app as celery_app
        from mahalo.signals import demo_seeded
        from patients import shell

        R = task_services.RESOURCE
        # Missed critical doses reach the rules engine as an observation (care/services/dose_rules.py).
        dose_rules.register_metrics()
        post_save.connect(dose_rules.on_program_saved, sender="patients.Program", dispatch_uid="care.rules_for_program")
        # The rules engine's assign_task makes a real task (clinical can't import care).
        alerting.register_action(ClinicalRule.Action.ASSIGN_TASK, task_services.on_rule_assign_task)

        frame.register_nav(frame.NavItem("Tasks", "task_list", "/tasks/", order=25, permission=(R, "read")))
        frame.register_today(frame.TodayItem("my_tasks", "My open tasks", "task_list", order=15,
                                             permission=(R, "read"), count=task_services.open_count))
        frame.register_today(frame.TodayItem("overdue_tasks", "Overdue tasks", "task_list", order=16,
                                             permission=(R, "read"), count=task_services.overdue_count,
                                             query="?view=mine&due=overdue"))

        def overview_tasks(request, patient):
            return {"care_tasks": {**task_services.patient_task_facts(patient),
                                   "can_add": access.can(request.user, R, "write")}}

        shell.register_overview(shell.Header("tasks", "care/_overview_tasks.html", overview_tasks, order=20))
        shell.register_tab(shell.Tab("medications", "Medications", 42, "patient_medications",
                                     "care/tab_medications.html", resource=R))
        shell.register_tab(shell.Tab("care_plan", "Care plan", 41, "patient_care_plan", "care/tab_care_plan.html",
                                     resource=R))
        shell.register_portal_page(shell.PortalPage("today", "Today", 5, "portal_today"))
        shell.register_portal_today(shell.Header("doses", "care/_today_doses.html", today_doses_context, order=10))

        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="care.demo")
        _register_rehab()
        celery_app.conf.beat_schedule.setdefault("care-generate-doses", {
            "task": "care.generate_doses", "schedule": 3600.0})
        celery_app.conf.beat_schedule.setdefault("care-mark-missed-doses", {
            "task": "care.mark_missed_doses", "schedule": 300.0})
        celery_app.conf.beat_schedule.setdefault("care-notify-due-tasks", {
            "task": "care.notify_due_tasks", "schedule": 300.0})
        # Visit notes, referrals and excuse notes (chart tabs), the patient's documents (portal).
        shell.register_tab(shell.Tab("notes", "Notes", 43, "patient_notes", "care/tab_notes.html", resource=R))
        shell.register_tab(shell.Tab("referrals", "Referrals", 44, "patient_referrals", "care/tab_referrals.html",
                                     resource=R))
        shell.register_portal_page(shell.PortalPage("documents", "Documents", 60, "portal_documents"))
        # The rules engine's suggest_visit makes a real visit request (clinical can't import scheduling).
        from care.services import rule_actions

        alerting.register_action(ClinicalRule.Action.SUGGEST_VISIT, rule_actions.on_rule_suggest_visit)


def _register_rehab() -> None:
    """What rehab registers: its metrics for the rules engine, the device workout matcher on clinical's
    ingest signal, the chart tab, the portal Today sections, the registry column and filter, demo data and
    the beat schedule."""
    from care import demo
    from care import registry as rehab_registry
    from care import tasks as _tasks  # noqa: F401 - registers care.match_workouts, queued by name on ingest
    from care.services import rehab
    from care.services.rehab import RESOURCE as R
    from care.views import rehab_portal
    from clinical.ingest import data_ingested
    from mahalo import config
    from mahalo.celery import app as celery_app
    from mahalo.signals import demo_seeded
    from patients import registry, shell

    rehab.register_metrics()
    data_ingested.connect(rehab.on_data_ingested, dispatch_uid="care.match_workouts")
    shell.register_tab(shell.Tab("rehab", "Rehab", 43, "patient_rehab", "care/tab_rehab.html", resource=R,
                                 feature=config.REHAB))
    shell.register_portal_today(shell.Header("exercise", "care/_today_exercise.html",
                                             rehab_portal.today_exercise_context, order=20))
    shell.register_portal_today(shell.Header("events", "care/_today_events.html",
                                             rehab_portal.today_events_context, order=30))
    shell.register_portal_today(shell.Header("sleep", "care/_today_sleep.html", rehab_portal.today_sleep_context,
                                             order=40))
    shell.register_portal_today(shell.Header("score", "care/_today_score.html", rehab_portal.today_score_context,
                                             order=90))
    for column in rehab_registry.COLUMNS:
        registry.register_column(column)
    for f in rehab_registry.FILTERS:
        registry.register_filter(f)
    demo_seeded.connect(demo.on_demo_seeded_rehab, dispatch_uid="care.rehab_demo")
    celery_app.conf.beat_schedule.setdefault("care-match-workouts", {"task": "care.match_workouts_sweep",
                                                                     "schedule": 3600.0})
    celery_app.conf.beat_schedule.setdefault("care-daily-scores", {"task": "care.daily_scores",
                                                                   "schedule": 6 * 3600.0})
