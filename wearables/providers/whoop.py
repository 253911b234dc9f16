"""WHOOP developer API v2 (WEARABLES.md): /v2/activity/sleep, /v2/recovery,
/v2/activity/workout; `limit` <= 25, `start`/`end` ISO-8601 (end exclusive),
`nextToken`; `{"records": [...], "next_token": ...}`. Scores exist only when
`score_state == "SCORED"`. Refresh tokens rotate (base stores every new one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from wearables.ingest import Daily, Reading
from wearables.providers.base import Malformed, Normalized, Page, Provider
from wearables.providers.parse import parse_time

MS_PER_HOUR = 3_600_000
KJ_PER_KCAL = 4.184


def _offset(value) -> timezone | None:
    """WHOOP's `timezone_offset` ("-05:00"): the wearer's clock at the time."""
    try:
        sign = -1 if str(value).startswith("-") else 1
        hours, minutes = str(value).lstrip("+-").split(":")
        return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    except (ValueError, AttributeError):
        return None


class Whoop(Provider):
    name = "whoop"
    label = "WHOOP"
    scopes = ("offline", "read:recovery", "read:sleep", "read:workout", "read:cycles", "read:profile",
              "read:body_measurement")
    revoke_path = "/v2/user/access"
    # Sleep before recovery: a recovery is dated by the sleep it follows.
    endpoints = ("/v2/activity/sleep", "/v2/recovery", "/v2/activity/workout")

    def __init__(self):
        super().__init__()
        self._sleep_days: dict[str, object] = {}
        self._sleep_ends: dict[str, datetime] = {}

    def fetch(self, session, start, end):
        for endpoint in self.endpoints:
            token = None
            while True:
                params = {"limit": 25, "start": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                          "end": end.astimezone(UTC).isoformat().replace("+00:00", "Z")}
                if token:
                    params["nextToken"] = token
                data, raw = session.get_json(endpoint, params=params)
                if not isinstance(data, dict) or not isinstance(data.get("records"), list):
                    raise Malformed(f"{endpoint}: no records list")
                yield Page(endpoint, data["records"], raw)
                token = data.get("next_token")
                if not token:
                    break

    def normalize(self, endpoint, record, tz) -> Normalized:
        if not isinstance(record, dict):
            raise Malformed("record is not an object")
        if endpoint.endswith("/sleep"):
            return self._sleep(record, tz)
        if endpoint.endswith("/recovery"):
            return self._recovery(record, tz)
        return self._workout(record)

    def _local_day(self, moment: datetime, record: dict, tz):
        return moment.astimezone(_offset(record.get("timezone_offset")) or tz).date()

    def _sleep(self, r: dict, tz) -> Normalized:
        start, end = parse_time(r.get("start")), parse_time(r.get("end"))
        if end <= start:
            raise Malformed("sleep ends before it starts")
        out = Normalized()
        day = self._local_day(end, r, tz)  # WHOOP dates a night by the morning it ends
        sleep_id = str(r.get("id") or "")
        nap = bool(r.get("nap"))
        if not nap and sleep_id:
            self._sleep_days[sleep_id] = day
            self._sleep_ends[sleep_id] = end
        if r.get("score_state") != "SCORED":
            return out
        score = r.get("score") or {}
        stages = score.get("stage_summary") or {}
        light = stages.get("total_light_sleep_time_milli")
        deep = stages.get("total_slow_wave_sleep_time_milli")
        rem = stages.get("total_rem_sleep_time_milli")
        awake = stages.get("total_awake_time_milli")
        try:
            asleep = (light + deep + rem) / MS_PER_HOUR if None not in (light, deep, rem) else None
            values = {
                "sleep_hours": round(asleep, 3) if asleep is not None else None,
                "sleep_light_hours": light / MS_PER_HOUR if light is not None else None,
                "sleep_deep_hours": deep / MS_PER_HOUR if deep is not None else None,
                "sleep_rem_hours": rem / MS_PER_HOUR if rem is not None else None,
                "sleep_awake_hours": awake / MS_PER_HOUR if awake is not None else None,
                "respiratory_rate": float(score["respiratory_rate"]) if score.get("respiratory_rate") else None,
            }
        except (TypeError, ValueError) as exc:
            raise Malformed(f"sleep score: {exc}") from exc
        hours = asleep if asleep is not None else (end - start).total_seconds() / 3600
        out.readings.append(Reading(
            metric="sleep_session", effective_at=start, end_at=end, value=round(hours, 3),
            context="nap" if nap else "sleep", external_id=sleep_id, device="WHOOP",
            details={"basis": "stages" if asleep is not None else "in_bed",
                     "performance_pct": score.get("sleep_performance_percentage"),
                     "efficiency_pct": score.get("sleep_efficiency_percentage")},
        ))
        if values["respiratory_rate"] is not None:
            out.readings.append(Reading(metric="respiratory_rate", effective_at=end, context="sleep",
                                        value=values["respiratory_rate"], device="WHOOP", external_id=sleep_id))
        if not nap:
            out.dailies.append(Daily(day, {**values, "device": "WHOOP"}))
        return out

    def _recovery(self, r: dict, tz) -> Normalized:
        out = Normalized()
        if r.get("score_state") != "SCORED":
            return out  # PENDING_SCORE / UNSCORABLE: nothing to store yet
        score = r.get("score")
        if not isinstance(score, dict):
            raise Malformed("scored recovery without score")
        sleep_id = str(r.get("sleep_id") or "")
        at = self._sleep_ends.get(sleep_id) or parse_time(r.get("created_at"))
        day = self._sleep_days.get(sleep_id) or at.astimezone(tz).date()
        try:
            hrv = float(score["hrv_rmssd_milli"])
            rhr = float(score["resting_heart_rate"])
            recovery = float(score["recovery_score"])
            spo2 = float(score["spo2_percentage"]) if score.get("spo2_percentage") is not None else None
            skin = float(score["skin_temp_celsius"]) if score.get("skin_temp_celsius") is not None else None
        except (KeyError, TypeError, ValueError) as exc:
            raise Malformed(f"recovery score: {exc}") from exc
        ext = f"{r.get('cycle_id')}"
        out.readings += [
            Reading(metric="hrv", effective_at=at, value=hrv, method="rmssd", context="sleep", device="WHOOP",
                    external_id=ext),
            Reading(metric="resting_heart_rate", effective_at=at, value=rhr, device="WHOOP", external_id=ext),
        ]
        if spo2 is not None:
            out.readings.append(Reading(metric="spo2", effective_at=at, value=spo2, context="sleep", device="WHOOP",
                                        external_id=ext))
        if skin is not None:
            out.readings.append(Reading(metric="skin_temperature", effective_at=at, value=skin, device="WHOOP",
                                        external_id=ext))
        out.dailies.append(Daily(day, {"hrv_ms": hrv, "hrv_method": "rmssd", "resting_hr": rhr,
                                       "recovery_score": recovery, "spo2": spo2, "device": "WHOOP"}))
        return out

    def _workout(self, r: dict) -> Normalized:
        start, end = parse_time(r.get("start")), parse_time(r.get("end"))
        if end < start:
            raise Malformed("workout ends before it starts")
        score = r.get("score") if r.get("score_state") == "SCORED" else {}
        score = score or {}
        kj = score.get("kilojoule")
        details = {"sport_id": r.get("sport_id"), "sport_name": r.get("sport_name"),
                   "strain": score.get("strain"), "average_heart_rate": score.get("average_heart_rate"),
                   "max_heart_rate": score.get("max_heart_rate"),
                   "energy_kcal": round(kj / KJ_PER_KCAL, 1) if isinstance(kj, int | float) else None,
                   "distance_m": score.get("distance_meter")}
        return Normalized(readings=[Reading(
            metric="workout", effective_at=start, end_at=end, value=round((end - start).total_seconds() / 60, 2),
            device="WHOOP", external_id=str(r.get("id") or ""), details={k: v for k, v in details.items()
                                                                        if v is not None},
        )])


PROVIDER = Whoop
