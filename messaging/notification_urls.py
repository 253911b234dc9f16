from django.urls import path

from messaging import notification_views as views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("notifications/<uuid:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/push/subscribe/", views.push_subscribe, name="notification_push_subscribe"),
    path("settings/notifications/", views.notification_settings, name="notification_settings"),
    path("portal/notifications/", views.portal_notifications, name="portal_notifications"),
]
