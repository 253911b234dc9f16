"""Every route of the wearables app: the chart tab, the portal's devices, OAuth connect, the
Garmin push receiver, and the API under /api/v1/."""

from django.urls import include, path

from wearables import api
from wearables.views import apple, chart, oauth, portal, webhooks

api_patterns = [
    path("me/device-readings/", api.my_device_readings, name="api_my_device_readings"),
    path("patients/<uuid:patient_id>/device-readings/", api.patient_device_readings,
         name="api_patient_device_readings"),
    path("patients/<uuid:patient_pk>/wearables/connections/", api.PatientConnectionViewSet.as_view({"get": "list"}),
         name="api_patient_wearable_connections"),
    path("me/wearables/connections/", api.MyConnectionViewSet.as_view({"get": "list"}),
         name="api_my_wearable_connections"),
    path("patients/<uuid:patient_pk>/daily-metrics/", api.PatientDailyMetricViewSet.as_view({"get": "list"}),
         name="api_patient_daily_metrics"),
    path("me/daily-metrics/", api.MyDailyMetricViewSet.as_view({"get": "list"}), name="api_my_daily_metrics"),
]

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    path("wearables/connect/<slug:provider>/", oauth.connect, name="wearables_connect"),
    path("wearables/callback/<slug:provider>/", oauth.callback, name="wearables_callback"),
    path("wearables/webhooks/garmin/", webhooks.garmin_webhook, name="wearables_garmin_webhook"),
    path("patients/<uuid:patient_id>/wearables/", chart.patient_wearables, name="patient_wearables"),
    path("patients/<uuid:patient_id>/wearables/connections/<uuid:connection_id>/sync/",
         chart.connection_sync_now, name="patient_wearables_sync_now"),
    path("portal/devices/", portal.portal_devices, name="portal_devices"),
    path("portal/devices/<uuid:connection_id>/disconnect/", portal.portal_disconnect,
         name="portal_device_disconnect"),
    path("portal/devices/apple-health/", portal.portal_apple_upload, name="portal_apple_health"),
    path("portal/devices/apple-health/<uuid:import_id>/", portal.portal_apple_status,
         name="portal_apple_health_status"),
    path("patients/<uuid:patient_id>/wearables/apple-health/", apple.staff_apple_health,
         name="staff_apple_health"),
    path("patients/<uuid:patient_id>/wearables/apple-health/<uuid:import_id>/",
         apple.staff_apple_health_status, name="staff_apple_health_status"),
]
