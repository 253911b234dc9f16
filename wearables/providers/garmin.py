"""Garmin Health API (WEARABLES.md): OAuth 2.0 with PKCE; summaries by type
(`dailies`, `sleeps`, `hrv`) either pulled with
`GET /wellness-api/rest/<type>?uploadStartTimeInSeconds=..&uploadEndTimeInSeconds=..`
(a window of at most 24 h, so a range is walked in 24 h steps) or pushed to our
webhook (wearables/webhooks.py), which normalizes with this same module.

Field names as published (Health API summary specs): dailies `calendarDate`,
`steps`, `restingHeartRateInBeatsPerMinute`, `activeKilocalories`,
`startTimeInSeconds`, `startTimeOffsetInSeconds`, `durationInSeconds`; sleeps
`durationInSeconds`, `deepSleepDurationInSeconds`, `lightSleepDurationInSeconds`,
`remSleepInSeconds`, `awakeDurationInSeconds`; hrv `lastNightAvg` (ms, RMSSD).
`calendarDate` is Garmin's own day (a night is dated by the morning it ends): it
is kept as the DailyMetric date rather than recomputed in the program time zone.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime, timedelta, timezone

import httpx

from wearables.ingest import Daily, Reading
from wearables.providers.base import Malformed, Normalized, Page, Provider, ProviderError, TokenSet, client
from wearables.providers.parse import number, parse_day

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)  # Garmin refuses pull windows longer than 24 h
SUMMARIES = {
    "dailies": "/wellness-api/rest/dailies",
    "sleeps": "/wellness-api/rest/sleeps",
    "hrv": "/wellness-api/rest/hrv",
}
USER_ID_PATH = "/wellness-api/rest/user/id"
DEVICE = "Garmin"


def summary_type(endpoint: str) -> str:
    """'/wellness-api/rest/sleeps' or 'sleeps' -> 'sleeps'."""
    return endpoint.rstrip("/").rsplit("/", 1)[-1]


def _number(record: dict, key: str, *, required: bool = False) -> float | None:
    """A non-negative number field of a summary (Garmin sends no negative quantities)."""
    if record.get(key) is None and required:
        raise Malformed(f"missing {key}")
    return number(record.get(key), key, low=0)


def _calendar_date(record: dict) -> date:
    return parse_day(record.get("calendarDate"), name="calendarDate")


def _start(record: dict) -> datetime:
    """startTimeInSeconds (UTC epoch) shown at the wearer's own offset then
    (startTimeOffsetInSeconds); the instant is the same, the offset is kept for display."""
    seconds = _number(record, "startTimeInSeconds", required=True)
    offset = record.get("startTimeOffsetInSeconds")
    tz = UTC
    if isinstance(offset, int) and not isinstance(offset, bool) and abs(offset) <= 18 * 3600:
        tz = timezone(timedelta(seconds=offset))
    try:
        return datetime.fromtimestamp(seconds, tz=tz)
    except (OverflowError, OSError, ValueError) as exc:
        raise Malformed(f"bad startTimeInSeconds {seconds!r}") from exc


class Garmin(Provider):
    name = "garmin"
    label = "Garmin"
    pkce = True
    # Garmin's consent screen carries the permissions; the Health API has no scope list.
    scopes = ()
    # Deregistration: Garmin stops pushing and the grant ends.
    revoke_path = "/wellness-api/rest/user/registration"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str = "") -> TokenSet:
        tokens = super().exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
        # Pushes name the Garmin user (`userId`), not our patient: keep it on the connection.
        if not tokens.external_user_id:
            tokens.external_user_id = self.user_id(tokens.access_token)
        return tokens

    def user_id(self, access_token: str) -> str:
        """Garmin's id for the user; empty if Garmin doesn't answer (pull sync still works,
        pushes for this user are skipped until the next connect)."""
        try:
            with client() as http:
                response = http.get(f"{self.api_base}{USER_ID_PATH}",
                                    headers={"Authorization": f"Bearer {access_token}"})
            if response.status_code == 200:
                return str(response.json().get("userId") or "")
            logger.warning("wearables: garmin user id answered %s", response.status_code)
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            logger.warning("wearables: garmin user id failed: %s", exc)
        return ""

    def fetch(self, session, start, end):
        # Whole seconds (Garmin's unit), the range widened outwards so nothing falls between.
        first, last = math.floor(start.timestamp()), math.ceil(end.timestamp())
        step = int(WINDOW.total_seconds())
        for path in SUMMARIES.values():
            window_start = first
            while window_start < last:
                window_end = min(window_start + step, last)
                params = {"uploadStartTimeInSeconds": window_start, "uploadEndTimeInSeconds": window_end}
                data, raw = session.get_json(path, params=params)
                if not isinstance(data, list):
                    raise Malformed(f"{path}: expected a list of summaries")
                yield Page(path, data, raw)
                window_start = window_end

    def fetch_callback(self, session, url: str, endpoint: str) -> Page:
        """A ping's callbackURL: the summaries Garmin holds for us, fetched with the user's token."""
        data, raw = session.get_json(url)
        if not isinstance(data, list):
            raise ProviderError(f"{endpoint} callback did not return a list")
        return Page(endpoint, data, raw)

    def normalize(self, endpoint, record, tz) -> Normalized:
        if not isinstance(record, dict):
            raise Malformed("record is not an object")
        kind = summary_type(endpoint)
        if kind == "dailies":
            return self._daily(record)
        if kind == "sleeps":
            return self._sleep(record)
        if kind == "hrv":
            return self._hrv(record)
        raise Malformed(f"unsupported summary type {kind!r}")

    def _daily(self, r: dict) -> Normalized:
        day = _calendar_date(r)
        start = _start(r)
        duration = _number(r, "durationInSeconds") or 0
        end = start + timedelta(seconds=duration) if duration else None
        steps = _number(r, "steps")
        rhr = _number(r, "restingHeartRateInBeatsPerMinute")
        kcal = _number(r, "activeKilocalories")
        ext = str(r.get("summaryId") or "")
        out = Normalized()
        # The day's running totals: Garmin re-sends the same summary (same start) as the
        # day goes on, so these upsert in place.
        if steps is not None:
            out.readings.append(Reading(metric="steps", effective_at=start, end_at=end, value=steps,
                                        context="daily", device=DEVICE, external_id=ext))
        if rhr:  # 0 means "not measured" in Garmin's summaries
            out.readings.append(Reading(metric="resting_heart_rate", effective_at=start, end_at=end, value=rhr,
                                        device=DEVICE, external_id=ext))
        if kcal is not None:
            out.readings.append(Reading(metric="active_energy", effective_at=start, end_at=end, value=kcal,
                                        context="daily", device=DEVICE, external_id=ext))
        out.dailies.append(Daily(day, {"steps": int(steps) if steps is not None else None,
                                       "resting_hr": rhr or None, "active_energy_kcal": kcal,
                                       "device": DEVICE}))
        return out

    def _sleep(self, r: dict) -> Normalized:
        day = _calendar_date(r)
        start = _start(r)
        duration = _number(r, "durationInSeconds", required=True)
        deep = _number(r, "deepSleepDurationInSeconds")
        light = _number(r, "lightSleepDurationInSeconds")
        rem = _number(r, "remSleepInSeconds")
        awake = _number(r, "awakeDurationInSeconds")
        # Time asleep = the sleep stages (awake and unmeasurable time excluded), as for
        # the other providers; without stages, Garmin's sleep duration.
        staged = None not in (deep, light, rem)
        asleep = (deep + light + rem) if staged else duration
        if duration <= 0:
            raise Malformed("sleep without duration")
        end = start + timedelta(seconds=duration)
        hours = asleep / 3600
        out = Normalized()
        out.readings.append(Reading(
            metric="sleep_session", effective_at=start, end_at=end, value=round(hours, 3), context="sleep",
            device=DEVICE, external_id=str(r.get("summaryId") or ""),
            details={"basis": "stages" if staged else "duration", "calendar_date": day.isoformat(),
                     "utc_offset_s": r.get("startTimeOffsetInSeconds")},
        ))
        out.dailies.append(Daily(day, {
            "sleep_hours": round(hours, 3),
            "sleep_deep_hours": deep / 3600 if deep is not None else None,
            "sleep_light_hours": light / 3600 if light is not None else None,
            "sleep_rem_hours": rem / 3600 if rem is not None else None,
            "sleep_awake_hours": awake / 3600 if awake is not None else None,
            "device": DEVICE,
        }))
        return out

    def _hrv(self, r: dict) -> Normalized:
        day = _calendar_date(r)
        avg = _number(r, "lastNightAvg", required=True)
        if avg <= 0:
            raise Malformed("lastNightAvg is zero")
        start = _start(r)
        duration = _number(r, "durationInSeconds") or 0
        end = start + timedelta(seconds=duration) if duration else None
        # Garmin's overnight HRV is RMSSD (never mixed with SDNN: CLINICAL.md).
        reading = Reading(metric="hrv", effective_at=end or start, value=avg, method="rmssd", context="sleep",
                          device=DEVICE, external_id=str(r.get("summaryId") or ""),
                          details={"last_night_5min_high": r.get("lastNight5MinHigh")})
        return Normalized(readings=[reading],
                          dailies=[Daily(day, {"hrv_ms": avg, "hrv_method": "rmssd", "device": DEVICE})])


PROVIDER = Garmin
