"""Care's routes: pages, and its /api/v1/ routes (included once from mahalo/urls.py)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from care import api
from care.views import medications, notes, plans, portal, referrals, rehab, rehab_portal, tasks
from mahalo import config
from mahalo.features import feature_patterns

router = SimpleRouter()
router.register("care/tasks", api.TaskViewSet, basename="care-task")

api_patterns = [
    *router.urls,
    path("me/doses/", api.my_doses, name="api_my_doses"),
    path("me/doses/<uuid:pk>/", api.my_dose, name="api_my_dose"),
    *feature_patterns(config.REHAB, [
        path("me/exercise-logs/", api.my_exercise_logs, name="api_my_exercise_logs"),
        path("me/daily-score/", api.my_daily_score, name="api_my_daily_score"),
    ]),
]

urlpatterns = [
    path("tasks/", tasks.task_list, name="task_list"),
    path("tasks/bulk/", tasks.task_bulk, name="task_bulk"),
    path("tasks/<uuid:task_id>/", tasks.task_detail, name="task_detail"),
    path("tasks/<uuid:task_id>/<str:action>/", tasks.task_action, name="task_action"),
    path("patients/<uuid:patient_id>/tasks/new/", tasks.task_new, name="task_new"),
    path("patients/<uuid:patient_id>/medications/", medications.patient_medications, name="patient_medications"),
    path("patients/<uuid:patient_id>/medications/<uuid:medication_id>/status/", medications.medication_status,
         name="medication_status"),
    path("patients/<uuid:patient_id>/care-plan/", plans.patient_care_plan, name="patient_care_plan"),
    path("patients/<uuid:patient_id>/care-plan/apply/", plans.care_plan_apply, name="care_plan_apply"),
    path("patients/<uuid:patient_id>/care-plan/<uuid:plan_id>/status/", plans.care_plan_status,
         name="care_plan_status"),
    path("patients/<uuid:patient_id>/care-plan/goals/<uuid:goal_id>/", plans.goal_update, name="goal_update"),
    path("portal/today/", portal.portal_today, name="portal_today"),
    path("portal/today/doses/<uuid:dose_id>/", portal.portal_dose, name="portal_dose"),
    path("patients/<uuid:patient_id>/notes/", notes.patient_notes, name="patient_notes"),
    path("patients/<uuid:patient_id>/notes/new/", notes.note_new, name="note_new"),
    path("patients/<uuid:patient_id>/notes/<uuid:note_id>/", notes.note_detail, name="note_detail"),
    path("patients/<uuid:patient_id>/referrals/", referrals.patient_referrals, name="patient_referrals"),
    path("patients/<uuid:patient_id>/referrals/<uuid:referral_id>/", referrals.referral_detail,
         name="referral_detail"),
    path("patients/<uuid:patient_id>/referrals/<uuid:referral_id>/letter.pdf", referrals.referral_letter,
         name="referral_letter"),
    path("patients/<uuid:patient_id>/referrals/files/<uuid:attachment_id>/", referrals.referral_attachment,
         name="referral_attachment"),
    path("patients/<uuid:patient_id>/excuse-notes/new/", referrals.excuse_new, name="excuse_new"),
    path("patients/<uuid:patient_id>/excuse-notes/<uuid:excuse_id>/", referrals.excuse_detail, name="excuse_detail"),
    path("patients/<uuid:patient_id>/excuse-notes/<uuid:excuse_id>/note.pdf", referrals.excuse_pdf,
         name="excuse_pdf"),
    path("portal/documents/", referrals.portal_documents, name="portal_documents"),
    path("portal/documents/summaries/<uuid:note_id>/", referrals.portal_visit_summary, name="portal_visit_summary"),
    path("portal/documents/excuse-notes/<uuid:excuse_id>/note.pdf", referrals.portal_excuse_pdf,
         name="portal_excuse_pdf"),
    # Rehab (issue 17): off with the tenant's rehab flag
    *feature_patterns(config.REHAB, [
        path("patients/<uuid:patient_id>/rehab/", rehab.patient_rehab, name="patient_rehab"),
        path("patients/<uuid:patient_id>/rehab/prescriptions/<uuid:prescription_id>/status/",
             rehab.rehab_prescription_status, name="rehab_prescription_status"),
        path("patients/<uuid:patient_id>/rehab/sessions/", rehab.rehab_session, name="rehab_session"),
        path("patients/<uuid:patient_id>/rehab/phases/<uuid:phase_id>/", rehab.rehab_phase, name="rehab_phase"),
        path("patients/<uuid:patient_id>/rehab/activities/<uuid:activity_id>/", rehab.rehab_activity,
             name="rehab_activity"),
        path("patients/<uuid:patient_id>/rehab/routines/<uuid:routine_id>/apply/", rehab.rehab_routine_apply,
             name="rehab_routine_apply"),
        path("portal/today/exercise/<uuid:prescription_id>/done/", rehab_portal.portal_exercise_done,
             name="portal_exercise_done"),
        path("portal/today/exercise/", rehab_portal.portal_exercise_log, name="portal_exercise_log"),
        path("portal/today/sleep/", rehab_portal.portal_sleep, name="portal_sleep"),
        path("portal/today/events/<uuid:event_id>/", rehab_portal.portal_today_event, name="portal_today_event"),
    ]),
    path("api/v1/", include(api_patterns)),
]
