"""Nutrition's routes: pages, and its /api/v1/ routes (included once from mahalo/urls.py)."""

from django.urls import include, path

from mahalo import config
from mahalo.features import feature_patterns
from nutrition import api, views

api_patterns = feature_patterns(config.NUTRITION, [
    path("foods/", api.food_list, name="api_foods"),
    path("foods/<uuid:pk>/", api.food_detail, name="api_food"),
    path("me/meals/", api.MyMealViewSet.as_view({"get": "list", "post": "create"}), name="api_my_meals"),
    path("me/meals/<uuid:pk>/", api.MyMealViewSet.as_view({"get": "retrieve"}), name="api_my_meal"),
    path("me/meals/<uuid:pk>/remove/", api.MyMealViewSet.as_view({"post": "remove"}), name="api_my_meal_remove"),
    path("patients/<uuid:patient_pk>/meals/", api.PatientMealViewSet.as_view({"get": "list", "post": "create"}),
         name="api_patient_meals"),
    path("me/meals/<uuid:pk>/edit/", api.MyMealViewSet.as_view({"post": "edit"}), name="api_my_meal_edit"),
    path("me/meals/<uuid:pk>/photo/", api.MyMealViewSet.as_view({"post": "photo"}), name="api_my_meal_photo"),
    path("patients/<uuid:patient_pk>/meals/<uuid:pk>/edit/", api.PatientMealViewSet.as_view({"post": "edit"}),
         name="api_patient_meal_edit"),
    path("patients/<uuid:patient_pk>/meals/<uuid:pk>/photo/", api.PatientMealViewSet.as_view({"post": "photo"}),
         name="api_patient_meal_photo"),
    path("me/fluids/", api.MyFluidViewSet.as_view({"get": "list", "post": "create"}), name="api_my_fluids"),
    path("patients/<uuid:patient_pk>/fluids/", api.PatientFluidViewSet.as_view({"get": "list", "post": "create"}),
         name="api_patient_fluids"),
    path("me/nutrition/days/<str:day>/", api.MyDayViewSet.as_view({"get": "day"}), name="api_my_nutrition_day"),
    path("patients/<uuid:patient_pk>/nutrition/days/<str:day>/", api.PatientDayViewSet.as_view({"get": "day"}),
         name="api_patient_nutrition_day"),
    path("me/nutrition/target/", api.MyTargetViewSet.as_view({"get": "get"}), name="api_my_nutrition_target"),
    path("patients/<uuid:patient_pk>/nutrition/target/",
         api.PatientTargetViewSet.as_view({"get": "get", "put": "put"}), name="api_patient_nutrition_target"),
])

urlpatterns = feature_patterns(config.NUTRITION, [
    path("patients/<uuid:patient_id>/nutrition/", views.patient_nutrition, name="patient_nutrition"),
    path("patients/<uuid:patient_id>/nutrition/targets/", views.patient_targets, name="patient_nutrition_targets"),
    path("patients/<uuid:patient_id>/nutrition/meals/<uuid:meal_id>/remove/", views.patient_meal_remove,
         name="patient_meal_remove"),
    path("patients/<uuid:patient_id>/nutrition/meals/<uuid:meal_id>/edit/", views.patient_meal_edit,
         name="patient_meal_edit"),
    path("patients/<uuid:patient_id>/nutrition/meals/<uuid:meal_id>/photo/", views.patient_meal_photo,
         name="patient_meal_photo"),
    path("portal/nutrition/", views.portal_nutrition, name="portal_nutrition"),
    path("portal/nutrition/meals/<uuid:meal_id>/edit/", views.portal_meal_edit, name="portal_meal_edit"),
    path("portal/nutrition/meals/<uuid:meal_id>/photo/", views.portal_meal_photo, name="portal_meal_photo"),
    path("portal/nutrition/fluids/", views.portal_fluid, name="portal_fluid"),
    path("portal/nutrition/copy/", views.portal_copy, name="portal_meal_copy"),
    path("portal/nutrition/plan/", views.portal_menu_log, name="portal_menu_log"),
    path("portal/nutrition/meals/<uuid:meal_id>/remove/", views.portal_meal_remove, name="portal_meal_remove"),
    path("nutrition/foods/", views.food_list, name="food_list"),
    path("nutrition/foods/new/", views.food_edit, name="food_new"),
    path("nutrition/foods/<uuid:food_id>/", views.food_edit, name="food_edit"),
    path("api/v1/", include(api_patterns)),
])
