"""What messaging adds to the portal's home page: unread messages from the care team."""

from __future__ import annotations

from messaging import threads
from patients import shell

SHOWN = 3


def unread_section(request, patient) -> dict:
    rows = [t for t in threads.with_inbox_fields(threads.threads_for(request.user), request.user)
            .filter(unread__gt=0).order_by("-last_message_at")[:SHOWN]]
    return {"count": threads.unread_count(request.user), "threads": rows}


shell.register_portal_section(shell.PortalSection("messages", 30, "messaging/_portal_home_messages.html",
                                                  unread_section))
