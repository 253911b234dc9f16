"""Withings (WEARABLES.md): `POST {api_base}/measure` form `action=getmeas`,
`meastypes`, `category`, `lastupdate` (unix seconds), `offset` paging while
`more`. Withings answers HTTP 200 even on errors, with an envelope
`{"status": N, "body": {...}}`: status 0 is success, 401 an invalid token, 601 too many
requests; `logical_status` maps those onto HTTP codes so the shared session refreshes,
backs off and fails exactly as for every other provider.

A measure's value is `value × 10^unit`. Types: 1 weight kg, 4 height m (stored cm),
9 diastolic + 10 systolic of one group = ONE blood pressure, 11 heart pulse, 54 SpO2 %,
12 temperature, 71 body temperature, 73 skin temperature. Groups are dated by `date`
(unix, UTC). Withings has no daily summaries of these: observations only.

OAuth token calls go to `.../v2/oauth2` with `action=requesttoken` and answer with the
same envelope around the token set (`userid` included).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import httpx

from wearables.ingest import Reading
from wearables.providers.base import Malformed, NeedsReconsent, Normalized, Page, Provider, ProviderError

DEVICE = "Withings"
WEIGHT, HEIGHT, DIASTOLIC, SYSTOLIC, PULSE, SPO2, TEMPERATURE, BODY_TEMP, SKIN_TEMP = 1, 4, 9, 10, 11, 54, 12, 71, 73
MEASTYPES = (WEIGHT, HEIGHT, DIASTOLIC, SYSTOLIC, PULSE, SPO2, TEMPERATURE, BODY_TEMP, SKIN_TEMP)
# Measures Withings could not attribute to this user (attrib 1: "ambiguous", e.g. a
# relative stepped on the shared scale). Storing them would put someone else's
# reading in this patient's record, so they are left out until the user confirms them.
AMBIGUOUS = 1
REAL_MEASURES = 1  # category 1; 2 = the user's objectives, not measurements
# Envelope statuses that are transient rather than a refused grant.
RATE_LIMITED = 601
TRANSIENT = {522, 2555}  # timeout, "an unknown error occurred"


def _scaled(measure: dict) -> float:
    """value × 10^unit, exactly (Decimal), then a float."""
    try:
        value = Decimal(int(measure["value"])).scaleb(int(measure["unit"]))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise Malformed(f"measure without integer value/unit: {measure!r}") from exc
    result = float(value)
    if not math.isfinite(result):
        raise Malformed(f"measure out of range: {measure!r}")
    return result


class Withings(Provider):
    name = "withings"
    label = "Withings"
    scopes = ("user.metrics",)
    scope_separator = ","

    # --- OAuth -------------------------------------------------------------------
    def _token_request(self, form: dict) -> dict:
        # Same grant types as OAuth 2, plus Withings' action parameter.
        return super()._token_request({"action": "requesttoken", **form})

    def token_payload(self, data: dict) -> dict:
        status = data.get("status") if isinstance(data, dict) else None
        if status == 0 and isinstance(data.get("body"), dict):
            return data["body"]
        if status == RATE_LIMITED or status in TRANSIENT:
            raise ProviderError(f"Withings token endpoint status {status}; try again later")
        # An invalid code or refresh token (Withings says "invalid params", 503):
        # the grant is gone.
        raise NeedsReconsent(f"Withings token endpoint refused (status {status}): "
                             f"{str(data.get('error', ''))[:200] if isinstance(data, dict) else ''}")

    def logical_status(self, response: httpx.Response) -> int:
        if response.status_code != 200:
            return response.status_code
        try:
            status = response.json().get("status")
        except (ValueError, AttributeError):
            return response.status_code  # not an envelope: read (and refused) by the caller
        if status == 0:
            return 200
        if status == 401:
            return 401
        if status == RATE_LIMITED:
            return 429
        if status in TRANSIENT:
            return 503
        return 400

    # --- Data --------------------------------------------------------------------
    def fetch(self, session, start, end):
        endpoint = "/measure"
        offset = None
        while True:
            # `lastupdate` (not startdate/enddate): measures created or edited since the
            # window start, so a reading uploaded late (a cuff synced days after use) is
            # still fetched even though it is dated before the window.
            form = {"action": "getmeas", "meastypes": ",".join(str(t) for t in MEASTYPES),
                    "category": str(REAL_MEASURES), "lastupdate": str(int(start.timestamp()))}
            if offset is not None:
                form["offset"] = str(offset)
            response = session.request("POST", endpoint, data=form)
            if self.logical_status(response) >= 400:
                raise ProviderError(f"Withings {endpoint} answered {response.status_code}: {response.text[:300]}")
            try:
                data = response.json()
            except ValueError as exc:
                raise Malformed(f"{endpoint}: not JSON: {response.text[:200]}") from exc
            body = data.get("body") if isinstance(data, dict) else None
            if not isinstance(body, dict) or not isinstance(body.get("measuregrps"), list):
                raise Malformed(f"{endpoint}: no measuregrps list")
            yield Page(endpoint, body["measuregrps"], response.text)
            if not body.get("more"):
                return
            next_offset = body.get("offset")
            if not isinstance(next_offset, int) or next_offset == offset:
                raise Malformed(f"{endpoint}: more=1 without a new offset ({next_offset!r})")
            offset = next_offset

    def normalize(self, endpoint, record, tz) -> Normalized:
        if not isinstance(record, dict):
            raise Malformed("measure group is not an object")
        try:
            return self._group(record)
        except Malformed:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Malformed(f"measure group: {exc!r}") from exc

    def _group(self, g: dict) -> Normalized:
        if g.get("category", REAL_MEASURES) != REAL_MEASURES or g.get("attrib") == AMBIGUOUS:
            return Normalized()
        stamp = g.get("date")
        if isinstance(stamp, bool) or not isinstance(stamp, int):
            raise Malformed(f"group date is not a unix time: {stamp!r}")
        at = datetime.fromtimestamp(stamp, UTC)
        measures = g.get("measures")
        if not isinstance(measures, list):
            raise Malformed("group without measures")
        values: dict[int, float] = {}
        for m in measures:
            if not isinstance(m, dict):
                raise Malformed("measure is not an object")
            if m.get("type") in MEASTYPES:
                values[m["type"]] = _scaled(m)
        device = str(g.get("model") or DEVICE)
        ext = str(g.get("grpid") or "")
        details = {"grpid": g.get("grpid"), "attrib": g.get("attrib"), "timezone": g.get("timezone")}
        details = {k: v for k, v in details.items() if v is not None}

        def reading(metric, value, **kw):
            return Reading(metric=metric, effective_at=at, value=value, device=device, external_id=ext,
                           details=details, **kw)

        out = Normalized()
        if (SYSTOLIC in values) != (DIASTOLIC in values):
            # Half a blood pressure is no blood pressure: keep the group for diagnosis.
            raise Malformed("blood pressure group with only one of systolic/diastolic")
        if SYSTOLIC in values:
            out.readings.append(reading("blood_pressure", values[SYSTOLIC], value2=values[DIASTOLIC],
                                        context="home"))
        if WEIGHT in values:
            out.readings.append(reading("weight", values[WEIGHT]))
        if HEIGHT in values:
            out.readings.append(reading("height", round(values[HEIGHT] * 100, 3)))  # m -> cm
        if PULSE in values:
            out.readings.append(reading("heart_rate", values[PULSE]))
        if SPO2 in values:
            out.readings.append(reading("spo2", values[SPO2]))
        body_temp = values.get(BODY_TEMP, values.get(TEMPERATURE))  # 71 is the specific one
        if body_temp is not None:
            out.readings.append(reading("body_temperature", body_temp))
        if SKIN_TEMP in values:
            out.readings.append(reading("skin_temperature", values[SKIN_TEMP]))
        return out


PROVIDER = Withings
