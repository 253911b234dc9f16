"""Exactly one beat, however many are started (issue 20).

Every beat process runs `SingleBeatScheduler`: django-celery-beat's database scheduler behind a
lease in Redis (the broker's Redis). The holder renews the lease on every tick (at most every
`beat_max_loop_interval` seconds, well inside its time to live) and is the only one that sends
periodic tasks; the others wait and check again. When the holder dies, its lease expires and
the next beat to tick takes over after re-reading the schedule from the database (the holder
saves `last_run_at` after every task it sends, CELERY_BEAT_SYNC_EVERY=1, so nothing it already
sent is sent again). So a deploy may start a second beat, or run one per machine, without
periodic work running twice. Tasks are idempotent besides (a sweep run twice changes nothing).

Without Redis (a laptop with eager Celery) there is no lease: one beat is all there is.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

log = logging.getLogger(__name__)

LEASE_KEY = "mahalo:beat:leader"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
# Renewal compares the token, so a beat whose lease expired (paused, partitioned) cannot extend
# the lease another beat now holds.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class Lease:
    """A named lease in Redis: `hold()` takes it when free or renews it when ours."""

    def __init__(self, client, key: str = LEASE_KEY, ttl: float = 30.0):
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl * 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self.held = False

    def hold(self) -> bool:
        try:
            if self.held and self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms):
                return True
            self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        except Exception:  # noqa: BLE001 - Redis unreachable: send nothing rather than risk a second sender
            log.warning("beat: Redis unreachable, not sending periodic tasks", exc_info=True)
            self.held = False
        return self.held

    def release(self) -> None:
        if self.held:
            try:
                self.client.eval(_RELEASE, 1, self.key, self.token)
            except Exception:  # noqa: BLE001 - it expires by itself
                log.warning("beat: could not release the lease", exc_info=True)
            self.held = False


def redis_lease() -> Lease | None:
    url = getattr(settings, "BEAT_LEASE_REDIS_URL", "") or settings.REDIS_URL
    if not url:
        return None
    return Lease(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5), ttl=settings.BEAT_LEASE_SECONDS)


class SingleBeatScheduler(DatabaseScheduler):
    """DatabaseScheduler that sends only while it holds the beat lease."""

    lease_factory = staticmethod(redis_lease)

    def __init__(self, *args, **kwargs):
        self.lease = self.lease_factory()
        super().__init__(*args, **kwargs)
        # Tick often enough to renew the lease well before it expires.
        if self.lease is not None:
            self.max_interval = min(self.max_interval, self.lease.ttl_ms / 1000 / 3)

    def tick(self, *args, **kwargs):
        if self.lease is None:
            return super().tick(*args, **kwargs)
        was_leader = self.lease.held
        if not self.lease.hold():
            if was_leader:
                log.warning("beat: lost the lease; another beat sends periodic tasks now")
            return self.max_interval
        if not was_leader:
            log.info("beat: holding the lease (%s); sending periodic tasks", self.lease.token)
            # What the previous holder ran is in the database: read it before sending anything
            # (through django-celery-beat's own "schedule changed" reload).
            self._last_timestamp = LONG_AGO
        return super().tick(*args, **kwargs)

    def close(self):
        try:
            super().close()
        finally:
            if self.lease is not None:
                self.lease.release()
