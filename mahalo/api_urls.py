"""Every /api/v1/ route, one router. Apps register their viewsets here."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from mahalo import api_auth
from mahalo.api import me
from patients.api import PatientViewSet

router = DefaultRouter()
router.register("patients", PatientViewSet, basename="patient")

urlpatterns = [
    path("auth/token/", api_auth.token_obtain, name="api_token"),
    path("auth/token/refresh/", api_auth.token_refresh, name="api_token_refresh"),
    path("auth/token/revoke/", api_auth.token_revoke, name="api_token_revoke"),
    path("me/", me, name="api_me"),
    path("", include("clinical.api_urls")),
    *router.urls,
]
