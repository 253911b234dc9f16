"""The core's own /api/v1/ routes (sign-in tokens, me) and the API root. Each app's API routes
live in that app's urls.py, under path("api/v1/", ...)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from mahalo import api_auth
from mahalo.api import me

# No viewsets here: the router only serves the browsable API root at /api/v1/.
router = DefaultRouter()

urlpatterns = [
    path("auth/token/", api_auth.token_obtain, name="api_token"),
    path("auth/token/refresh/", api_auth.token_refresh, name="api_token_refresh"),
    path("auth/token/revoke/", api_auth.token_revoke, name="api_token_revoke"),
    path("me/", me, name="api_me"),
    *router.urls,
]
