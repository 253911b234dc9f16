"""Reports's routes: pages, and its /api/v1/ routes (included once from mahalo/urls.py)."""

from django.urls import include, path

api_patterns = []

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    path("fhir/R4/", include("reports.fhir.urls")),
]
