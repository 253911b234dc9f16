"""Permission classes every API view gets by default (REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]).
Their own module, not mahalo.api: DRF imports the defaults while a view module loads, and mahalo.api
defines views."""

from rest_framework import permissions

from mahalo import actors


class RecordOpen(permissions.BasePermission):
    """Writes by a patient whose record is archived are refused with the reason (issue 12 item 10);
    reads stay open. A default permission class, and part of every patient-facing write's checks."""

    message = actors.CLOSED_RECORD_MESSAGE

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or not actors.record_closed(request.user)
