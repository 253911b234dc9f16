from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from mahalo import views

admin.site.site_header = "Mahalo Health administration"
admin.site.site_title = "Mahalo Health admin"
admin.site.index_title = "Tenants, programs, roles and settings"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("program/switch/", views.switch_program, name="switch_program"),
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("mahalo.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("", include("patients.urls")),
    path("", include("messaging.urls")),
    path("", include("scheduling.urls")),
    path("", include("wearables.urls")),
    path("", include("clinical.urls")),
    path("", include("nutrition.urls")),
    path("", include("assessments.urls")),
    path("", include("care.urls")),
    path("", include("reports.urls")),
]
