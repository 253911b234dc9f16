from django.urls import path

from scheduling import manage_views, portal_views, views

urlpatterns = [
    path("patients/<uuid:patient_id>/visits/", views.patient_visits, name="patient_visits"),
    # Staff
    path("schedule/", views.schedule, name="schedule"),
    path("schedule/book/", views.book, name="schedule_book"),
    path("schedule/visits/<uuid:visit_id>/", views.visit_detail, name="schedule_visit"),
    path("schedule/visits/<uuid:visit_id>/status/", views.visit_transition, name="schedule_visit_status"),
    path("schedule/visits/<uuid:visit_id>/cancel/", views.visit_cancel, name="schedule_visit_cancel"),
    path("schedule/visits/<uuid:visit_id>/reschedule/", views.visit_reschedule, name="schedule_visit_reschedule"),
    path("schedule/visits/<uuid:visit_id>/join/", views.visit_join, name="schedule_visit_join"),
    path("schedule/visits/<uuid:visit_id>/end-call/", views.visit_end_call, name="schedule_visit_end_call"),
    path("schedule/visits/<uuid:visit_id>/recording/", views.visit_recording, name="schedule_visit_recording"),
    path("schedule/requests/", manage_views.request_queue, name="schedule_requests"),
    path("schedule/requests/<uuid:request_id>/", manage_views.request_detail, name="schedule_request"),
    path("schedule/requests/<uuid:request_id>/<slug:action>/", manage_views.request_act,
         name="schedule_request_act"),
    path("schedule/availability/", manage_views.availability, name="schedule_availability"),
    path("schedule/availability/block/", manage_views.block_time, name="schedule_block_time"),
    path("schedule/availability/blocked/<uuid:slot_id>/unblock/", manage_views.unblock_time,
         name="schedule_unblock_time"),
    path("schedule/availability/<uuid:availability_id>/<slug:action>/", manage_views.availability_act,
         name="schedule_availability_act"),
    path("schedule/feeds/", manage_views.staff_feeds, name="schedule_feeds"),
    # The private iCalendar feed (token in the URL, no session).
    path("calendar/feed/<str:token>.ics", manage_views.ics_feed, name="calendar_feed"),
    # Patient portal
    path("portal/visits/", portal_views.my_visits, name="portal_visits"),
    path("portal/visits/request/", portal_views.request_visit, name="portal_request_visit"),
    path("portal/visits/book/", portal_views.self_book, name="portal_book"),
    path("portal/visits/<uuid:visit_id>/", portal_views.visit_page, name="portal_visit"),
    path("portal/visits/<uuid:visit_id>/cancel/", portal_views.visit_cancel, name="portal_visit_cancel"),
    path("portal/visits/<uuid:visit_id>/waiting-room/", portal_views.waiting_room, name="portal_waiting_room"),
    path("portal/visits/<uuid:visit_id>/join/", portal_views.visit_join, name="portal_visit_join"),
    path("portal/requests/<uuid:request_id>/<slug:action>/", portal_views.request_act, name="portal_request_act"),
    path("portal/calendar/", portal_views.my_calendar, name="portal_calendar"),
    path("portal/calendar/events/<uuid:event_id>/<slug:action>/", portal_views.event_act,
         name="portal_event_act"),
    path("portal/calendar/feeds/", portal_views.my_feeds, name="portal_feeds"),
]
