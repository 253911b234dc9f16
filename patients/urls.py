from django.urls import path

from patients import views

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
    path("portal/", views.portal_home, name="portal_home"),
]
