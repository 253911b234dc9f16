"""Private calendar feeds: the staff and portal pages that create and revoke them (one shared
view body), and the feed itself (/calendar/feed/<token>.ics: the token is the credential)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from mahalo import access, audit
from mahalo.decorators import staff_required
from scheduling import calendars, ical
from scheduling.views.common import uuid_or_404


def feeds_page(request, template: str, *, extra: dict | None = None) -> HttpResponse:
    new_url = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            _, token = calendars.feed_create(user=request.user, label=request.POST.get("label", ""))
            new_url = request.build_absolute_uri(f"/calendar/feed/{token}.ics")
        elif action == "revoke":
            feed = request.user.calendar_feeds.filter(pk=uuid_or_404(request.POST.get("feed"))).first()
            if feed is None:
                raise Http404
            calendars.feed_revoke(feed=feed, user=request.user)
            messages.success(request, "Feed revoked: calendar apps using it stop updating.")
            return redirect(request.path)
        else:
            raise Http404
    feeds = list(request.user.calendar_feeds.all())
    return render(request, template, {"feeds": feeds, "new_url": new_url, **(extra or {})})


@staff_required
def staff_feeds(request: HttpRequest) -> HttpResponse:
    if not access.can(request.user, "scheduling", "read") or access.staff_of(request.user) is None:
        raise Http404
    return feeds_page(request, "scheduling/feeds.html")


def ics_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private feed. No session: the token is the credential (revocable)."""
    feed = calendars.feed_lookup(token)
    if feed is None:
        raise Http404
    body = ical.feed_for(feed.user)
    type(feed).objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
    audit.record(request=request, actor=feed.user, action="export", resource="scheduling",
                 metadata={"what": "calendar_feed", "feed": str(feed.pk)})
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="mahalo.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response

