"""Google Health API v4: Fitbit devices' data since the Fitbit Web API was switched off.

`GET {api_base}/users/me/dataTypes/{type}/dataPoints` (api_base
https://health.googleapis.com/v4). As documented (developers.google.com/health:
reference users.dataTypes.dataPoints.list, "Filter data" guide, the generated
client libraries):
- query `filter` (AIP-160; the data type in snake case inside the filter,
  kebab case in the path; only `>=` and `<`, joined with AND), `pageSize`,
  `pageToken`; response `{"dataPoints": [...], "nextPageToken": "..."}`;
  sleep pages hold at most 25 points;
- filter fields by record type: daily `{type}.date`; sample
  `{type}.sample_time.physical_time`; interval `{type}.interval.civil_start_time`;
  sleep `sleep.interval.civil_end_time`;
- a DataPoint is `{"name", "dataSource", <one of> "heartRate" | "steps" |
  "sleep" | "dailyRestingHeartRate" | "dailyHeartRateVariability" ...}`;
  `heartRate {beatsPerMinute, sampleTime {physicalTime, utcOffset, civilTime}}`,
  `steps {count, interval {startTime, endTime, startUtcOffset, civilStartTime}}`,
  `dailyRestingHeartRate {date, beatsPerMinute}`,
  `dailyHeartRateVariability {date, averageHeartRateVariabilityMilliseconds}` (RMSSD),
  `sleep {interval, summary {minutesAsleep, minutesAwake, stagesSummary [{type, minutes}]}}`.
Standard proto3 JSON mapping (Google API convention, assumed where the pages are
silent): int64 values arrive as strings, `google.type.Date` as
{year, month, day}, Durations as "-36000s", Timestamps RFC 3339 (up to 9 decimals).
Quota: 300 requests per minute per user; 429 is honoured by ApiSession.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone

import httpx

from wearables.ingest import Daily, Reading
from wearables.providers.base import Malformed, Normalized, Page, Provider, client
from wearables.providers.parse import parse_time

SCOPE = "https://www.googleapis.com/auth/googlehealth."
# (path type, record kind, page size). Sleep before the rest only for readability of logs.
DATA_TYPES = (
    ("daily-resting-heart-rate", "daily", 1000),
    ("daily-heart-rate-variability", "daily", 1000),
    ("sleep", "sleep", 25),
    ("steps", "interval", 10000),
    ("heart-rate", "sample", 10000),
)
FIELD = {"daily-resting-heart-rate": "dailyRestingHeartRate",
         "daily-heart-rate-variability": "dailyHeartRateVariability",
         "sleep": "sleep", "steps": "steps", "heart-rate": "heartRate"}
DEVICE = "Fitbit"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value) -> date:
    try:
        if isinstance(value, dict):
            return date(int(value["year"]), int(value["month"]), int(value["day"]))
        return date.fromisoformat(str(value))
    except (KeyError, TypeError, ValueError) as exc:
        raise Malformed(f"bad date {value!r}") from exc


def parse_offset(value) -> timezone | None:
    """A protobuf Duration ("-36000s") as a UTC offset."""
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?)s", str(value or ""))
    if not match or abs(float(match.group(1))) > 18 * 3600:
        return None
    return timezone(timedelta(seconds=float(match.group(1))))


def number(value, name: str) -> float:
    """int64 fields come as strings, doubles as numbers."""
    if isinstance(value, bool) or value is None:
        raise Malformed(f"missing {name}")
    try:
        result = float(value)
    except (TypeError, ValueError) as exc:
        raise Malformed(f"{name} is not a number: {value!r}") from exc
    if not math.isfinite(result) or result < 0:
        raise Malformed(f"{name} out of range: {value!r}")
    return result


def _civil_date(civil, instant: datetime | None, offset) -> date:
    """The user's own day: civil*Time.date, else the instant at its UTC offset."""
    if isinstance(civil, dict) and civil.get("date"):
        return parse_date(civil["date"])
    if instant is not None:
        return instant.astimezone(parse_offset(offset) or UTC).date()
    raise Malformed("no civil date")


def _device(point: dict) -> str:
    # Assumption: DataSource.device.displayName, when Google sends it (not shown in samples).
    source = point.get("dataSource")
    if isinstance(source, dict) and isinstance(source.get("device"), dict):
        name = source["device"].get("displayName")
        if isinstance(name, str) and name:
            return name[:200]
    return DEVICE


class GoogleHealth(Provider):
    name = "google_health"
    label = "Google Health (Fitbit)"
    pkce = True
    scopes = (f"{SCOPE}activity_and_fitness.readonly", f"{SCOPE}health_metrics_and_measurements.readonly",
              f"{SCOPE}sleep.readonly")

    def __init__(self):
        super().__init__()
        # Per sync run: steps per civil day and data source (phone and tracker both count
        # steps; summing them would double count, so the day takes the largest source).
        self._steps: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._longest_sleep: dict[date, float] = {}

    def authorization_url(self, *, state: str, redirect_uri: str, code_challenge: str = "") -> str:
        # offline + consent: Google issues a refresh token only then (and again on re-consent).
        url = super().authorization_url(state=state, redirect_uri=redirect_uri, code_challenge=code_challenge)
        return f"{url}&access_type=offline&prompt=consent"

    def revoke(self, token: str, external_user_id: str = "") -> None:
        # Google's revocation endpoint sits beside its token endpoint (oauth2.googleapis.com/revoke).
        if not token or not self.token_url.endswith("/token"):
            return
        with client() as http:
            try:
                http.post(f"{self.token_url[:-len('/token')]}/revoke", data={"token": token})
            except httpx.HTTPError:
                pass

    # --- Data -------------------------------------------------------------------
    def _filter(self, data_type: str, kind: str, start: datetime, end: datetime) -> str:
        field = data_type.replace("-", "_")
        if kind == "sample":
            return (f'{field}.sample_time.physical_time >= "{_rfc3339(start)}" AND '
                    f'{field}.sample_time.physical_time < "{_rfc3339(end)}"')
        # Day-based types: whole civil days, widened by a day each side (the user's
        # day can be up to 14 h off UTC), so a day's total is always read complete.
        first, last = (start - timedelta(days=1)).date(), (end + timedelta(days=2)).date()
        if kind == "daily":
            # Assumption: a date literal is "YYYY-MM-DD" (the guide shows `{type}.date`).
            return f'{field}.date >= "{first}" AND {field}.date < "{last}"'
        if kind == "sleep":
            return (f'sleep.interval.civil_end_time >= "{first}T00:00:00" AND '
                    f'sleep.interval.civil_end_time < "{last}T00:00:00"')
        return (f'{field}.interval.civil_start_time >= "{first}T00:00:00" AND '
                f'{field}.interval.civil_start_time < "{last}T00:00:00"')

    def fetch(self, session, start, end):
        for data_type, kind, size in DATA_TYPES:
            token = None
            while True:
                params = {"filter": self._filter(data_type, kind, start, end), "pageSize": size}
                if token:
                    params["pageToken"] = token
                data, raw = session.get_json(f"/users/me/dataTypes/{data_type}/dataPoints", params=params)
                if not isinstance(data, dict):
                    raise Malformed(f"{data_type}: response is not an object")
                points = data.get("dataPoints", [])  # proto3 JSON omits an empty list
                if not isinstance(points, list):
                    raise Malformed(f"{data_type}: dataPoints is not a list")
                yield Page(data_type, points, raw)
                token = data.get("nextPageToken")
                if not token:
                    break

    def normalize(self, endpoint, record, tz) -> Normalized:
        if not isinstance(record, dict):
            raise Malformed("data point is not an object")
        body = record.get(FIELD.get(endpoint, ""))
        if not isinstance(body, dict):
            raise Malformed(f"data point without {FIELD.get(endpoint)!r}")
        handler = {"daily-resting-heart-rate": self._resting, "daily-heart-rate-variability": self._hrv,
                   "sleep": self._sleep, "steps": self._steps_point, "heart-rate": self._heart_rate}[endpoint]
        return handler(body, record)

    def _resting(self, body: dict, point: dict) -> Normalized:
        day = parse_date(body.get("date"))
        bpm = number(body.get("beatsPerMinute"), "beatsPerMinute")
        return Normalized(dailies=[Daily(day, {"resting_hr": bpm, "device": _device(point)})])

    def _hrv(self, body: dict, point: dict) -> Normalized:
        day = parse_date(body.get("date"))
        if body.get("averageHeartRateVariabilityMilliseconds") is None:
            return Normalized()  # only entropy / non-REM HR that day: no RMSSD to keep
        ms = number(body["averageHeartRateVariabilityMilliseconds"], "averageHeartRateVariabilityMilliseconds")
        # Google documents this average as RMSSD (CLINICAL.md: never mixed with SDNN).
        return Normalized(dailies=[Daily(day, {"hrv_ms": ms, "hrv_method": "rmssd", "device": _device(point)})])

    def _heart_rate(self, body: dict, point: dict) -> Normalized:
        sample = body.get("sampleTime") or {}
        at = parse_time(sample.get("physicalTime"))
        bpm = number(body.get("beatsPerMinute"), "beatsPerMinute")
        return Normalized(readings=[Reading(metric="heart_rate", effective_at=at, value=bpm, device=_device(point),
                                            external_id=str(point.get("name") or "")[-100:])])

    def _steps_point(self, body: dict, point: dict) -> Normalized:
        interval = body.get("interval") or {}
        start = parse_time(interval.get("startTime"))
        count = number(body.get("count"), "count")
        day = _civil_date(interval.get("civilStartTime"), start, interval.get("startUtcOffset"))
        source = repr(sorted((point.get("dataSource") or {}).items())) if isinstance(
            point.get("dataSource"), dict) else ""
        self._steps[day][source] += count
        # Running total: pages are stored in order, so the day's last write is the full day.
        return Normalized(dailies=[Daily(day, {"steps": int(max(self._steps[day].values()))})])

    def _sleep(self, body: dict, point: dict) -> Normalized:
        interval = body.get("interval") or {}
        start, end = parse_time(interval.get("startTime")), parse_time(interval.get("endTime"))
        if end <= start:
            raise Malformed("sleep ends before it starts")
        # Dated by the user's civil day it ends (the provider's own day, WEARABLES.md).
        day = _civil_date(interval.get("civilEndTime"), end, interval.get("endUtcOffset"))
        summary = body.get("summary") or {}
        stages = {}
        for stage in summary.get("stagesSummary") or []:
            if isinstance(stage, dict) and stage.get("type"):
                stages[str(stage["type"]).upper()] = number(stage.get("minutes"), "stage minutes")
        if summary.get("minutesAsleep") is not None:
            asleep = number(summary["minutesAsleep"], "minutesAsleep") / 60
        else:
            asleep = (end - start).total_seconds() / 3600
        device = _device(point)
        out = Normalized(readings=[Reading(
            metric="sleep_session", effective_at=start, end_at=end, value=round(asleep, 3), context="sleep",
            device=device, external_id=str(point.get("name") or "")[-100:],
            details={"basis": "minutes_asleep" if summary.get("minutesAsleep") is not None else "in_bed",
                     "stages_min": stages or None},
        )])
        # A nap and the night can end on one day: the day's sleep is the longest one.
        if asleep >= self._longest_sleep.get(day, 0):
            self._longest_sleep[day] = asleep

            def hours(name):
                return stages[name] / 60 if name in stages else None

            awake = summary.get("minutesAwake")
            out.dailies.append(Daily(day, {
                "sleep_hours": round(asleep, 3), "sleep_deep_hours": hours("DEEP"),
                "sleep_light_hours": hours("LIGHT"), "sleep_rem_hours": hours("REM"),
                "sleep_awake_hours": number(awake, "minutesAwake") / 60 if awake is not None else hours("AWAKE"),
                "device": device,
            }))
        return out


PROVIDER = GoogleHealth
