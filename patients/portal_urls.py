from django.urls import path

from patients import portal_views

urlpatterns = [
    path("portal/", portal_views.portal_home, name="portal_home"),
]
