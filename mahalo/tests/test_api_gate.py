"""The DRF base class is locked: a viewset can't swap out the gate."""

import pytest

from mahalo.api import GatedViewSet
from patients.models import Patient


@pytest.mark.parametrize("name", ["get_queryset", "permission_classes", "authentication_classes", "get_object",
                                  "queryset"])
def test_overriding_the_gate_is_refused(name):
    with pytest.raises(TypeError, match="may not override"):
        type("Sneaky", (GatedViewSet,), {"model": Patient, "resource": "patients", name: lambda self: None})


def test_model_and_resource_are_required():
    with pytest.raises(TypeError, match="must set"):
        type("Bare", (GatedViewSet,), {})


def test_unknown_permission_name_fails_loudly(db):
    from django.contrib.auth.models import AnonymousUser

    from mahalo import access

    with pytest.raises(ValueError):
        access.can(AnonymousUser(), "patient", "read")
