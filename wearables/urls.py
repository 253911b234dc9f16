from django.urls import path

from wearables import oauth_views, portal_views, webhooks

urlpatterns = [
    path("wearables/connect/<slug:provider>/", oauth_views.connect, name="wearables_connect"),
    path("wearables/callback/<slug:provider>/", oauth_views.callback, name="wearables_callback"),
    path("wearables/webhooks/garmin/", webhooks.garmin_webhook, name="wearables_garmin_webhook"),
    path("portal/devices/", portal_views.portal_devices, name="portal_devices"),
    path("portal/devices/<uuid:connection_id>/disconnect/", portal_views.portal_disconnect,
         name="portal_device_disconnect"),
]
