"""Apple Health export parser: `export.xml`, plain or inside `export.zip`, streamed.

Memory stays flat whatever the file size (exports run to gigabytes):
- the XML is read as a stream (a zip member is opened with zipfile, never extracted);
- `iterparse` builds one top-level element at a time; it is cleared after use and
  dropped from the root, so the tree never grows;
- readings leave in batches (`sink(readings, dailies)`, e.g. 5,000 at a time);
- daily aggregates are small per-day dicts (a few numbers per day and source).

The parser writes nothing itself: `sink` is `wearables.ingest.store` for a real
import (see wearables.apple_import) or a counter for the benchmark (bench/apple_health.py).

Day boundaries are the patient's program time zone (`wearables.ingest.local_date`).
HRV from Apple Health is SDNN and stays SDNN (CLINICAL.md): never converted.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from wearables import ingest
from wearables.ingest import Daily, Reading

BATCH = 5_000
# How often (in top-level elements) the progress callback runs.
PROGRESS_EVERY = 5_000
# Where Apple puts the XML inside export.zip ("export.xml" alone: a re-zipped file).
ZIP_MEMBERS = ("apple_health_export/export.xml", "export.xml")
# An export's root element; the DTD before it is a few kilobytes.
SNIFF_BYTES = 64 * 1024
MAX_FAILURES_KEPT = 50

Q = "HKQuantityTypeIdentifier"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
BP_CORRELATION = "HKCorrelationTypeIdentifierBloodPressure"
SYSTOLIC, DIASTOLIC = Q + "BloodPressureSystolic", Q + "BloodPressureDiastolic"

# Sleep category values -> the stage they count towards (None: in bed, not asleep).
SLEEP_STAGES = {
    "HKCategoryValueSleepAnalysisInBed": None,
    "HKCategoryValueSleepAnalysisAsleep": "asleep",  # before iOS 16: no stages
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "asleep",
    "HKCategoryValueSleepAnalysisAsleepCore": "core",
    "HKCategoryValueSleepAnalysisAsleepDeep": "deep",
    "HKCategoryValueSleepAnalysisAsleepREM": "rem",
    "HKCategoryValueSleepAnalysisAwake": "awake",
}


class ExportError(ValueError):
    """The file is not an Apple Health export we can read (shown to the uploader)."""


class BadRecord(ValueError):
    """One record we can't read (number or date); counted as skipped."""


# --- Opening the file --------------------------------------------------------------


def zip_member(archive: zipfile.ZipFile) -> str:
    names = set(archive.namelist())
    for name in ZIP_MEMBERS:
        if name in names:
            return name
    raise ExportError("This zip file has no apple_health_export/export.xml. Upload the export.zip "
                      "the Health app made (Profile → Export All Health Data).")


@contextmanager
def open_export(fileobj: IO[bytes], name: str) -> Iterator[tuple[IO[bytes], Callable[[], int]]]:
    """(XML byte stream, position of the underlying file) for a .zip or .xml file object.

    The position is in the uploaded file's bytes (compressed, for a zip), so it
    compares with the upload's size for a progress bar."""
    if name.lower().endswith(".zip"):
        try:
            archive = zipfile.ZipFile(fileobj)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ExportError("This file is not a readable zip archive.") from exc
        with archive:
            member = zip_member(archive)
            try:
                stream = archive.open(member)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise ExportError(f"The export inside the zip can't be read ({exc}).") from exc
            with stream:
                yield stream, fileobj.tell
    else:
        yield fileobj, fileobj.tell


def sniff(fileobj: IO[bytes], name: str) -> None:
    """Raise ExportError unless the file looks like an Apple Health export. Leaves
    the file object at its start."""
    lower = name.lower()
    if not lower.endswith((".zip", ".xml")):
        raise ExportError("Upload export.zip or export.xml from the Health app.")
    try:
        with open_export(fileobj, name) as (stream, _):
            head = stream.read(SNIFF_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise ExportError("The file can't be read.") from exc
    finally:
        fileobj.seek(0)
    if b"<HealthData" not in head:
        raise ExportError("This file is not an Apple Health export (it has no <HealthData> element).")


# --- Values ------------------------------------------------------------------------


def number(text: str | None) -> float:
    """A finite float from an export value: '107.5', '107,5' (fr_FR), '1 234,5'."""
    if text is None:
        raise BadRecord("no value")
    try:
        value = float(text)
    except ValueError:
        cleaned = text.strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
        if "," in cleaned:
            if "." in cleaned:  # the last separator is the decimal one: 1.234,5 or 1,234.5
                thousands = "." if cleaned.rfind(",") > cleaned.rfind(".") else ","
                cleaned = cleaned.replace(thousands, "")
            cleaned = cleaned.replace(",", ".")
        try:
            value = float(cleaned)
        except ValueError:
            raise BadRecord(f"value {text!r} is not a number") from None
    if not math.isfinite(value):
        raise BadRecord(f"value {text!r} is not a finite number")
    return value


def moment(text: str | None) -> datetime:
    """'2018-12-21 08:03:56 +0100' -> an aware datetime."""
    if not text:
        raise BadRecord("no date")
    try:
        if len(text) == 25 and text[19] == " ":
            value = datetime.fromisoformat(text[:19] + text[20:])
        else:
            value = datetime.fromisoformat(text)
    except ValueError:
        raise BadRecord(f"date {text!r} can't be read") from None
    if value.tzinfo is None:
        raise BadRecord(f"date {text!r} has no time zone")
    return value


def device_label(source_name: str, device: str | None) -> str:
    """'Apple Watch (Watch4,2)' from the `<<HKDevice: 0x..>, name:Apple Watch, ...>` attribute."""
    if not device:
        return source_name[:200]
    parts = {}
    for chunk in device.strip("<>").split(", "):
        key, sep, value = chunk.partition(":")
        if sep:
            parts[key.strip()] = value.strip().rstrip(">")
    name = parts.get("name") or source_name
    hardware = parts.get("hardware")
    return (f"{name} ({hardware})" if hardware else name)[:200]


def is_watch(source_name: str, device: str | None) -> bool:
    return "Watch" in source_name or bool(device and "model:Watch" in device)


def to_kg(value, unit):
    factor = {"kg": 1.0, "g": 0.001, "lb": 0.45359237, "st": 6.35029318}.get(unit)
    if factor is None:
        raise BadRecord(f"unknown mass unit {unit!r}")
    return value * factor


def to_cm(value, unit):
    factor = {"cm": 1.0, "m": 100.0, "mm": 0.1, "ft": 30.48, "in": 2.54}.get(unit)
    if factor is None:
        raise BadRecord(f"unknown length unit {unit!r}")
    return value * factor


def to_km(value, unit):
    factor = {"km": 1.0, "m": 0.001, "mi": 1.609344, "yd": 0.0009144, "ft": 0.0003048}.get(unit)
    if factor is None:
        raise BadRecord(f"unknown distance unit {unit!r}")
    return value * factor


def to_kcal(value, unit):
    # "Cal" is the food calorie, i.e. a kilocalorie.
    factor = {"kcal": 1.0, "Cal": 1.0, "kJ": 1 / 4.184, "cal": 0.001, "J": 1 / 4184}.get(unit)
    if factor is None:
        raise BadRecord(f"unknown energy unit {unit!r}")
    return value * factor


def to_minutes(value, unit):
    factor = {"min": 1.0, "s": 1 / 60, "hr": 60.0, "h": 60.0, "ms": 1 / 60000}.get(unit or "min")
    if factor is None:
        raise BadRecord(f"unknown duration unit {unit!r}")
    return value * factor


def to_celsius(value, unit):
    if unit == "degC":
        return value
    if unit == "degF":
        return (value - 32) * 5 / 9
    if unit == "K":
        return value - 273.15
    raise BadRecord(f"unknown temperature unit {unit!r}")


def to_mg_dl(value, unit):
    if unit == "mg/dL":
        return value
    if unit and unit.startswith("mmol"):
        # Apple writes the molar mass into the unit: "mmol<180.1558800000541>/L".
        molar = 180.15588
        if "<" in unit and ">" in unit:
            molar = number(unit[unit.index("<") + 1:unit.index(">")])
        return value * molar / 10
    raise BadRecord(f"unknown glucose unit {unit!r}")


def to_percent(value, unit):
    # HealthKit stores SpO2 as a fraction (unit "%", value 0.97); some apps write 97.
    return value * 100 if value <= 1.0 else value


def per_minute(value, unit):
    if unit in ("count/min", "/min", None, ""):
        return value
    if unit == "count/s":
        return value * 60
    raise BadRecord(f"unknown rate unit {unit!r}")


def _same(value, unit):
    return value


# Quantity records that become one Observation each: type -> (metric, converter).
OBSERVED = {
    Q + "HeartRate": ("heart_rate", per_minute),
    Q + "RestingHeartRate": ("resting_heart_rate", per_minute),
    Q + "HeartRateVariabilitySDNN": ("hrv", _same),
    Q + "BodyMass": ("weight", to_kg),
    Q + "Height": ("height", to_cm),
    Q + "BodyMassIndex": ("bmi", _same),
    Q + "OxygenSaturation": ("spo2", to_percent),
    Q + "RespiratoryRate": ("respiratory_rate", per_minute),
    Q + "BodyTemperature": ("body_temperature", to_celsius),
    Q + "BloodGlucose": ("glucose", to_mg_dl),
    Q + "VO2Max": ("vo2max", _same),  # "mL/min·kg" is the catalogue's mL/kg/min
}
# Quantity records summed per local day (no Observation per sample): type -> converter.
SUMMED = {
    Q + "StepCount": _same,
    Q + "ActiveEnergyBurned": to_kcal,
}
HR_CONTEXT = {"1": "rest", "2": "active"}  # HKMetadataKeyHeartRateMotionContext

# Aggregate slots. Per (day, source): summed steps and energy (NaN: none reported),
# sleep seconds per stage, and the night's first and last asleep moments (timestamps).
STEPS, ENERGY, ASLEEP, CORE, DEEP, REM, AWAKE, SLEEP_START, SLEEP_END = range(9)
SOURCE_TEMPLATE = (math.nan, math.nan, 0.0, 0.0, 0.0, 0.0, 0.0, math.inf, -math.inf)
STAGE_SLOTS = {"asleep": ASLEEP, "core": CORE, "deep": DEEP, "rem": REM, "awake": AWAKE}
# Per day: sums and counts for the means, and the latest resting HR (timestamp, value).
HRV_SUM, HRV_N, SPO2_SUM, SPO2_N, RESP_SUM, RESP_N, RESTING_AT, RESTING = range(8)
DAY_TEMPLATE = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -math.inf, 0.0)
MAX_SOURCES = 4096


# --- The parse ---------------------------------------------------------------------


@dataclass
class Result:
    records_seen: int = 0
    stored: int = 0
    readings: int = 0
    skipped: int = 0
    unknown: dict = field(default_factory=dict)
    days: int = 0
    locale: str = ""
    failures: list = field(default_factory=list)

    @property
    def unknown_total(self) -> int:
        return sum(self.unknown.values())


def _pick(per_source: dict[int, float], watches: set[int]) -> float:
    """One day's value from one source.

    Apple Health keeps the iPhone's and the Apple Watch's samples side by side, so
    a walk counted by both appears twice; summing every source double counts. The
    rule: sum per source, then take the day's value from a single source -
    an Apple Watch source when there is one (worn all day, it sees the most
    steps and is what the Health app itself prefers), else the source with the
    largest total. If several watches reported, the largest of them."""
    preferred = [v for s, v in per_source.items() if s in watches]
    return max(preferred) if preferred else max(per_source.values())


class Parser:
    """parse(stream) -> Result. `sink(readings, dailies) -> int stored` receives batches;
    `progress(records_seen)` is called every PROGRESS_EVERY top-level elements;
    `on_skip(kind, error, raw)` for each unreadable record."""

    def __init__(self, patient, sink, *, batch: int = BATCH, progress=None, on_skip=None):
        self.patient = patient
        self.sink = sink
        self.batch_size = batch
        self.progress = progress
        self.on_skip = on_skip
        self.result = Result()
        self.batch: list[Reading] = []
        # Per-day aggregates, compact so memory grows by well under 1 KB per day of data:
        # sources get a small index; one float array per (day, source) and one per day.
        self.sources: dict[str, int] = {}
        self.watches: set[int] = set()  # indexes of Apple Watch sources
        self.sleep_device: dict[int, str] = {}
        self.by_source: dict[int, array] = {}  # key: date ordinal * MAX_SOURCES + source index
        self.by_day: dict[int, array] = {}  # key: date ordinal
        self._devices: dict[tuple, str] = {}

    def local_date(self, when: datetime) -> date:
        return ingest.local_date(when, self.patient)

    def device(self, source: str, device: str | None) -> str:
        key = (source, device)
        label = self._devices.get(key)
        if label is None:
            if len(self._devices) > 1_000:  # the HKDevice text carries a memory address: bound the cache
                self._devices.clear()
            label = self._devices[key] = device_label(source, device)
        return label

    # The tree: start events give the root (to drop finished children from it) and
    # the depth (a Record inside a Correlation must wait for its Correlation).
    def parse(self, stream: IO[bytes]) -> Result:
        depth = 0
        root = None
        # defusedxml: an uploaded file declaring entities (billion laughs, external
        # entities) is refused; Apple's own internal DTD declares none and parses.
        for event, elem in DefusedET.iterparse(stream, events=("start", "end")):
            if event == "start":
                depth += 1
                if root is None:
                    root = elem
                    self.result.locale = elem.get("locale", "")
                continue
            depth -= 1
            if depth != 1:
                continue  # children are read with their parent
            tag = elem.tag
            if tag in ("Record", "Workout", "Correlation"):
                self.result.records_seen += 1
                try:
                    if tag == "Record":
                        self.record(elem)
                    elif tag == "Workout":
                        self.workout(elem)
                    else:
                        self.correlation(elem)
                except (BadRecord, ingest.InvalidReading) as exc:
                    self.skip(tag, exc, elem)
                if self.progress is not None and self.result.records_seen % PROGRESS_EVERY == 0:
                    self.progress(self.result.records_seen)
            elem.clear()
            root.clear()  # drops the finished child: the tree stays one element deep
        self.flush()
        self.flush_days()
        return self.result

    def skip(self, kind: str, exc: Exception, elem) -> None:
        self.result.skipped += 1
        raw = ""
        if len(self.result.failures) < MAX_FAILURES_KEPT:
            raw = ET.tostring(elem, encoding="unicode")[:4000]
            self.result.failures.append((kind, str(exc), raw))
        if self.on_skip is not None:
            self.on_skip(kind, str(exc), raw)

    def add(self, reading: Reading) -> None:
        ingest.check(reading)
        self.batch.append(reading)
        if len(self.batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.result.readings += len(self.batch)
            self.result.stored += self.sink(self.batch, [])
            self.batch = []

    # --- Records ---

    def record(self, elem) -> None:
        get = elem.get
        kind = get("type") or ""
        if kind in SUMMED:
            self.summed(kind, elem)
        elif kind in OBSERVED:
            self.observed(kind, elem)
        elif kind == SLEEP:
            self.sleep_segment(elem)
        elif kind in (SYSTOLIC, DIASTOLIC):
            pass  # also inside their BP Correlation (Apple's DTD says so): read there, once
        else:
            self.result.unknown[kind] = self.result.unknown.get(kind, 0) + 1

    def summed(self, kind: str, elem) -> None:
        get = elem.get
        value = SUMMED[kind](number(get("value")), get("unit"))
        start = moment(get("startDate"))
        moment(get("endDate"))  # a broken end date makes the record unreadable too
        # Dated by the local day the sample starts in (a sample is minutes long).
        slots = self.source_slots(start, get("sourceName") or "", get("device"))
        slot = STEPS if kind == Q + "StepCount" else ENERGY
        slots[slot] = value if math.isnan(slots[slot]) else slots[slot] + value

    def observed(self, kind: str, elem) -> None:
        get = elem.get
        metric, convert = OBSERVED[kind]
        unit = get("unit")
        value = convert(number(get("value")), unit)
        start = moment(get("startDate"))
        end = moment(get("endDate"))
        source = get("sourceName") or ""
        method = context = ""
        if metric == "hrv":
            method = "sdnn"  # HeartRateVariabilitySDNN: SDNN, kept as SDNN (never converted)
            self._mean(HRV_SUM, start, value)
        elif metric == "heart_rate":
            for entry in elem.iter("MetadataEntry"):
                if entry.get("key") == "HKMetadataKeyHeartRateMotionContext":
                    context = HR_CONTEXT.get(entry.get("value", ""), "")
        elif metric == "resting_heart_rate":
            day = self.day_slots(start)
            if start.timestamp() >= day[RESTING_AT]:  # the day's latest
                day[RESTING_AT], day[RESTING] = start.timestamp(), value
        elif metric == "spo2":
            self._mean(SPO2_SUM, start, value)
        elif metric == "respiratory_rate":
            self._mean(RESP_SUM, start, value)
        self.add(Reading(metric=metric, effective_at=start, value=round(value, 4),
                         end_at=end if end != start else None, method=method, context=context,
                         device=self.device(source, get("device"))))

    def _mean(self, slot: int, when: datetime, value: float) -> None:
        day = self.day_slots(when)
        day[slot] += value
        day[slot + 1] += 1  # the count follows the sum

    def day_slots(self, when: datetime) -> array:
        key = self.local_date(when).toordinal()
        slots = self.by_day.get(key)
        if slots is None:
            slots = self.by_day[key] = array("d", DAY_TEMPLATE)
        return slots

    def source_slots(self, when: datetime, source: str, device: str | None) -> array:
        index = self.sources.get(source)
        if index is None:
            if len(self.sources) >= MAX_SOURCES:
                raise BadRecord(f"more than {MAX_SOURCES} sources")
            index = self.sources[source] = len(self.sources)
        if index not in self.watches and is_watch(source, device):
            self.watches.add(index)
        key = self.local_date(when).toordinal() * MAX_SOURCES + index
        slots = self.by_source.get(key)
        if slots is None:
            slots = self.by_source[key] = array("d", SOURCE_TEMPLATE)
        return slots

    def sleep_segment(self, elem) -> None:
        get = elem.get
        stage = SLEEP_STAGES.get(get("value") or "", "unknown")
        if stage == "unknown":
            raise BadRecord(f"unknown sleep value {get('value')!r}")
        start, end = moment(get("startDate")), moment(get("endDate"))
        if end < start:
            raise BadRecord("sleep ends before it starts")
        if stage is None:
            return  # in bed: not sleep
        source = get("sourceName") or ""
        # A night is dated by the local day it ends (the morning), like the providers do.
        night = self.source_slots(end, source, get("device"))
        night[STAGE_SLOTS[stage]] += (end - start).total_seconds()
        if stage != "awake":  # the session spans the sleep, not the time awake around it
            night[SLEEP_START] = min(night[SLEEP_START], start.timestamp())
            night[SLEEP_END] = max(night[SLEEP_END], end.timestamp())
            self.sleep_device[self.sources[source]] = self.device(source, get("device"))

    def workout(self, elem) -> None:
        get = elem.get
        start, end = moment(get("startDate")), moment(get("endDate"))
        if get("duration"):
            minutes = to_minutes(number(get("duration")), get("durationUnit"))
        else:
            minutes = (end - start).total_seconds() / 60
        details = {"activity": (get("workoutActivityType") or "").removeprefix("HKWorkoutActivityType")}
        if get("totalEnergyBurned"):
            details["energy_kcal"] = round(to_kcal(number(get("totalEnergyBurned")),
                                                   get("totalEnergyBurnedUnit")), 2)
        if get("totalDistance"):
            details["distance_km"] = round(to_km(number(get("totalDistance")), get("totalDistanceUnit")), 4)
        # iOS 16+ exports put the totals in <WorkoutStatistics> children instead.
        for stat in elem.iter("WorkoutStatistics"):
            kind, total = stat.get("type") or "", stat.get("sum")
            if not total:
                continue
            if kind == Q + "ActiveEnergyBurned" and "energy_kcal" not in details:
                details["energy_kcal"] = round(to_kcal(number(total), stat.get("unit")), 2)
            elif kind.startswith(Q + "Distance") and "distance_km" not in details:
                details["distance_km"] = round(to_km(number(total), stat.get("unit")), 4)
        self.add(Reading(metric="workout", effective_at=start, end_at=end, value=round(minutes, 2),
                         context=details["activity"][:20], details=details,
                         device=self.device(get("sourceName") or "", get("device"))))

    def correlation(self, elem) -> None:
        if elem.get("type") != BP_CORRELATION:
            kind = elem.get("type") or "Correlation"
            self.result.unknown[kind] = self.result.unknown.get(kind, 0) + 1
            return
        systolic = diastolic = None
        for child in elem.iter("Record"):
            if child.get("type") == SYSTOLIC:
                systolic = number(child.get("value"))
            elif child.get("type") == DIASTOLIC:
                diastolic = number(child.get("value"))
        if systolic is None or diastolic is None:
            raise BadRecord("blood pressure without both systolic and diastolic")
        start = moment(elem.get("startDate"))
        self.add(Reading(metric="blood_pressure", effective_at=start, value=systolic, value2=diastolic,
                         device=self.device(elem.get("sourceName") or "", elem.get("device"))))

    # --- Days ---

    def flush_days(self) -> None:
        """Daily values, day by day in date order, freeing each day's aggregates as it goes."""
        self.flush()
        names = {index: name for name, index in self.sources.items()}
        source_keys = sorted(self.by_source)
        ordinals = sorted(set(self.by_day) | {key // MAX_SOURCES for key in source_keys})
        position, dailies = 0, []
        for ordinal in ordinals:
            per_source = []
            while position < len(source_keys) and source_keys[position] // MAX_SOURCES == ordinal:
                key = source_keys[position]
                per_source.append((key % MAX_SOURCES, self.by_source.pop(key)))
                position += 1
            day = date.fromordinal(ordinal)
            values = self.day_values(day, per_source, self.by_day.pop(ordinal, None), names)
            if values:
                dailies.append(Daily(date=day, values=values))
            if len(dailies) >= 500:
                self.send_days(dailies)
                dailies = []
        self.flush()
        self.send_days(dailies)

    def send_days(self, dailies: list[Daily]) -> None:
        if dailies:
            self.result.days += len(dailies)
            self.result.stored += self.sink([], dailies)

    def day_values(self, day: date, per_source: list, slots: array | None, names: dict) -> dict:
        values: dict = {}
        steps = {i: a[STEPS] for i, a in per_source if not math.isnan(a[STEPS])}
        if steps:
            values["steps"] = int(round(_pick(steps, self.watches)))
        energy = {i: a[ENERGY] for i, a in per_source if not math.isnan(a[ENERGY])}
        if energy:
            values["active_energy_kcal"] = round(_pick(energy, self.watches), 3)
        if slots is not None:
            if slots[HRV_N]:
                values["hrv_ms"], values["hrv_method"] = round(slots[HRV_SUM] / slots[HRV_N], 4), "sdnn"
            if slots[RESTING_AT] != -math.inf:
                values["resting_hr"] = slots[RESTING]
            if slots[SPO2_N]:
                values["spo2"] = round(slots[SPO2_SUM] / slots[SPO2_N], 4)
            if slots[RESP_N]:
                values["respiratory_rate"] = round(slots[RESP_SUM] / slots[RESP_N], 4)
        # Sleep: one source's night (the watch's, else the longest). Phone and watch
        # both log sleep, and adding them up would double it: same rule as steps.
        asleep = {i: a[ASLEEP] + a[CORE] + a[DEEP] + a[REM] for i, a in per_source if a[SLEEP_START] != math.inf}
        if asleep:
            best = _pick(asleep, self.watches)
            chosen = min((i for i, v in asleep.items() if v == best), key=lambda i: (i not in self.watches, i))
            night = dict(per_source)[chosen]
            staged = night[CORE] or night[DEEP] or night[REM]
            hours = best / 3600
            values.update(
                sleep_hours=round(hours, 3),
                sleep_deep_hours=round(night[DEEP] / 3600, 3) if staged else None,
                sleep_light_hours=round(night[CORE] / 3600, 3) if staged else None,
                sleep_rem_hours=round(night[REM] / 3600, 3) if staged else None,
                sleep_awake_hours=round(night[AWAKE] / 3600, 3) if night[AWAKE] else None)
            if hours > 0:
                stages = {f"{name}_h": round(night[slot] / 3600, 3)
                          for name, slot in (("core", CORE), ("deep", DEEP), ("rem", REM), ("awake", AWAKE))
                          if night[slot]}
                self.add(Reading(metric="sleep_session", value=round(hours, 3),
                                 effective_at=datetime.fromtimestamp(night[SLEEP_START], UTC),
                                 end_at=datetime.fromtimestamp(night[SLEEP_END], UTC),
                                 device=self.sleep_device.get(chosen, names[chosen][:200]),
                                 details={"date": day.isoformat(), **stages}))
        return {k: v for k, v in values.items() if v is not None}


def parse_file(fileobj: IO[bytes], name: str, patient, sink, **kwargs) -> Result:
    """Open (.zip or .xml) and parse. `kwargs` go to Parser; `position` callbacks get
    the underlying file's byte offset through `progress(records_seen, bytes_read)`."""
    progress = kwargs.pop("progress", None)
    with open_export(fileobj, name) as (stream, position):
        wrapped = (lambda seen: progress(seen, position())) if progress else None
        try:
            return Parser(patient, sink, progress=wrapped, **kwargs).parse(stream)
        except ET.ParseError as exc:
            raise ExportError(f"The export's XML is broken ({exc}).") from exc
        except DefusedXmlException as exc:
            raise ExportError("The file declares XML entities, which Apple Health exports never do.") from exc
