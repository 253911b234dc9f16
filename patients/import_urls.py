from django.urls import path

from patients import import_views

urlpatterns = [
    path("patients/import/", import_views.patient_import, name="patient_import"),
    path("patients/import/template.csv", import_views.patient_import_template, name="patient_import_template"),
    path("patients/import/<uuid:import_id>/", import_views.patient_import_detail, name="patient_import_detail"),
    path("patients/import/<uuid:import_id>/run/", import_views.patient_import_run, name="patient_import_run"),
    path("patients/import/<uuid:import_id>/errors.csv", import_views.patient_import_errors,
         name="patient_import_errors"),
]
