"""Seeing the thing reads its notification (issue 21 item 7).

A notification links to what it is about (a thread, an alert, a visit, a chart). When its
recipient opens that page - however they got there: the bell, the inbox, the queue, a link
in an e-mail - their unseen in-app notifications pointing at exactly that page are marked
seen, so the centre never keeps "New" on something already read. One UPDATE on the
(recipient, channel, seen_at) index, only for successful full-page GETs of a signed-in user
(not the API: an app's read is not "opening the page"; a chart tab switched by HTMX is).
"""

from __future__ import annotations

from messaging.notifications import mark_seen_for_path


class NotificationSeenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (request.method == "GET" and response.status_code == 200 and user is not None
                and user.is_authenticated and not request.path.startswith("/api/")):
            mark_seen_for_path(user=user, path=request.path)
        return response
