"""Every /api/v1/ route, one router. Apps register their viewsets here."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from mahalo.api import me
from patients.api import PatientViewSet

router = DefaultRouter()
router.register("patients", PatientViewSet, basename="patient")

urlpatterns = [path("me/", me, name="api_me"), path("", include("messaging.api")), *router.urls]
