"""Pages of the triage queue (/alerts/), included from mahalo/urls.py."""

from django.urls import path

from clinical import alert_views

urlpatterns = [
    path("alerts/", alert_views.alert_queue, name="alert_queue"),
    path("alerts/badge/", alert_views.alert_badge, name="alert_badge"),
    path("alerts/bulk/", alert_views.alert_bulk, name="alert_bulk"),
    path("alerts/rules/<uuid:rule_id>/dry-run/", alert_views.rule_dry_run, name="rule_dry_run"),
    path("alerts/<uuid:alert_id>/", alert_views.alert_detail, name="alert_detail"),
    path("alerts/<uuid:alert_id>/<slug:action>/", alert_views.alert_action, name="alert_action"),
]
