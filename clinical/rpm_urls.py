"""RPM billing URLs: the chart's RPM tab and its actions, and the monthly report."""

from django.urls import path

from clinical import rpm_views

urlpatterns = [
    path("patients/<uuid:patient_id>/rpm/", rpm_views.patient_rpm, name="patient_rpm"),
    path("patients/<uuid:patient_id>/rpm/timer/start/", rpm_views.timer_start, name="rpm_timer_start"),
    path("patients/<uuid:patient_id>/rpm/timer/stop/", rpm_views.timer_stop, name="rpm_timer_stop"),
    path("patients/<uuid:patient_id>/rpm/timer/discard/", rpm_views.timer_discard, name="rpm_timer_discard"),
    path("patients/<uuid:patient_id>/rpm/time/", rpm_views.time_manual, name="rpm_time_manual"),
    path("patients/<uuid:patient_id>/rpm/episodes/", rpm_views.episode_start, name="rpm_episode_start"),
    path("patients/<uuid:patient_id>/rpm/episodes/<uuid:episode_id>/setup/", rpm_views.episode_setup,
         name="rpm_episode_setup"),
    path("patients/<uuid:patient_id>/rpm/episodes/<uuid:episode_id>/end/", rpm_views.episode_end,
         name="rpm_episode_end"),
    path("reports/rpm/", rpm_views.rpm_report, name="rpm_report"),
    path("reports/rpm/export.csv", rpm_views.rpm_report_export, name="rpm_report_export"),
]
