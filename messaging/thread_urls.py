from django.urls import path

from messaging import thread_views as v

urlpatterns = [
    path("messages/", v.message_inbox, name="message_inbox"),
    path("messages/new/", v.thread_new, name="message_thread_new"),
    path("messages/attachments/<uuid:attachment_id>/", v.attachment_download, name="message_attachment"),
    path("messages/m/<uuid:message_id>/edit/", v.message_edit, name="message_edit"),
    path("messages/m/<uuid:message_id>/delete/", v.message_delete, name="message_delete"),
    path("messages/m/<uuid:message_id>/record/", v.message_record, name="message_record"),
    path("messages/<uuid:thread_id>/", v.message_thread, name="message_thread"),
    path("messages/<uuid:thread_id>/new/", v.message_poll, name="message_poll"),
    path("messages/<uuid:thread_id>/send/", v.message_send, name="message_send"),
    path("patients/<uuid:patient_id>/messages/", v.patient_messages, name="patient_messages"),
    path("portal/messages/", v.portal_messages, name="portal_messages"),
    path("portal/messages/<uuid:thread_id>/", v.message_thread, name="portal_message_thread"),
]
