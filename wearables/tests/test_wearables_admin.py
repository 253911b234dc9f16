"""Wearables (and Observation) in Django admin: gated, scoped, read-only, no tokens."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from clinical.models import Observation
from conftest import enrol_totp
from wearables.ingest import Daily, Reading, store
from wearables.models import Connection, SyncFailure, SyncLog, WebhookEvent

pytestmark = pytest.mark.django_db


def listed(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def superuser(email):
    user = get_user_model().objects.create_superuser(email=email, password="x" * 12)
    enrol_totp(user)  # staff must have MFA, or every admin page redirects to enrolment
    return user


def connection_for(patient, provider="oura"):
    c = Connection(project=patient.project, patient=patient, provider=provider)
    c.access_token = "access-SECRET-token"
    c.refresh_token = "refresh-SECRET-token"
    c.save()
    return c


@pytest.fixture
def rows(world):
    cardiac, metabolic, foreign = world.cardiac_patients[1], world.metabolic_patients[0], world.foreign_patients[0]
    out = {}
    for name, patient in (("cardiac", cardiac), ("metabolic", metabolic), ("foreign", foreign)):
        connection = connection_for(patient)
        log = SyncLog.objects.create(project=patient.project, patient=patient, connection=connection,
                                     source="oura", status="partial", skipped=1)
        SyncFailure.objects.create(sync_log=log, endpoint="/v2/sleep", error="bad", raw='{"raw": "<i>x</i>"}')
        store(patient, "oura", readings=[Reading("resting_heart_rate", timezone.now(), 61.0)],
              dailies=[Daily(date(2026, 3, 1), {"resting_hr": 61.0})])
        out[name] = (patient, connection, log)
    return out


def test_connections_never_show_tokens(login, world, rows):
    client = login(superuser("root@t.test"))
    _, connection, _ = rows["cardiac"]
    for path in ("/admin/wearables/connection/", f"/admin/wearables/connection/{connection.pk}/change/"):
        response = client.get(path)
        assert response.status_code == 200
        html = response.content.decode()
        assert connection.patient.last_name in html
        assert "SECRET" not in html
        assert connection.access_token_encrypted[:24] not in html
        assert connection.refresh_token_encrypted[:24] not in html
        assert "access_token_encrypted" not in html and "refresh_token_encrypted" not in html
    # Searching by a token's ciphertext finds nothing (it isn't a search field).
    found = client.get("/admin/wearables/connection/", {"q": connection.access_token_encrypted[:30]})
    assert listed(found) == set()


def test_scoped_by_program_and_tenant(login, world, rows):
    cases = [(world.clinician, {"cardiac"}), (world.other_clinician, {"metabolic"}),
             (world.lead, {"cardiac", "metabolic"}), (world.outsider, {"foreign"})]
    for user, wanted in cases:
        client = login(user)
        connections = client.get("/admin/wearables/connection/")
        assert connections.status_code == 200
        assert listed(connections) == {rows[n][1].pk for n in wanted}
        assert listed(client.get("/admin/wearables/synclog/")) == {rows[n][2].pk for n in wanted}
        days = listed(client.get("/admin/wearables/dailymetric/"))
        assert {str(d) for d in days} == {str(d.pk) for n in wanted for d in rows[n][0].daily_metrics.all()}
        observations = listed(client.get("/admin/clinical/observation/"))
        assert observations == {o.pk for n in wanted for o in Observation.objects.filter(patient=rows[n][0])}
    # Another program's or tenant's row: not reachable by its URL either.
    client = login(world.clinician)
    for name in ("metabolic", "foreign"):
        response = client.get(f"/admin/wearables/synclog/{rows[name][2].pk}/change/")
        assert (response.status_code, response["Location"]) == (302, "/admin/")  # as for a missing row


def test_read_only_with_failures_inline(login, world, rows):
    client = login(world.lead)
    _, connection, log = rows["cardiac"]
    page = client.get(f"/admin/wearables/synclog/{log.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;i&gt;x&lt;/i&gt;" in html  # the raw body, escaped
    assert 'name="_save"' not in html
    assert client.post(f"/admin/wearables/connection/{connection.pk}/change/", {"status": "error"}).status_code == 403
    connection.refresh_from_db()
    assert connection.status == "linked"
    assert client.get("/admin/wearables/connection/add/").status_code == 403
    assert client.post(f"/admin/wearables/connection/{connection.pk}/delete/", {"post": "yes"}).status_code == 403


def test_webhook_events_are_for_platform_operators_only(login, world):
    WebhookEvent.objects.create(provider="garmin", summary_type="dailies", body='{"userId": "x"}')
    assert login(world.lead).get("/admin/wearables/webhookevent/").status_code == 403
    assert login(world.outsider).get("/admin/wearables/webhookevent/").status_code == 403
    assert login(superuser("root2@t.test")).get("/admin/wearables/webhookevent/").status_code == 200


def test_staff_without_wearables_permission_see_nothing(login, world, rows):
    from mahalo.models import RolePermission

    RolePermission.objects.filter(role__members__user=world.clinician, resource="wearables").delete()
    assert login(world.clinician).get("/admin/wearables/connection/").status_code == 403
