"""/fhir/R4/ routes (included from reports/urls.py). Literal paths before the generic <Type>/<id>."""

from django.urls import path

from reports.fhir import views

urlpatterns = [
    path("metadata", views.Metadata.as_view(), name="fhir_metadata"),
    path("$export", views.SystemExport.as_view(), name="fhir_export"),
    path("Patient/$export", views.PatientExport.as_view(), name="fhir_patient_export"),
    path("Group/<uuid:program_id>/$export", views.GroupExport.as_view(), name="fhir_group_export"),
    path("$export-status/<uuid:job_id>", views.ExportStatus.as_view(), name="fhir_export_status"),
    path("$export-file/<uuid:job_id>/<str:file_name>", views.ExportFile.as_view(), name="fhir_export_file"),
    path("Patient/<uuid:patient_id>/$everything", views.Everything.as_view(), name="fhir_everything"),
    path("Patient/<uuid:patient_id>", views.PatientRead.as_view(), name="fhir_patient"),
    path("<str:resource_type>", views.TypeEndpoint.as_view(), name="fhir_type"),
    path("<str:resource_type>/<str:resource_id>", views.ReadEndpoint.as_view(), name="fhir_read"),
]
