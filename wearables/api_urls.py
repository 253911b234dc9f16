"""/api/v1/ routes of the wearables app (included from mahalo/api_urls.py)."""

from django.urls import path  # noqa: F401 - helpers below append their routes

from wearables import api as device_api

urlpatterns: list = [
    path("me/device-readings/", device_api.my_device_readings, name="api_my_device_readings"),
    path("patients/<uuid:patient_id>/device-readings/", device_api.patient_device_readings,
         name="api_patient_device_readings"),
]
