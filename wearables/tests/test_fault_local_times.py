"""Issue 20 fault 7: a rate-limited sync's error is written in the program's clock (the
Wearables tab showed this one time in UTC beside local times)."""

from datetime import UTC, datetime

import pytest

from wearables.models import Connection, SyncLog
from wearables.tests.test_oura_sync import linked, run_sync

pytestmark = pytest.mark.django_db


def test_a_rate_limited_run_names_its_time_in_the_program_clock(world):
    conn = linked(world.me)  # the cardiac program: Pacific/Honolulu (UTC-10)
    Connection.objects.filter(pk=conn.pk).update(retry_after=datetime(2099, 1, 1, 22, 30, tzinfo=UTC))
    conn.refresh_from_db()
    log = run_sync(conn)
    assert log.status == SyncLog.Status.FAILED
    assert log.error == "rate limited until 12:30 (HST)"
    assert "UTC" not in log.error
