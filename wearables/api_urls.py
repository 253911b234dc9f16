"""/api/v1/ routes of the wearables app (included from mahalo/api_urls.py)."""

from django.urls import path  # noqa: F401 - helpers below append their routes

urlpatterns: list = []
