"""Every route of the patients app: the registry and chart, records, bulk import, care teams,
the patient portal's own pages, and the patients API under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from patients.api import MyCareTeamViewSet, PatientCareTeamViewSet, PatientViewSet, ProgramViewSet
from patients.views import care_team, chart, imports, portal, registry

router = SimpleRouter()
router.register("patients", PatientViewSet, basename="patient")
router.register("programs", ProgramViewSet, basename="program")
api_patterns = [
    *router.urls,
    path("patients/<uuid:patient_pk>/care-team/", PatientCareTeamViewSet.as_view({"get": "list"}),
         name="api_patient_care_team"),
    path("me/care-team/", MyCareTeamViewSet.as_view({"get": "list"}), name="api_my_care_team"),
]

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    # Staff: the registry, the chart's own tabs, the record
    path("patients/", registry.patient_list, name="patient_list"),
    path("patients/export.csv", registry.patient_export, name="patient_export"),
    path("patients/search/", registry.patient_search, name="patient_search"),
    path("patients/new/", registry.patient_create, name="patient_create"),
    path("patients/import/", imports.patient_import, name="patient_import"),
    path("patients/import/template.csv", imports.patient_import_template, name="patient_import_template"),
    path("patients/import/<uuid:import_id>/", imports.patient_import_detail, name="patient_import_detail"),
    path("patients/import/<uuid:import_id>/run/", imports.patient_import_run, name="patient_import_run"),
    path("patients/import/<uuid:import_id>/errors.csv", imports.patient_import_errors,
         name="patient_import_errors"),
    path("patients/<uuid:patient_id>/", chart.patient_detail, name="patient_detail"),
    path("patients/<uuid:patient_id>/timeline/", chart.patient_timeline, name="patient_timeline"),
    path("patients/<uuid:patient_id>/edit/", registry.patient_edit, name="patient_edit"),
    path("patients/<uuid:patient_id>/status/", registry.patient_status, name="patient_status"),
    # Staff: a patient's care team and portal invitation (patients:update on that patient).
    path("patients/<uuid:patient_id>/care-team/add/", care_team.care_team_add, name="care_team_add"),
    path("patients/<uuid:patient_id>/care-team/<uuid:link_id>/<slug:action>/", care_team.care_team_act,
         name="care_team_act"),
    path("patients/<uuid:patient_id>/invite/", care_team.patient_invite, name="patient_invite"),
    # Staff: requests addressed to me, answered by me.
    path("care-team/requests/", care_team.care_team_requests, name="care_team_requests"),
    path("care-team/requests/<uuid:link_id>/<slug:action>/", care_team.care_team_respond,
         name="care_team_respond"),
    # The patient portal: the logged-in patient's own record only.
    path("portal/", portal.portal_home, name="portal_home"),
    path("portal/profile/", portal.portal_profile, name="portal_profile"),
    path("portal/care-team/", portal.portal_care_team, name="portal_care_team"),
    path("portal/care-team/<uuid:link_id>/withdraw/", portal.portal_care_team_withdraw,
         name="portal_care_team_withdraw"),
]
