"""Celery tasks of nutrition. Thin: the services do the work."""

from celery import shared_task


@shared_task(name="nutrition.send_food_log_reminders")
def send_food_log_reminders() -> int:
    """Beat (every 15 min): remind patients who logged no meal today, once a day each."""
    from nutrition import services

    return services.send_food_log_reminders()
