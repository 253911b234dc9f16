from django.urls import include, path

from assessments.wellness import api, views
from mahalo import config
from mahalo.features import feature_patterns

api_patterns = feature_patterns(config.WELLNESS, [
    path("me/wellness-sessions/", api.MySessionViewSet.as_view({"get": "list", "post": "create"}),
         name="api_my_wellness_sessions"),
    path("me/wellness-sessions/<uuid:pk>/", api.MySessionViewSet.as_view({"get": "retrieve"}),
         name="api_my_wellness_session"),
    path("me/wellness-preferences/", api.MyPreferenceViewSet.as_view({"get": "show", "post": "change"}),
         name="api_my_wellness_preferences"),
    path("patients/<uuid:patient_pk>/wellness-sessions/", api.PatientSessionViewSet.as_view({"get": "list"}),
         name="api_patient_wellness_sessions"),
    path("patients/<uuid:patient_pk>/wellness-sessions/<uuid:pk>/",
         api.PatientSessionViewSet.as_view({"get": "retrieve"}), name="api_patient_wellness_session"),
])

urlpatterns = feature_patterns(config.WELLNESS, [
    path("api/v1/", include(api_patterns)),
    path("patients/<uuid:patient_id>/assessments/wellness/", views.chart_section, name="patient_wellness"),
    path("portal/wellness/", views.portal_checkin, name="portal_wellness"),
    path("portal/wellness/settings/", views.portal_settings, name="portal_wellness_settings"),
    path("portal/wellness/<uuid:session_id>/", views.portal_session, name="portal_wellness_session"),
])
