from django.urls import include, path

from assessments import api, views
from mahalo import config
from mahalo.features import feature_patterns

api_patterns = feature_patterns(config.QUESTIONNAIRES, [
    path("questionnaires/", api.QuestionnaireViewSet.as_view({"get": "list"}), name="api_questionnaires"),
    path("questionnaires/import/", api.QuestionnaireViewSet.as_view({"post": "fhir_import"}),
         name="api_questionnaire_import"),
    path("questionnaires/<uuid:pk>/", api.QuestionnaireViewSet.as_view({"get": "retrieve"}),
         name="api_questionnaire"),
    path("questionnaires/<uuid:pk>/fhir/", api.QuestionnaireViewSet.as_view({"get": "fhir_export"}),
         name="api_questionnaire_fhir"),
    path("patients/<uuid:patient_pk>/assignments/",
         api.PatientAssignmentViewSet.as_view({"get": "list", "post": "create"}), name="api_patient_assignments"),
    path("patients/<uuid:patient_pk>/assignments/<uuid:pk>/response/",
         api.PatientAssignmentViewSet.as_view({"post": "response"}), name="api_patient_assignment_response"),
    path("me/assignments/", api.MyAssignmentViewSet.as_view({"get": "list"}), name="api_my_assignments"),
    path("me/assignments/<uuid:pk>/response/", api.MyAssignmentViewSet.as_view({"post": "response"}),
         name="api_my_assignment_response"),
])

urlpatterns = [
    path("api/v1/", include(api_patterns)),
    path("", include("assessments.wellness.urls")),  # mental-wellness check-ins (issue 15): their own flag
    # The Assessments tab (history) and the safety follow-up stay reachable whatever the flag: switching
    # questionnaires off must never hide a pending safety event.
    path("patients/<uuid:patient_id>/assessments/", views.patient_assessments, name="patient_assessments"),
    path("patients/<uuid:patient_id>/assessments/safety/<uuid:event_id>/", views.safety_outcome,
         name="assessments_safety_outcome"),
    *feature_patterns(config.QUESTIONNAIRES, [
        path("patients/<uuid:patient_id>/assessments/assign/", views.assign, name="assessments_assign"),
        path("questionnaires/", views.library, name="questionnaire_library"),
        path("questionnaires/<uuid:questionnaire_id>/", views.preview, name="questionnaire_preview"),
        path("portal/questionnaires/", views.portal_list, name="portal_questionnaires"),
        path("portal/questionnaires/<uuid:assignment_id>/", views.portal_answer, name="portal_questionnaire"),
        path("portal/questionnaires/<uuid:assignment_id>/done/", views.portal_done,
             name="portal_questionnaire_done"),
    ]),
]
