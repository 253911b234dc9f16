"""Every route of the messaging app: its pages, and its API under /api/v1/."""

from django.urls import include, path

from messaging.api import MyNotificationViewSet, ThreadViewSet
from messaging.views import notifications, portal, threads

api_patterns = [
    path("patients/<uuid:patient_pk>/threads/", ThreadViewSet.as_view({"get": "list", "post": "create"}),
         name="api_patient_threads"),
    path("patients/<uuid:patient_pk>/threads/<uuid:pk>/", ThreadViewSet.as_view({"get": "retrieve"}),
         name="api_patient_thread"),
    path("patients/<uuid:patient_pk>/threads/<uuid:pk>/messages/",
         ThreadViewSet.as_view({"get": "messages", "post": "messages"}), name="api_thread_messages"),
    path("patients/<uuid:patient_pk>/threads/<uuid:pk>/read/", ThreadViewSet.as_view({"post": "read"}),
         name="api_thread_read"),
    path("patients/<uuid:patient_pk>/threads/<uuid:pk>/messages/<uuid:message_pk>/edit/",
         ThreadViewSet.as_view({"post": "change_message"}), {"how": "edit"}, name="api_thread_message_edit"),
    path("patients/<uuid:patient_pk>/threads/<uuid:pk>/messages/<uuid:message_pk>/delete/",
         ThreadViewSet.as_view({"post": "change_message"}), {"how": "delete"}, name="api_thread_message_delete"),
    path("patients/<uuid:patient_pk>/threads/<uuid:pk>/messages/<uuid:message_pk>/record/",
         ThreadViewSet.as_view({"get": "message_record"}), name="api_thread_message_record"),
    path("me/notifications/", MyNotificationViewSet.as_view({"get": "list"}), name="api_my_notifications"),
    path("me/notifications/read-all/", MyNotificationViewSet.as_view({"post": "read_all"}),
         name="api_my_notifications_read_all"),
    path("me/notifications/<uuid:pk>/read/", MyNotificationViewSet.as_view({"post": "read"}),
         name="api_my_notification_read"),
]

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    # Conversations
    path("messages/", threads.message_inbox, name="message_inbox"),
    path("messages/new/", threads.thread_new, name="message_thread_new"),
    path("messages/attachments/<uuid:attachment_id>/", threads.attachment_download, name="message_attachment"),
    path("messages/m/<uuid:message_id>/edit/", threads.message_edit, name="message_edit"),
    path("messages/m/<uuid:message_id>/delete/", threads.message_delete, name="message_delete"),
    path("messages/m/<uuid:message_id>/record/", threads.message_record, name="message_record"),
    path("messages/<uuid:thread_id>/", threads.message_thread, name="message_thread"),
    path("messages/<uuid:thread_id>/new/", threads.message_poll, name="message_poll"),
    path("messages/<uuid:thread_id>/send/", threads.message_send, name="message_send"),
    path("patients/<uuid:patient_id>/messages/", threads.patient_messages, name="patient_messages"),
    path("portal/messages/", portal.portal_messages, name="portal_messages"),
    path("portal/messages/<uuid:thread_id>/", threads.message_thread, name="portal_message_thread"),
    # Notifications
    path("notifications/", notifications.notification_list, name="notification_list"),
    path("notifications/bell/", notifications.notification_bell, name="notification_bell"),
    path("notifications/read-all/", notifications.notification_read_all, name="notification_read_all"),
    path("notifications/<uuid:pk>/read/", notifications.notification_read, name="notification_read"),
    path("notifications/push/subscribe/", notifications.push_subscribe, name="notification_push_subscribe"),
    path("settings/notifications/", notifications.notification_settings, name="notification_settings"),
    path("portal/notifications/", notifications.portal_notifications, name="portal_notifications"),
]
