"""Oura API v2 (WEARABLES.md): /v2/usercollection/<collection>, `{"data": [...],
"next_token": ...}` paged with the `next_token` query parameter. Daily collections take
`start_date`/`end_date` (YYYY-MM-DD), `heartrate` takes `start_datetime`/`end_datetime`.
429 carries `retry-after`; errors are RFC 7807 JSON (`detail`, `status`, `title`).

OAuth: authorize on cloud.ouraring.com, token on api.ouraring.com, credentials in the
form body, no PKCE (Oura documents only the confidential-client code flow). Refresh
tokens are single use: the base stores the rotated one after every refresh.

Oura dates a night by the morning it ends (`day`): that day is kept as is.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, timedelta

from wearables.ingest import Daily, Reading
from wearables.providers.base import Malformed, Normalized, Page, Provider, ProviderError, client
from wearables.providers.parse import number, parse_day, parse_time

logger = logging.getLogger(__name__)

BASE = "/v2/usercollection"
DEVICE = "Oura"
# The heartrate collection refuses ranges longer than 30 days.
HEARTRATE_CHUNK = timedelta(days=30)
# Collections guarded by a scope the patient may untick on Oura's consent page: a 403
# there skips that collection instead of failing every sync of the connection.
OPTIONAL_SCOPE = {"daily_spo2": "spo2", "heartrate": "heartrate"}


class Oura(Provider):
    name = "oura"
    label = "Oura"
    scopes = ("personal", "daily", "heartrate", "spo2")
    pkce = False
    # daily_sleep first: its score is attached to the night read from `sleep` after it.
    daily = ("daily_sleep", "sleep", "daily_readiness", "daily_activity", "daily_spo2")

    def __init__(self):
        super().__init__()
        self._sleep_scores: dict[date, float] = {}

    def revoke(self, token: str, external_user_id: str = "") -> None:
        """Oura revokes with the token as a query parameter on the OAuth host."""
        if not token:
            return
        url = f"{self.token_url.rsplit('/', 1)[0]}/revoke"
        with client() as http:
            http.post(url, params={"access_token": token})

    # --- Data -------------------------------------------------------------------
    def fetch(self, session, start, end):
        # Dates are the wearer's days: widen by one day each side so no time zone
        # drops a night at the edges (the upsert makes the overlap free).
        first = (start.astimezone(UTC) - timedelta(days=1)).date().isoformat()
        last = (end.astimezone(UTC) + timedelta(days=1)).date().isoformat()
        for collection in self.daily:
            yield from self._pages(session, collection, {"start_date": first, "end_date": last})
        moment = start
        while moment < end:
            upto = min(moment + HEARTRATE_CHUNK, end)
            yield from self._pages(session, "heartrate", {
                "start_datetime": moment.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "end_datetime": upto.astimezone(UTC).isoformat().replace("+00:00", "Z")})
            moment = upto

    def _pages(self, session, collection: str, window: dict):
        endpoint = f"{BASE}/{collection}"
        token = None
        while True:
            params = dict(window)
            if token:
                params["next_token"] = token
            response = session.request("GET", endpoint, params=params)
            if response.status_code == 403 and collection in OPTIONAL_SCOPE:
                logger.warning("wearables: Oura refused %s (scope %r not granted?): %s", collection,
                               OPTIONAL_SCOPE[collection], response.text[:200])
                return
            if response.status_code >= 400:
                # RFC 7807 problem details: keep Oura's own words for the sync log.
                raise ProviderError(f"Oura {endpoint} answered {response.status_code}: {response.text[:300]}")
            try:
                data, raw = response.json(), response.text
            except ValueError as exc:
                raise Malformed(f"{endpoint}: not JSON: {response.text[:200]}") from exc
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise Malformed(f"{endpoint}: no data list")
            yield Page(endpoint, data["data"], raw)
            token = data.get("next_token")
            if not token:
                return

    def normalize(self, endpoint, record, tz) -> Normalized:
        if not isinstance(record, dict):
            raise Malformed("record is not an object")
        collection = endpoint.rsplit("/", 1)[-1]
        handler = getattr(self, f"_{collection}", None)
        if handler is None:
            raise Malformed(f"unexpected collection {collection}")
        try:
            return handler(record)
        except Malformed:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Malformed(f"{collection}: {exc!r}") from exc

    def _daily_sleep(self, r: dict) -> Normalized:
        # DailyMetric has no sleep-score column: the score rides on the night's
        # sleep_session observation (details) read next from `sleep`.
        score = number(r.get("score"), "score", low=0, high=100)
        if score is not None:
            self._sleep_scores[parse_day(r.get("day"))] = score
        return Normalized()

    def _daily_readiness(self, r: dict) -> Normalized:
        score = number(r.get("score"), "score", low=0, high=100)
        if score is None:
            return Normalized()
        return Normalized(dailies=[Daily(parse_day(r.get("day")), {"recovery_score": score, "device": DEVICE})])

    def _daily_activity(self, r: dict) -> Normalized:
        steps = number(r.get("steps"), "steps", low=0)
        kcal = number(r.get("active_calories"), "active_calories", low=0)
        values = {"steps": int(steps) if steps is not None else None, "active_energy_kcal": kcal}
        if steps is None and kcal is None:
            return Normalized()
        return Normalized(dailies=[Daily(parse_day(r.get("day")), {**values, "device": DEVICE})])

    def _daily_spo2(self, r: dict) -> Normalized:
        block = r.get("spo2_percentage")
        if block is None:
            return Normalized()  # no reading that night
        if not isinstance(block, dict):
            raise Malformed("spo2_percentage is not an object")
        # A saturation below 50 % is no measurement a ring can make (the published
        # example carries a filler 0): refuse it rather than store a false value.
        spo2 = number(block.get("average"), "spo2_percentage.average", low=50, high=100)
        if spo2 is None:
            return Normalized()
        return Normalized(dailies=[Daily(parse_day(r.get("day")), {"spo2": spo2, "device": DEVICE})])

    def _heartrate(self, r: dict) -> Normalized:
        bpm = number(r.get("bpm"), "bpm", low=1, high=300)
        if bpm is None:
            raise Malformed("heart rate sample without bpm")
        return Normalized(readings=[Reading(metric="heart_rate", effective_at=parse_time(r.get("timestamp")),
                                            value=bpm, context=str(r.get("source") or "")[:40],
                                            device=DEVICE)])

    def _sleep(self, r: dict) -> Normalized:
        start, end = parse_time(r.get("bedtime_start")), parse_time(r.get("bedtime_end"))
        if end <= start:
            raise Malformed("sleep ends before it starts")
        day = parse_day(r.get("day"))
        kind = str(r.get("type") or "")
        sleep_id = str(r.get("id") or "")
        deep = number(r.get("deep_sleep_duration"), "deep_sleep_duration", low=0)
        light = number(r.get("light_sleep_duration"), "light_sleep_duration", low=0)
        rem = number(r.get("rem_sleep_duration"), "rem_sleep_duration", low=0)
        awake = number(r.get("awake_time"), "awake_time", low=0)
        total = number(r.get("total_sleep_duration"), "total_sleep_duration", low=0)
        basis = "total"
        if total is None and None not in (deep, light, rem):
            total, basis = deep + light + rem, "stages"  # the API sometimes leaves the total null
        if total is None:
            total, basis = (end - start).total_seconds(), "in_bed"
        hrv = number(r.get("average_hrv"), "average_hrv", low=0)
        lowest = number(r.get("lowest_heart_rate"), "lowest_heart_rate", low=1, high=300)
        breath = number(r.get("average_breath"), "average_breath", low=0, high=100)
        main = kind == "long_sleep"

        out = Normalized()
        details = {"type": kind, "basis": basis, "efficiency_pct": r.get("efficiency"),
                   "sleep_score": self._sleep_scores.get(day) if main else None,
                   "deep_h": _hours(deep), "light_h": _hours(light), "rem_h": _hours(rem), "awake_h": _hours(awake)}
        out.readings.append(Reading(
            metric="sleep_session", effective_at=start, end_at=end, value=round(total / 3600, 4),
            context="sleep" if main else "nap", device=DEVICE, external_id=sleep_id,
            details={k: v for k, v in details.items() if v is not None}))
        if not main:
            return out  # naps and short periods: the session only, never the night's values
        if hrv is not None:
            out.readings.append(Reading(metric="hrv", effective_at=end, value=hrv, method="rmssd", context="sleep",
                                        device=DEVICE, external_id=sleep_id))
        if lowest is not None:
            out.readings.append(Reading(metric="resting_heart_rate", effective_at=end, value=lowest,
                                        context="sleep", device=DEVICE, external_id=sleep_id,
                                        details={"basis": "lowest_heart_rate"}))
        if breath is not None:
            out.readings.append(Reading(metric="respiratory_rate", effective_at=end, value=breath,
                                        context="sleep", device=DEVICE, external_id=sleep_id))
        out.dailies.append(Daily(day, {
            "hrv_ms": hrv, "hrv_method": "rmssd" if hrv is not None else None, "resting_hr": lowest,
            "sleep_hours": round(total / 3600, 4), "sleep_deep_hours": _hours(deep),
            "sleep_light_hours": _hours(light), "sleep_rem_hours": _hours(rem),
            "sleep_awake_hours": _hours(awake), "respiratory_rate": breath, "device": DEVICE}))
        return out


def _hours(seconds: float | None) -> float | None:
    return round(seconds / 3600, 4) if seconds is not None else None


PROVIDER = Oura
