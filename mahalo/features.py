"""How a module honours its feature flag (`mahalo.config.feature_on`), everywhere, one way each:

- nav, chart tabs, portal pages and portal cards: the shells' `feature=` argument
  (`mahalo.shell.NavItem`, `patients.shell.Tab` / `PortalPage` / `PortalSection`);
- a module's routes, pages and API alike: `feature_patterns(config.WELLNESS, [...])` around the
  module's URL patterns (one line in its urls.py), or `@feature_required(config.WELLNESS)` on a
  single view in a module that mixes features;
- a GatedViewSet: `feature = config.TELEHEALTH` on the class (404 when off, before anything loads);
  a function API view: `@permission_classes([IsAuthenticated, FeatureOn(config.NUTRITION)])`;
- tasks and sweeps: `config.feature_on(patient.project, key)` before the work, or
  `.filter(config.feature_q(key, "patient__project"))` over many tenants.

Off answers 404 (the page does not exist for that tenant), like a missing record. The tenant is the
user's (staff belong to one project, a patient to their program's); a platform operator without a
tenant sees the modules' defaults.
"""

from __future__ import annotations

from functools import wraps

from django.http import Http404, JsonResponse
from django.urls import URLPattern, URLResolver
from rest_framework import exceptions, permissions
from rest_framework.request import Request

from mahalo import access, config


def on_for(user, key: str) -> bool:
    """Is `key` on for this user's tenant? Cached on the user object (one per request)."""
    if not getattr(user, "is_authenticated", False):
        return config.FEATURES.get(key, False)
    return config.feature_on(access.project_of(user), key, cache=user)


def _api_user(request, callback):
    """The user a DRF view will see: the session's, or the bearer token's (DRF authenticates inside
    the view, after a URL-level wrapper runs). A bad token is left for the view to refuse (401)."""
    if request.user.is_authenticated:
        return request.user
    for auth_class in getattr(getattr(callback, "cls", None), "authentication_classes", ()):
        try:
            found = auth_class().authenticate(Request(request))
        except exceptions.APIException:
            return None
        if found:
            return found[0]
    return None


def feature_required(key: str):
    """A view that exists only while `key` is on for the user's tenant: 404 otherwise (JSON for an
    API view). The login and the gate are still the view's own decorators' business."""

    def decorator(view):
        is_api = hasattr(view, "cls")

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = _api_user(request, view) if is_api else request.user
            # Anonymous: the view's own login_required / authentication answers first (login page, 401).
            if user is not None and user.is_authenticated and not on_for(user, key):
                if is_api:
                    return JsonResponse({"detail": "Not found."}, status=404)
                raise Http404("This feature is switched off for your organisation.")
            return view(request, *args, **kwargs)

        wrapped.feature_key = key
        return wrapped  # functools.wraps copies DRF's `cls`, `initkwargs` and `csrf_exempt` too

    return decorator


def feature_patterns(key: str, patterns: list) -> list:
    """The module's URL patterns, each view wrapped by `feature_required(key)` (includes too): a
    route added to the list later is switched with the rest."""
    out = []
    for p in patterns:
        if isinstance(p, URLResolver):
            p.url_patterns[:] = feature_patterns(key, list(p.url_patterns))
            out.append(p)
        elif isinstance(p, URLPattern):
            if getattr(p.callback, "feature_key", None) != key:  # an included list already wrapped
                p.callback = feature_required(key)(p.callback)
            out.append(p)
        else:
            out.append(p)
    return out


def FeatureOn(key: str) -> type[permissions.BasePermission]:  # noqa: N802 (reads as a class in permission_classes)
    """A DRF permission for function API views: 404 while `key` is off for the user's tenant."""

    class _FeatureOn(permissions.BasePermission):
        def has_permission(self, request, view):
            if request.user and request.user.is_authenticated and not on_for(request.user, key):
                raise exceptions.NotFound()
            return True

    _FeatureOn.__name__ = f"FeatureOn_{key}"
    return _FeatureOn
