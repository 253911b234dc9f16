"""Pages of the vitals, labs and recommendations part of the clinical app (chart tabs and portal)."""

from django.urls import path

from clinical import lab_views, portal_vitals, recommendation_views, vitals_views

urlpatterns = [
    path("patients/<uuid:patient_id>/vitals/", vitals_views.patient_vitals, name="patient_vitals"),
    path("patients/<uuid:patient_id>/vitals/<uuid:observation_id>/entered-in-error/",
         vitals_views.observation_entered_in_error, name="observation_entered_in_error"),
    path("patients/<uuid:patient_id>/labs/", lab_views.patient_labs, name="patient_labs"),
    path("patients/<uuid:patient_id>/recommendations/", recommendation_views.patient_recommendations,
         name="patient_recommendations"),
    path("patients/<uuid:patient_id>/recommendations/<uuid:recommendation_id>/retire/",
         recommendation_views.recommendation_retire, name="recommendation_retire"),
    path("portal/vitals/", portal_vitals.portal_vitals, name="portal_vitals"),
    path("portal/recommendations/", portal_vitals.portal_recommendations, name="portal_recommendations"),
]
