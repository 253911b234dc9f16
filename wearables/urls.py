from django.urls import path

from wearables import apple_views, chart_views, oauth_views, portal_views, webhooks

urlpatterns = [
    path("wearables/connect/<slug:provider>/", oauth_views.connect, name="wearables_connect"),
    path("wearables/callback/<slug:provider>/", oauth_views.callback, name="wearables_callback"),
    path("wearables/webhooks/garmin/", webhooks.garmin_webhook, name="wearables_garmin_webhook"),
    path("patients/<uuid:patient_id>/wearables/", chart_views.patient_wearables, name="patient_wearables"),
    path("patients/<uuid:patient_id>/wearables/connections/<uuid:connection_id>/sync/",
         chart_views.connection_sync_now, name="patient_wearables_sync_now"),
    path("portal/devices/", portal_views.portal_devices, name="portal_devices"),
    path("portal/devices/<uuid:connection_id>/disconnect/", portal_views.portal_disconnect,
         name="portal_device_disconnect"),
    path("portal/devices/apple-health/", apple_views.portal_apple_upload, name="portal_apple_health"),
    path("portal/devices/apple-health/<uuid:import_id>/", apple_views.portal_apple_status,
         name="portal_apple_health_status"),
    path("patients/<uuid:patient_id>/wearables/apple-health/", apple_views.staff_apple_health,
         name="staff_apple_health"),
    path("patients/<uuid:patient_id>/wearables/apple-health/<uuid:import_id>/",
         apple_views.staff_apple_health_status, name="staff_apple_health_status"),
]
