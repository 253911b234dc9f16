from django.urls import include, path

urlpatterns = [
    path("", include("messaging.thread_urls")),
    path("", include("messaging.notification_urls")),
]
