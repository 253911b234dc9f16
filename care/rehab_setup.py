"""What rehab registers (called from CareConfig.ready): its metrics for the rules engine, the device
workout matcher on clinical's ingest signal, the chart tab, the portal Today sections, the registry
column and filter, demo data and the beat schedule. Kept out of apps.py so rehab is one import there."""

from __future__ import annotations


def register() -> None:
    from care import rehab_demo, rehab_registry
    from care import tasks as _tasks  # noqa: F401 - registers care.match_workouts, queued by name on ingest
    from care.services import rehab
    from care.services.rehab import RESOURCE as R
    from care.views import rehab_portal
    from clinical.ingest import data_ingested
    from mahalo.celery import app as celery_app
    from mahalo.signals import demo_seeded
    from patients import registry, shell

    rehab.register_metrics()
    data_ingested.connect(rehab.on_data_ingested, dispatch_uid="care.match_workouts")
    shell.register_tab(shell.Tab("rehab", "Rehab", 43, "patient_rehab", "care/tab_rehab.html", resource=R))
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
    demo_seeded.connect(rehab_demo.on_demo_seeded, dispatch_uid="care.rehab_demo")
    celery_app.conf.beat_schedule.setdefault("care-match-workouts", {"task": "care.match_workouts_sweep",
                                                                     "schedule": 3600.0})
    celery_app.conf.beat_schedule.setdefault("care-daily-scores", {"task": "care.daily_scores",
                                                                   "schedule": 6 * 3600.0})
