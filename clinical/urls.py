"""Every route of the clinical app, pages and API (included once from mahalo/urls.py).

Pages: the triage queue and alert pages (/alerts/...), the chart tabs Vitals, Labs,
Recommendations and RPM (/patients/<uuid>/...), the RPM report (/reports/rpm/), and the
portal pages (/portal/vitals/, /portal/recommendations/). API: /api/v1/ (clinical/api.py).
"""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from clinical import api
from clinical.views import alerts, labs, observations, portal, recommendations, rpm
from mahalo import config
from mahalo.features import feature_patterns

router = SimpleRouter()
router.register("alerts", api.AlertViewSet, basename="alert")
router.register("rules", api.RuleViewSet, basename="rule")

api_patterns = [
    path("patients/<uuid:patient_pk>/observations/",
         api.PatientObservationViewSet.as_view({"get": "list", "post": "create"}), name="api_patient_observations"),
    path("me/observations/", api.MyObservationViewSet.as_view({"get": "list", "post": "create"}),
         name="api_my_observations"),
    path("patients/<uuid:patient_pk>/labs/", api.PatientLabOrderViewSet.as_view({"get": "list"}),
         name="api_patient_labs"),
    path("patients/<uuid:patient_pk>/labs/<uuid:pk>/", api.PatientLabOrderViewSet.as_view({"get": "retrieve"}),
         name="api_patient_lab"),
    path("patients/<uuid:patient_pk>/recommendations/", api.PatientRecommendationViewSet.as_view({"get": "list"}),
         name="api_patient_recommendations"),
    path("me/recommendations/", api.MyRecommendationViewSet.as_view({"get": "list"}), name="api_my_recommendations"),
    *router.urls,
]

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    # The triage queue
    path("alerts/", alerts.alert_queue, name="alert_queue"),
    path("alerts/badge/", alerts.alert_badge, name="alert_badge"),
    path("alerts/bulk/", alerts.alert_bulk, name="alert_bulk"),
    path("alerts/rules/<uuid:rule_id>/dry-run/", alerts.rule_dry_run, name="rule_dry_run"),
    path("alerts/<uuid:alert_id>/", alerts.alert_detail, name="alert_detail"),
    path("alerts/<uuid:alert_id>/<slug:action>/", alerts.alert_action, name="alert_action"),
    # Chart tabs
    path("patients/<uuid:patient_id>/vitals/", observations.patient_vitals, name="patient_vitals"),
    path("patients/<uuid:patient_id>/vitals/<uuid:observation_id>/entered-in-error/",
         observations.observation_entered_in_error, name="observation_entered_in_error"),
    path("patients/<uuid:patient_id>/labs/", labs.patient_labs, name="patient_labs"),
    path("patients/<uuid:patient_id>/recommendations/", recommendations.patient_recommendations,
         name="patient_recommendations"),
    path("patients/<uuid:patient_id>/recommendations/<uuid:recommendation_id>/retire/",
         recommendations.recommendation_retire, name="recommendation_retire"),
    path("patients/<uuid:patient_id>/recommendations/<uuid:recommendation_id>/reinstate/",
         recommendations.recommendation_reinstate, name="recommendation_reinstate"),
    *feature_patterns(config.RPM, [
        path("patients/<uuid:patient_id>/rpm/", rpm.patient_rpm, name="patient_rpm"),
        path("patients/<uuid:patient_id>/rpm/timer/start/", rpm.timer_start, name="rpm_timer_start"),
        path("patients/<uuid:patient_id>/rpm/timer/stop/", rpm.timer_stop, name="rpm_timer_stop"),
        path("patients/<uuid:patient_id>/rpm/timer/discard/", rpm.timer_discard, name="rpm_timer_discard"),
        path("patients/<uuid:patient_id>/rpm/time/", rpm.time_manual, name="rpm_time_manual"),
        path("patients/<uuid:patient_id>/rpm/episodes/", rpm.episode_start, name="rpm_episode_start"),
        path("patients/<uuid:patient_id>/rpm/episodes/<uuid:episode_id>/setup/", rpm.episode_setup,
             name="rpm_episode_setup"),
        path("patients/<uuid:patient_id>/rpm/episodes/<uuid:episode_id>/end/", rpm.episode_end,
             name="rpm_episode_end"),
        path("patients/<uuid:patient_id>/rpm/consent/", rpm.consent_record, name="rpm_consent_record"),
        path("patients/<uuid:patient_id>/rpm/consent/<uuid:consent_id>/withdraw/", rpm.consent_withdraw,
             name="rpm_consent_withdraw"),
        # Reports
        path("reports/rpm/", rpm.rpm_report, name="rpm_report"),
        path("reports/rpm/export.csv", rpm.rpm_report_export, name="rpm_report_export"),
    ]),
    # Portal
    path("portal/vitals/", portal.portal_vitals, name="portal_vitals"),
    path("portal/recommendations/", portal.portal_recommendations, name="portal_recommendations"),
    path("portal/labs/", portal.portal_labs, name="portal_labs"),
]
