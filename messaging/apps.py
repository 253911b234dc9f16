from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # What the frame and the portal show of messaging (mahalo/shell.py, patients/shell.py).
        from mahalo import events
        from mahalo import shell as frame
        from messaging import portal_home  # noqa: F401 (registers its portal home card)
        from messaging.notify import on_event_raised
        from messaging.threads import unread_count
        from patients import shell

        # Events raised below messaging (patients' care-team requests) are delivered by notify().
        events.event_raised.connect(on_event_raised, dispatch_uid="messaging_notify_events")

        frame.register_nav(frame.NavItem("Messages", "message_inbox", "/messages/", order=40,
                                         permission=("messaging", "read"), badge=unread_count))
        frame.register_nav(frame.NavItem("Messages", "portal_messages", "/portal/messages/", order=40,
                                         audience="patient", badge=unread_count))
        frame.register_today(frame.TodayItem("unread_messages", "Unread messages", "message_inbox", order=30,
                                             permission=("messaging", "read"), count=unread_count,
                                             query="?unread=1"))
        shell.register_portal_page(shell.PortalPage("messages", "Messages", 60, "portal_messages"))
        shell.register_portal_page(shell.PortalPage("notifications", "Notifications", 80, "portal_notifications"))
