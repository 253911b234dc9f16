"""Every route of the scheduling app: staff pages, the portal's, the private feed, and the
API under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from mahalo import config
from mahalo.features import feature_patterns, feature_required
from scheduling.api import CallViewSet, MyCalendarEventViewSet, VisitRequestViewSet, VisitViewSet, slot_search
from scheduling.views import availability, calls, feeds, portal, requests, schedule, visits

router = SimpleRouter()
router.register("scheduling/visits", VisitViewSet, basename="scheduling-visit")
router.register("scheduling/visit-requests", VisitRequestViewSet, basename="scheduling-visit-request")
router.register("scheduling/calls", CallViewSet, basename="scheduling-call")

api_patterns = [
    path("scheduling/slots/", slot_search, name="api_scheduling_slots"),
    path("calendar/events/", MyCalendarEventViewSet.as_view({"get": "list"}), name="api_my_calendar_events"),
    path("calendar/events/<uuid:pk>/", MyCalendarEventViewSet.as_view({"get": "retrieve"}),
         name="api_my_calendar_event"),
    *router.urls,
]

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    path("patients/<uuid:patient_id>/visits/", schedule.patient_visits, name="patient_visits"),
    # Staff
    path("schedule/", schedule.schedule, name="schedule"),
    path("schedule/book/", visits.book, name="schedule_book"),
    path("schedule/visits/<uuid:visit_id>/", visits.visit_detail, name="schedule_visit"),
    path("schedule/visits/<uuid:visit_id>/status/", visits.visit_transition, name="schedule_visit_status"),
    path("schedule/visits/<uuid:visit_id>/cancel/", visits.visit_cancel, name="schedule_visit_cancel"),
    path("schedule/visits/<uuid:visit_id>/reschedule/", visits.visit_reschedule, name="schedule_visit_reschedule"),
    path("schedule/visits/<uuid:visit_id>/join/", feature_required(config.TELEHEALTH)(visits.visit_join),
         name="schedule_visit_join"),
    path("schedule/visits/<uuid:visit_id>/end-call/", feature_required(config.TELEHEALTH)(visits.visit_end_call),
         name="schedule_visit_end_call"),
    path("schedule/visits/<uuid:visit_id>/recording/", visits.visit_recording, name="schedule_visit_recording"),
    path("schedule/requests/", requests.request_queue, name="schedule_requests"),
    path("schedule/requests/<uuid:request_id>/", requests.request_detail, name="schedule_request"),
    path("schedule/requests/<uuid:request_id>/<slug:action>/", requests.request_act, name="schedule_request_act"),
    path("schedule/availability/", availability.availability, name="schedule_availability"),
    path("schedule/availability/block/", availability.block_time, name="schedule_block_time"),
    path("schedule/availability/blocked/<uuid:slot_id>/unblock/", availability.unblock_time,
         name="schedule_unblock_time"),
    path("schedule/availability/<uuid:availability_id>/<slug:action>/", availability.availability_act,
         name="schedule_availability_act"),
    path("schedule/feeds/", feeds.staff_feeds, name="schedule_feeds"),
    # The private iCalendar feed (token in the URL, no session).
    path("calendar/feed/<str:token>.ics", feeds.ics_feed, name="calendar_feed"),
    # Video calls from a message thread (both audiences; the service decides who may do what)
    *feature_patterns(config.TELEHEALTH, [
        path("calls/thread/<uuid:thread_id>/new/", calls.call_new, name="call_new"),
        path("calls/thread/<uuid:thread_id>/panel/", calls.thread_panel, name="call_thread_panel"),
        path("calls/<uuid:call_id>/", calls.call_detail, name="call_detail"),
        path("calls/<uuid:call_id>/<slug:action>/", calls.call_act, name="call_act"),
        path("portal/calls/<uuid:call_id>/", calls.portal_call, name="portal_call"),
    ]),
    # Patient portal
    path("portal/visits/", portal.my_visits, name="portal_visits"),
    path("portal/visits/request/", portal.request_visit, name="portal_request_visit"),
    path("portal/visits/book/", portal.self_book, name="portal_book"),
    path("portal/visits/<uuid:visit_id>/", portal.visit_page, name="portal_visit"),
    path("portal/visits/<uuid:visit_id>/cancel/", portal.visit_cancel, name="portal_visit_cancel"),
    path("portal/visits/<uuid:visit_id>/waiting-room/", portal.waiting_room, name="portal_waiting_room"),
    path("portal/visits/<uuid:visit_id>/join/", feature_required(config.TELEHEALTH)(portal.visit_join),
         name="portal_visit_join"),
    path("portal/requests/<uuid:request_id>/<slug:action>/", portal.request_act, name="portal_request_act"),
    path("portal/calendar/", portal.my_calendar, name="portal_calendar"),
    path("portal/calendar/events/<uuid:event_id>/<slug:action>/", portal.event_act, name="portal_event_act"),
    path("portal/calendar/feeds/", portal.my_feeds, name="portal_feeds"),
]
