from django.urls import include, path

from patients import views

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/export.csv", views.patient_export, name="patient_export"),
    path("patients/new/", views.patient_create, name="patient_create"),
    path("patients/<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
    path("patients/<uuid:patient_id>/timeline/", views.patient_timeline, name="patient_timeline"),
    path("patients/<uuid:patient_id>/edit/", views.patient_edit, name="patient_edit"),
    path("patients/<uuid:patient_id>/status/", views.patient_status, name="patient_status"),
    path("", include("patients.import_urls")),
    path("", include("patients.portal_urls")),
]
