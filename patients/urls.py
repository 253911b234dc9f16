from django.urls import include, path

from patients import views

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
    path("", include("patients.import_urls")),
    path("", include("patients.portal_urls")),
]
