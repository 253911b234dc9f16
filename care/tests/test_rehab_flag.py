"""The tenant's rehab flag switches rehab off everywhere it is routed: the Rehab tab leaves the chart,
its pages and the patient's rehab API answer 404; switched back on, they answer again."""

import pytest

from mahalo import config
from mahalo.models import FeatureFlag

pytestmark = pytest.mark.django_db


def test_rehab_flag_off_and_on(world, login, api_login):
    staff = login(world.clinician)
    tab = f"/patients/{world.me.pk}/rehab/"
    assert staff.get(tab).status_code == 200
    FeatureFlag.objects.update_or_create(project=world.me.project, name=config.REHAB, defaults={"enabled": False})
    assert staff.get(tab).status_code == 404
    chart = staff.get(f"/patients/{world.me.pk}/").content.decode()
    assert tab not in chart
    me = api_login(world.patient_user)
    assert me.get("/api/v1/me/daily-score/").status_code == 404
    FeatureFlag.objects.filter(project=world.me.project, name=config.REHAB).update(enabled=True)
    assert login(world.clinician).get(tab).status_code == 200
    assert api_login(world.patient_user).get("/api/v1/me/daily-score/").status_code == 200
