"""View decorators. They ask the gate; they never decide themselves."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from mahalo import access, audit


def staff_required(view):
    """Clinician-side pages. Anyone else (a patient) gets the same 404 as a missing page."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not access.is_staff_user(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def permission_required(resource: str, action: str):
    """Staff page whose role must grant resource:action (403 when it doesn't)."""

    def decorator(view):
        @staff_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not access.can(request.user, resource, action):
                audit.record(request=request, action="denied", resource=resource, metadata={"wanted": action})
                raise PermissionDenied(f"Your role does not include {resource}:{action}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
