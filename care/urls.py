"""Care's routes: pages, and its /api/v1/ routes (included once from mahalo/urls.py)."""

from django.urls import include, path

from care import api
from care.views import medications, portal, tasks

api_patterns = [
    path("me/doses/", api.my_doses, name="api_my_doses"),
    path("me/doses/<uuid:pk>/", api.my_dose, name="api_my_dose"),
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
    path("portal/today/", portal.portal_today, name="portal_today"),
    path("portal/today/doses/<uuid:dose_id>/", portal.portal_dose, name="portal_dose"),
    path("api/v1/", include(api_patterns)),
]
