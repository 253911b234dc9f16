"""Disconnect (revoke, keep data), the operator command, and key rotation of OAuth tokens."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from clinical.models import Observation
from mahalo import crypto
from mahalo.models import AuditEvent
from wearables.models import Connection
from wearables.tests.stub import Reply, fixture
from wearables.tests.test_whoop_sync import linked, whoop_routes


@pytest.mark.django_db
def test_disconnect_revokes_and_keeps_the_synced_data(world, login, provider_stub):
    stub = provider_stub("whoop")
    whoop_routes(stub)
    stub.on("DELETE", "/v2/user/access", Reply(204, ""))
    conn = linked(world.me, access="live-token")
    call_command("sync_wearables", "--patient", str(world.me.pk), stdout=open("/dev/null", "w"))
    kept = Observation.objects.filter(patient=world.me).count()
    assert kept > 0

    response = login(world.patient_user).post(reverse("portal_device_disconnect", args=[conn.pk]))
    assert response.status_code == 302
    revoke = stub.seen("DELETE", "/v2/user/access")
    assert len(revoke) == 1 and revoke[0].headers["authorization"] == "Bearer live-token"
    conn.refresh_from_db()
    assert conn.status == "disconnected" and conn.access_token == "" and conn.refresh_token == ""
    assert Observation.objects.filter(patient=world.me).count() == kept
    assert AuditEvent.objects.filter(patient=world.me, resource="wearables",
                                     metadata__event="disconnected").exists()
    # The patient can connect again later: a disconnected row does not block a new one.
    linked(world.me)
    assert Connection.objects.filter(patient=world.me, provider="whoop").count() == 2


@pytest.mark.django_db
def test_disconnect_works_when_the_provider_is_down(world, login, provider_stub):
    stub = provider_stub("whoop")
    stub.on("DELETE", "/v2/user/access", Reply(500, "boom"))
    conn = linked(world.me)
    login(world.patient_user).post(reverse("portal_device_disconnect", args=[conn.pk]))
    conn.refresh_from_db()
    assert conn.status == "disconnected"


@pytest.mark.django_db
def test_only_the_patient_can_disconnect_their_device(world, login, client):
    conn = linked(world.me)
    other = linked(world.cardiac_patients[1])
    url = reverse("portal_device_disconnect", args=[other.pk])
    assert login(world.patient_user).post(url).status_code == 404
    assert login(world.clinician).post(reverse("portal_device_disconnect", args=[conn.pk])).status_code == 404
    client.logout()
    assert client.post(reverse("portal_device_disconnect", args=[conn.pk])).status_code == 302  # to sign-in
    conn.refresh_from_db()
    other.refresh_from_db()
    assert conn.status == other.status == "linked"


@pytest.mark.django_db
def test_sync_wearables_command_runs_one_patient_and_provider(world, provider_stub):
    import io

    stub = provider_stub("whoop")
    whoop_routes(stub)
    linked(world.me)
    linked(world.cardiac_patients[1])
    out = io.StringIO()
    call_command("sync_wearables", "--patient", world.me.mrn or str(world.me.pk), "--provider", "whoop", stdout=out)
    assert "Success" in out.getvalue()
    assert set(Observation.objects.values_list("patient", flat=True)) == {world.me.pk}
    with pytest.raises(CommandError):
        call_command("sync_wearables", "--provider", "oura", stdout=io.StringIO())


@pytest.mark.django_db
def test_sync_wearables_command_reports_failures(world, provider_stub):
    import io

    stub = provider_stub("whoop")
    stub.on("GET", "/v2/activity/sleep", Reply(401, {}))
    stub.on("POST", "/oauth/token", Reply(400, {"error": "invalid_grant"}))
    linked(world.me)
    with pytest.raises(CommandError, match="1 of 1"):
        call_command("sync_wearables", stdout=io.StringIO())


@pytest.mark.django_db
def test_key_rotation_reencrypts_oauth_tokens(world, settings):
    old = crypto.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    conn = linked(world.me, access="acc-123", refresh="ref-456")
    before = Connection.objects.get(pk=conn.pk).access_token_encrypted
    new = crypto.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone
    conn = Connection.objects.get(pk=conn.pk)
    assert conn.access_token_encrypted != before
    assert (conn.access_token, conn.refresh_token) == ("acc-123", "ref-456")


def test_fixture_files_are_where_the_stub_reads_them():
    assert fixture("whoop/recovery.json")["records"][0]["score"]["recovery_score"] == 44
