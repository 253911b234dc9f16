"""Issue 21 item 14: axe-core reports no serious or critical finding on the admin pages we own
(every registered model's list and add form, a change form, the index), at 1440 and 375 px."""

import os

import pytest
from django.contrib import admin

from clinical.default_rules import ensure_default_rules
from conftest import axe_violations, enrol_totp
from mahalo.models import FeatureFlag
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    folder = os.environ.get("E2E_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def test_admin_pages_have_no_serious_or_critical_axe_findings(live_server, browser_page, world):
    from allauth.mfa.models import Authenticator

    ensure_default_rules(world.cardiac)
    FeatureFlag.objects.update_or_create(project=world.project, name="food_tracking", defaults={"enabled": True})
    world.lead.is_staff = True
    world.lead.is_superuser = True
    world.lead.save()
    Authenticator.objects.filter(user=world.lead).delete()
    page = browser_page
    sign_in(page, live_server, world.lead, world.password, enrol_totp(world.lead))
    paths = ["/admin/"]
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        paths.append(base)
        if model.__module__.split(".")[0] in ("mahalo", "patients", "clinical") and \
                model_admin.has_add_permission(type("R", (), {"user": world.lead})()):
            paths.append(base + "add/")
    problems = []
    for width in (1440, 375):
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            response = page.goto(live_server.url + path)
            if response.status >= 400:
                problems.append(f"{path}: HTTP {response.status}")
                continue
            for v in axe_violations(page):
                problems.append(f"{path} @ {width}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes'][:2]]}")
        for path in ("/admin/", "/admin/clinical/clinicalrule/", "/admin/mahalo/featureflag/"):
            page.goto(live_server.url + path)
            shot(page, f"admin-{width}-{path.strip('/').replace('/', '-')}.png")
    assert problems == [], "\n".join(problems)
