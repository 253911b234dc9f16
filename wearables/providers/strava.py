"""Strava API v3 (https://developers.strava.com/docs/): OAuth 2 on www.strava.com/oauth
(`/authorize`, `/token`; comma-separated scopes; refresh tokens rotate, the base stores
every new one; the token answer names the athlete). Revocation:
`POST https://www.strava.com/oauth/deauthorize`.

Data: `GET /athlete/activities?after=&before=&page=&per_page=` (unix seconds), paged
by page number until an empty page. Each activity -> one workout observation: its
value is `moving_time` in minutes; `elapsed_time` gives the end; heart rate, energy,
distance and sport go in details. Rate limits 200/15 min and 2,000/day: a 429 carries
`X-RateLimit-Limit`/`X-RateLimit-Usage` but no Retry-After, so the shared backoff applies.
"""

from __future__ import annotations

from datetime import timedelta

from wearables.ingest import Reading
from wearables.providers.base import Malformed, Normalized, Page, Provider, client
from wearables.providers.parse import number, parse_time

DEVICE = "Strava"
PER_PAGE = 100
MAX_PAGES = 1000  # a provider that never sends the empty page must not loop forever


class Strava(Provider):
    name = "strava"
    label = "Strava"
    # activity:read_all includes activities the athlete marked private: still their health data.
    scopes = ("read", "activity:read_all")
    scope_separator = ","

    def token_payload(self, data: dict) -> dict:
        # The athlete's id is the external user id.
        athlete = data.get("athlete") if isinstance(data, dict) else None
        if isinstance(athlete, dict) and athlete.get("id") is not None and not data.get("user_id"):
            return {**data, "user_id": athlete["id"]}
        return data

    def revoke(self, token: str, external_user_id: str = "") -> None:
        if not token:
            return
        url = f"{self.token_url.rsplit('/', 1)[0]}/deauthorize"
        with client() as http:
            http.post(url, data={"access_token": token}, headers={"Authorization": f"Bearer {token}"})

    def fetch(self, session, start, end):
        endpoint = "/athlete/activities"
        for page in range(1, MAX_PAGES + 1):
            params = {"after": int(start.timestamp()), "before": int(end.timestamp()), "page": page,
                      "per_page": PER_PAGE}
            data, raw = session.get_json(endpoint, params=params)
            if not isinstance(data, list):
                raise Malformed(f"{endpoint}: not a list")
            if not data:
                return
            yield Page(endpoint, data, raw)
        raise Malformed(f"{endpoint}: more than {MAX_PAGES} pages")

    def normalize(self, endpoint, record, tz) -> Normalized:
        if not isinstance(record, dict):
            raise Malformed("activity is not an object")
        try:
            return self._activity(record)
        except Malformed:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Malformed(f"activity: {exc!r}") from exc

    def _activity(self, r: dict) -> Normalized:
        start = parse_time(r.get("start_date"))  # UTC; start_date_local is the wall clock
        moving = number(r.get("moving_time"), "moving_time", low=0)
        elapsed = number(r.get("elapsed_time"), "elapsed_time", low=0)
        if moving is None:
            raise Malformed("activity without moving_time")
        kj = number(r.get("kilojoules"), "kilojoules", low=0)
        details = {
            "name": r.get("name"), "sport_type": r.get("sport_type") or r.get("type"),
            "average_heart_rate": number(r.get("average_heartrate"), "average_heartrate", low=0, high=300),
            "max_heart_rate": number(r.get("max_heartrate"), "max_heartrate", low=0, high=300),
            # Strava's `calories` is an energy estimate (kcal); `kilojoules` is the
            # mechanical work of a ride, not the energy burned: kept as work, not converted.
            "energy_kcal": number(r.get("calories"), "calories", low=0),
            "work_kj": kj,
            "distance_m": number(r.get("distance"), "distance", low=0),
            "elapsed_min": round(elapsed / 60, 2) if elapsed is not None else None,
            "timezone": r.get("timezone"), "manual": r.get("manual"),
        }
        return Normalized(readings=[Reading(
            metric="workout", effective_at=start, end_at=start + timedelta(seconds=elapsed or moving),
            value=round(moving / 60, 2), device=str(r.get("device_name") or DEVICE),
            external_id=str(r.get("id") or ""), details={k: v for k, v in details.items() if v is not None})])


PROVIDER = Strava
