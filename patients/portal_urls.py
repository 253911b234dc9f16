from django.urls import path

from patients import care_team_views, portal_views

urlpatterns = [
    # The patient portal: the logged-in patient's own record only.
    path("portal/", portal_views.portal_home, name="portal_home"),
    path("portal/profile/", portal_views.portal_profile, name="portal_profile"),
    path("portal/care-team/", portal_views.portal_care_team, name="portal_care_team"),
    path("portal/care-team/<uuid:link_id>/withdraw/", portal_views.portal_care_team_withdraw,
         name="portal_care_team_withdraw"),
    # Staff: a patient's care team and portal invitation (patients:update on that patient).
    path("patients/<uuid:patient_id>/care-team/add/", care_team_views.care_team_add, name="care_team_add"),
    path("patients/<uuid:patient_id>/care-team/<uuid:link_id>/<slug:action>/", care_team_views.care_team_act,
         name="care_team_act"),
    path("patients/<uuid:patient_id>/invite/", care_team_views.patient_invite, name="patient_invite"),
    # Staff: requests addressed to me, answered by me.
    path("care-team/requests/", care_team_views.care_team_requests, name="care_team_requests"),
    path("care-team/requests/<uuid:link_id>/<slug:action>/", care_team_views.care_team_respond,
         name="care_team_respond"),
]
