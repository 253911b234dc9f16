"""Polar Open AccessLink v3 (https://www.polar.com/accesslink-api/).

OAuth 2: authorize on flow.polar.com, token on polarremote.com with the client
credentials as HTTP Basic auth (Polar's example client does exactly that). The token
answer carries `x_user_id` and a very long-lived access token, and no refresh token:
a refused token therefore means re-consent (the base says so when there is nothing to
refresh with). After connecting, the partner must register the user
(`POST /v3/users {"member-id": ...}`) before any data can be read; `register` does it
right after the code exchange (409 = already registered, which is fine).

Data, through the non-transactional endpoints (the transactional ones consume data,
so a crashed run would lose it; these can be re-read, which the overlap window needs):
- `GET /v3/exercises` (last 30 days): `start_time` (local) + `start_time_utc_offset`
  (minutes), `duration` ISO 8601 (PT1H2M3S), `calories`, `distance`,
  `heart_rate.average/maximum`, `sport`, `detailed_sport_info` -> workout observations;
- `GET /v3/users/activities?from=&to=` (at most 28 days per call): `start_time`,
  `steps`, `active_calories` -> daily steps and active energy;
- `GET /v3/users/nightly-recharge` (last 28 days, `{"recharges": [...]}`): `date`,
  `heart_rate_variability_avg` (ms, RMSSD), `heart_rate_avg` (bpm),
  `breathing_rate_avg` -> daily HRV (RMSSD), resting HR and respiratory rate.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta, timezone

from wearables.ingest import Daily, Reading
from wearables.providers.base import Malformed, Normalized, Page, Provider, ProviderError, TokenSet, client
from wearables.providers.parse import number, parse_day

DEVICE = "Polar"
ACTIVITY_CHUNK = timedelta(days=28)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def iso_minutes(value) -> float:
    """ISO 8601 duration (PT1H2M3S, P1DT2H) -> minutes."""
    match = _DURATION.match(str(value or ""))
    if not match or value in ("P", "PT"):
        raise Malformed(f"bad duration {value!r}")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 1440 + hours * 60 + minutes + seconds / 60


class Polar(Provider):
    name = "polar"
    label = "Polar"
    scopes = ("accesslink.read_all",)
    client_auth = "basic"

    # --- OAuth -------------------------------------------------------------------
    def revoke(self, token: str, external_user_id: str = "") -> None:
        """AccessLink has no token revocation: de-registering the user
        (DELETE /v3/users/{user-id}) ends our access to their data."""
        if not token or not external_user_id:
            return
        with client() as http:
            http.request("DELETE", f"{self.api_base}/v3/users/{external_user_id}",
                         headers={"Authorization": f"Bearer {token}"})

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str = "") -> TokenSet:
        tokens = super().exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
        self.register(tokens)
        return tokens

    def register(self, tokens: TokenSet) -> None:
        """Register the user with our client (required before any data is readable).
        The member-id is an opaque id of ours: nothing about the patient goes to Polar."""
        try:
            with client() as http:
                response = http.post(f"{self.api_base}/v3/users", json={"member-id": uuid.uuid4().hex},
                                     headers={"Authorization": f"Bearer {tokens.access_token}",
                                              "Accept": "application/json"})
        except Exception as exc:  # noqa: BLE001 - any transport failure: the connect must be retried
            raise ProviderError(f"Polar user registration unreachable: {exc}") from exc
        if response.status_code == 409:
            return  # registered before (a reconnect)
        if response.status_code >= 300:
            raise ProviderError(f"Polar user registration answered {response.status_code}: {response.text[:200]}")

    # --- Data --------------------------------------------------------------------
    def fetch(self, session, start, end):
        data, raw = session.get_json("/v3/exercises")
        if not isinstance(data, list):
            raise Malformed("/v3/exercises: not a list")
        yield Page("/v3/exercises", data, raw)

        moment = start
        while moment < end:
            upto = min(moment + ACTIVITY_CHUNK, end)
            params = {"from": moment.astimezone(UTC).date().isoformat(),
                      "to": upto.astimezone(UTC).date().isoformat()}
            data, raw = session.get_json("/v3/users/activities", params=params)
            records = data.get("activities") if isinstance(data, dict) else data
            if not isinstance(records, list):
                raise Malformed("/v3/users/activities: no activity list")
            yield Page("/v3/users/activities", records, raw)
            moment = upto

        data, raw = session.get_json("/v3/users/nightly-recharge")
        records = data.get("recharges") if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise Malformed("/v3/users/nightly-recharge: no recharges list")
        yield Page("/v3/users/nightly-recharge", records, raw)

    def normalize(self, endpoint, record, tz) -> Normalized:
        if not isinstance(record, dict):
            raise Malformed("record is not an object")
        try:
            if endpoint == "/v3/exercises":
                return self._exercise(record, tz)
            if endpoint == "/v3/users/activities":
                return self._activity(record)
            if endpoint == "/v3/users/nightly-recharge":
                return self._recharge(record, tz)
        except Malformed:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Malformed(f"{endpoint}: {exc!r}") from exc
        raise Malformed(f"unexpected endpoint {endpoint}")

    def _exercise(self, r: dict, tz) -> Normalized:
        try:
            local = datetime.fromisoformat(str(r.get("start_time")))
        except ValueError as exc:
            raise Malformed(f"bad start_time {r.get('start_time')!r}") from exc
        offset = r.get("start_time_utc_offset")
        if local.tzinfo is None:
            if isinstance(offset, int) and not isinstance(offset, bool):
                local = local.replace(tzinfo=timezone(timedelta(minutes=offset)))
            else:
                local = local.replace(tzinfo=tz)  # no offset given: the program's clock
        start = local.astimezone(UTC)
        minutes = iso_minutes(r.get("duration"))
        hr = r.get("heart_rate") or {}
        if not isinstance(hr, dict):
            raise Malformed("heart_rate is not an object")
        details = {"sport": r.get("sport"), "detailed_sport_info": r.get("detailed_sport_info"),
                   "average_heart_rate": number(hr.get("average"), "heart_rate.average", low=0, high=300),
                   "max_heart_rate": number(hr.get("maximum"), "heart_rate.maximum", low=0, high=300),
                   "energy_kcal": number(r.get("calories"), "calories", low=0),
                   "distance_m": number(r.get("distance"), "distance", low=0),
                   "training_load": r.get("training_load")}
        return Normalized(readings=[Reading(
            metric="workout", effective_at=start, end_at=start + timedelta(minutes=minutes),
            value=round(minutes, 2), device=str(r.get("device") or DEVICE), external_id=str(r.get("id") or ""),
            details={k: v for k, v in details.items() if v is not None})])

    def _activity(self, r: dict) -> Normalized:
        # Polar's day starts at the wearer's local midnight: `start_time` is local.
        day = parse_day(r.get("start_time") or r.get("date"), leading=True)
        steps = number(r.get("steps"), "steps", low=0)
        kcal = number(r.get("active_calories"), "active_calories", low=0)
        if steps is None and kcal is None:
            return Normalized()
        return Normalized(dailies=[Daily(day, {"steps": int(steps) if steps is not None else None,
                                               "active_energy_kcal": kcal, "device": DEVICE})])

    def _recharge(self, r: dict, tz) -> Normalized:
        day = parse_day(r.get("date"), leading=True)
        hrv = number(r.get("heart_rate_variability_avg"), "heart_rate_variability_avg", low=0)
        hr = number(r.get("heart_rate_avg"), "heart_rate_avg", low=1, high=300)
        breath = number(r.get("breathing_rate_avg"), "breathing_rate_avg", low=0, high=100)
        # Nightly Recharge has no timestamps, only Polar's day: its observations are
        # dated at that day's local midnight and say so in details.
        at = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
        details = {"dated": "day", "window": "first 4 h of sleep",
                   "nightly_recharge_status": r.get("nightly_recharge_status"), "ans_charge": r.get("ans_charge")}
        details = {k: v for k, v in details.items() if v is not None}
        out = Normalized()
        if hrv is not None:
            out.readings.append(Reading(metric="hrv", effective_at=at, value=hrv, method="rmssd", context="sleep",
                                        device=DEVICE, external_id=day.isoformat(), details=details))
        if hr is not None:
            # Polar gives the average heart rate of the first hours of sleep, not a
            # "resting HR": the closest it offers, labelled as such.
            out.readings.append(Reading(metric="resting_heart_rate", effective_at=at, value=hr, context="sleep",
                                        device=DEVICE, external_id=day.isoformat(),
                                        details={**details, "basis": "heart_rate_avg"}))
        if breath is not None:
            out.readings.append(Reading(metric="respiratory_rate", effective_at=at, value=breath, context="sleep",
                                        device=DEVICE, external_id=day.isoformat(), details=details))
        out.dailies.append(Daily(day, {"hrv_ms": hrv, "hrv_method": "rmssd" if hrv is not None else None,
                                       "resting_hr": hr, "respiratory_rate": breath, "device": DEVICE}))
        return out


PROVIDER = Polar
