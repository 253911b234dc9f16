"""/api/v1/ routes of the clinical app (included once from mahalo/api_urls.py).
Each part of the clinical app appends its own routes here."""

from django.urls import path

from clinical import observations_api

urlpatterns: list = [
    path("patients/<uuid:patient_pk>/observations/",
         observations_api.PatientObservationViewSet.as_view({"get": "list", "post": "create"}),
         name="api_patient_observations"),
    path("me/observations/", observations_api.MyObservationViewSet.as_view({"get": "list", "post": "create"}),
         name="api_my_observations"),
]

# Alerts (the rules engine and triage queue): /api/v1/alerts/...
from rest_framework.routers import SimpleRouter  # noqa: E402

from clinical.alert_api import AlertViewSet  # noqa: E402

_alerts = SimpleRouter()
_alerts.register("alerts", AlertViewSet, basename="alert")
urlpatterns += _alerts.urls
