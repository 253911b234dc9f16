"""Reports's routes: pages, and its /api/v1/ routes (included once from mahalo/urls.py)."""

from django.urls import include, path

from reports import views

api_patterns = []

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    path("fhir/R4/", include("reports.fhir.urls")),
]

# Generated reports, exports and share links, weekly summaries (issue 18).
P = "patients/<uuid:patient_id>/reports/"
urlpatterns += [
    path(P, views.patient_reports, name="patient_reports"),
    path(P + "<uuid:report_id>/", views.report_detail, name="report_detail"),
    path(P + "<uuid:report_id>/status/", views.report_status, name="report_status"),
    path(P + "<uuid:report_id>/pdf/", views.report_pdf, name="report_pdf"),
    path(P + "<uuid:report_id>/email/", views.report_email, name="report_email"),
    path(P + "<uuid:report_id>/share/", views.report_share_create, name="report_share_create"),
    path(P + "<uuid:report_id>/exports/<uuid:export_id>/revoke/", views.report_export_revoke,
         name="report_export_revoke"),
    # Public: the token is the key (no login); every open is audited.
    path("share/reports/<str:token>/", views.report_share, name="report_share"),
    path("share/reports/<str:token>/pdf/", views.report_share_pdf, name="report_share_pdf"),
    path("portal/summaries/", views.portal_weekly_summaries, name="portal_weekly_summaries"),
    path("portal/summaries/<uuid:summary_id>/", views.portal_weekly_summary, name="portal_weekly_summary"),
]
