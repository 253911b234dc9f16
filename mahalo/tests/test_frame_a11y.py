"""Issue 21 items 5, 6 and 14 over HTTP: the frame's menu button, live regions and shortcuts help;
labelled list_editable inputs in our admin."""

import re

import pytest

from clinical.default_rules import ensure_default_rules
from mahalo.models import FeatureFlag

pytestmark = pytest.mark.django_db


def test_staff_frame_has_menu_button_live_regions_and_shortcuts(login, world):
    body = login(world.clinician).get("/alerts/").content.decode()
    assert 'aria-controls="mainnav"' in body and 'id="mainnav"' in body
    assert 'id="live-polite"' in body and 'id="live-assertive"' in body
    assert 'id="shortcuts-dialog"' in body
    # The program switcher appears twice (bar and phone menu) with distinct ids, or not at all.
    assert body.count('id="program-switch"') <= 1


def test_patient_frame_has_no_staff_shortcuts_or_search(login, world):
    body = login(world.patient_user).get("/portal/").content.decode()
    assert 'id="shortcuts-dialog"' not in body and 'id="gsearch-q"' not in body
    assert 'id="live-polite"' in body


def test_program_switcher_ids_are_unique(login, world):
    body = login(world.lead).get("/").content.decode()
    ids = re.findall(r'id="(program-switch[^"]*)"', body)
    assert ids == ["program-switch", "program-switch-menu"]


def test_admin_list_editable_inputs_are_labelled(login, world):
    world.lead.is_staff = True
    world.lead.is_superuser = True
    world.lead.save()
    ensure_default_rules(world.cardiac)
    FeatureFlag.objects.update_or_create(project=world.project, name="food_tracking", defaults={"enabled": True})
    client = login(world.lead)
    for url in ("/admin/mahalo/featureflag/", "/admin/clinical/clinicalrule/"):
        body = client.get(url).content.decode()
        inputs = re.findall(r'<input[^>]*name="form-\d+-enabled"[^>]*>', body)
        assert inputs, url
        assert all('aria-label="' in tag for tag in inputs), (url, inputs[:1])


def test_admin_has_our_stylesheet_and_no_empty_filter_links(login, world):
    world.lead.is_staff = True
    world.lead.is_superuser = True
    world.lead.save()
    client = login(world.lead)
    body = client.get("/admin/clinical/observation/").content.decode()
    assert "css/admin.css" in body
    assert not re.search(r'<a href="\?[^"]*">\s*</a>', body)
    assert "(none)" in body  # the blank choice of the method filter
