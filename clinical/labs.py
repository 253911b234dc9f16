"""Lab orders and results (ma_blood_tests 000, LabOrder 003).

An order moves ORDERED -> IN_PROGRESS -> COMPLETED, or to CANCELLED (with a reason)
from either open state. COMPLETED is reached only by entering the results
(`lab_results_enter`), which creates the BloodTest rows and completes the order in
one transaction. Anything else is refused with a message that says why.
Every write is audited; LabOrder and BloodTest keep their history (simple-history).
Reads take a patient the caller has already gated; one order by id comes through
`lab_order_for` (the gate's `access.load`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinical import classify
from clinical.models import BloodTest, LabOrder
from mahalo import access, audit

Status = LabOrder.Status
TRANSITIONS: dict[str, set[str]] = {
    Status.ORDERED: {Status.IN_PROGRESS, Status.CANCELLED},
    Status.IN_PROGRESS: {Status.CANCELLED},  # -> COMPLETED only by entering the results
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
}
OPEN = (Status.ORDERED, Status.IN_PROGRESS)
FUTURE_SLACK = timedelta(minutes=5)
MAX_TESTS = 30

# Common tests: name shown, LOINC, usual unit, adult reference range (low, high) as a starting
# point; the lab's own range, typed with the result, is the one stored.
COMMON_TESTS: dict[str, tuple[str, str, float | None, float | None]] = {
    "HbA1c": ("4548-4", "%", 4.0, 5.6),
    "Fasting glucose": ("1558-6", "mg/dL", 70, 99),
    "Total cholesterol": ("2093-3", "mg/dL", None, 200),
    "LDL cholesterol": ("13457-7", "mg/dL", None, 100),
    "HDL cholesterol": ("2085-9", "mg/dL", 40, None),
    "Triglycerides": ("2571-8", "mg/dL", None, 150),
    "Creatinine": ("2160-0", "mg/dL", 0.6, 1.3),
    "eGFR": ("62238-1", "mL/min/1.73m2", 60, None),
    "Potassium": ("2823-3", "mmol/L", 3.5, 5.1),
    "Sodium": ("2951-2", "mmol/L", 135, 145),
    "TSH": ("3016-3", "mIU/L", 0.4, 4.0),
    "Hemoglobin": ("718-7", "g/dL", 12.0, 17.5),
    "BNP": ("30934-4", "pg/mL", None, 100),
}
A1C_NAMES = {"hba1c", "a1c", "hemoglobin a1c", "haemoglobin a1c", "glycated hemoglobin", "glycohemoglobin"}
A1C_LOINC = "4548-4"
A1C_LABELS = {"normal": "Normal", "prediabetes": "Prediabetes range", "diabetes": "Diabetes range"}


def orders_for(patient) -> list[LabOrder]:
    """A (gated) patient's lab orders, newest first, with who ordered them."""
    return list(LabOrder.objects.filter(patient_id=patient.pk).select_related("ordered_by").order_by("-ordered_at"))


def lab_order_for(request, patient, order_id, *, action: str = "read") -> LabOrder:
    """One of this patient's orders through the gate: 404 for another patient's order,
    a missing or a malformed id alike."""
    return access.load(request, LabOrder.objects.filter(patient_id=patient.pk), order_id, resource="clinical",
                       action=action)


def is_a1c(test_name: str, loinc: str = "") -> bool:
    return loinc == A1C_LOINC or test_name.strip().lower() in A1C_NAMES


def a1c_category(result: BloodTest) -> str:
    """ADA class of an A1C in % (results in mmol/mol are not classified)."""
    if is_a1c(result.test_name, result.loinc) and result.unit.strip() in ("%", ""):
        return classify.a1c_category(result.value)
    return ""


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def lab_order_create(*, patient, tests: list[str], notes: str = "", actor, request=None, visit_ref=None) -> LabOrder:
    """`visit_ref`: the id of the scheduling.Visit the order was placed in (the caller checked it is this
    patient's; clinical does not import scheduling)."""
    names = list(dict.fromkeys(t.strip()[:120] for t in tests if t and t.strip()))
    if not names:
        raise _error("tests", "Name at least one test.")
    if len(names) > MAX_TESTS:
        raise _error("tests", f"At most {MAX_TESTS} tests per order.")
    with transaction.atomic():
        order = LabOrder.objects.create(project_id=patient.project_id, patient=patient, program_id=patient.program_id,
                                        ordered_by=actor, tests=names, notes=notes.strip(), visit_ref=visit_ref)
        audit.record(action="write", request=request, actor=actor, resource="clinical", patient=patient,
                     object_id=order.pk, metadata={"event": "lab_order_create", "tests": names})
    return order


def lab_order_transition(*, order: LabOrder, to: str, actor, reason: str = "", request=None) -> LabOrder:
    """Move an order to `to`. Raises ValidationError with a clear message for a transition
    the workflow doesn't allow (e.g. reopening a cancelled order)."""
    with transaction.atomic():
        order = LabOrder.objects.select_for_update().get(pk=order.pk)
        current = order.status
        if to == Status.COMPLETED:
            raise _error("status", "An order is completed by entering its results.")
        if to not in TRANSITIONS.get(current, set()):
            raise _error("status", f"A {order.get_status_display().lower()} order can't be moved to "
                                   f"“{Status(to).label.lower() if to in Status.values else to}”.")
        reason = (reason or "").strip()
        if to == Status.CANCELLED and not reason:
            raise _error("reason", "Give a reason for cancelling.")
        order.status = to
        if to == Status.CANCELLED:
            order.cancelled_reason = reason[:1000]
        order._change_reason = reason[:100] if reason else f"{current} -> {to}"
        order.save()
        audit.record(action="update", request=request, actor=actor, resource="clinical", patient=order.patient,
                     object_id=order.pk, metadata={"event": "lab_order_transition", "from": current, "to": to,
                                                   **({"reason": reason[:300]} if reason else {})})
    return order


@dataclass
class ResultIn:
    test_name: str
    value: float
    unit: str = ""
    reference_low: float | None = None
    reference_high: float | None = None
    recorded_at: datetime | None = None
    loinc: str = ""


def _check_result(index: int, r: ResultIn, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    prefix = f"results.{index}."
    if not (r.test_name or "").strip():
        errors[prefix + "test_name"] = ["Name the test."]
    for name in ("value", "reference_low", "reference_high"):
        v = getattr(r, name)
        if name == "value" and v is None:
            errors[prefix + name] = ["Enter the result."]
        elif v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)):
            errors[prefix + name] = ["Enter a number."]
    low, high = r.reference_low, r.reference_high
    if prefix + "reference_low" not in errors and prefix + "reference_high" not in errors and \
            low is not None and high is not None and low > high:
        errors[prefix + "reference_high"] = ["The upper limit is below the lower one."]
    if r.recorded_at is None or timezone.is_naive(r.recorded_at):
        errors[prefix + "recorded_at"] = ["Give the date and time of the sample, with a time zone."]
    elif r.recorded_at > now + FUTURE_SLACK:
        errors[prefix + "recorded_at"] = ["The time is in the future."]
    return errors


def lab_results_enter(*, patient, results: list[ResultIn], actor, order: LabOrder | None = None,
                      request=None) -> list[BloodTest]:
    """Create the BloodTest rows; with an open `order`, complete it - all or nothing."""
    if not results:
        raise _error("results", "Enter at least one result.")
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    for i, r in enumerate(results):
        errors.update(_check_result(i, r, now))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if order is not None:
            order = LabOrder.objects.select_for_update().get(pk=order.pk)
            if order.patient_id != patient.pk:
                raise _error("order", "This order belongs to another patient.")
            if order.status not in OPEN:
                raise _error("order", f"This order is {order.get_status_display().lower()}: results can't be "
                                      "added to it.")
        rows = []
        for r in results:
            name = r.test_name.strip()[:120]
            loinc = r.loinc or (COMMON_TESTS[name][0] if name in COMMON_TESTS else "")
            rows.append(BloodTest(project_id=patient.project_id, patient=patient, program_id=patient.program_id,
                                  lab_order=order, test_name=name, loinc=loinc[:16], value=float(r.value),
                                  unit=(r.unit or "").strip()[:24], reference_low=r.reference_low,
                                  reference_high=r.reference_high, recorded_at=r.recorded_at, entered_by=actor))
        for row in rows:
            row.save()  # one by one: simple-history records each (bulk_create would skip it)
        if order is not None:
            if order.status == Status.ORDERED:
                # The lab took it: record the step the workflow passes through.
                order.status = Status.IN_PROGRESS
                order._change_reason = "results entered"
                order.save()
            order.status = Status.COMPLETED
            order.completed_at = timezone.now()
            order._change_reason = "results entered"
            order.save()
        audit.record(action="write", request=request, actor=actor, resource="clinical", patient=patient,
                     object_id=order.pk if order else rows[0].pk,
                     metadata={"event": "lab_results_enter", "order": str(order.pk) if order else "",
                               "results": [str(r.pk) for r in rows], "tests": [r.test_name for r in rows]})
    return rows


# --- Reading -------------------------------------------------------------------------------


@dataclass
class TestGroup:
    """One test's results across time, newest first, with a tiny trend (SVG polyline)."""

    name: str
    results: list[BloodTest]
    trend: dict | None

    @property
    def latest(self) -> BloodTest:
        return self.results[0]


def _sparkline(results: list[BloodTest], width: int = 120, height: int = 32) -> dict | None:
    """Points for an inline SVG, oldest to newest, with the reference range as a band."""
    ordered = list(reversed(results))
    if len(ordered) < 2:
        return None
    values = [r.value for r in ordered]
    low_ref = ordered[-1].reference_low
    high_ref = ordered[-1].reference_high
    bounds = values + [v for v in (low_ref, high_ref) if v is not None]
    lo, hi = min(bounds), max(bounds)
    span = (hi - lo) or 1.0
    pad = 3

    def y(v):
        return round(height - pad - (v - lo) / span * (height - 2 * pad), 1)

    step = (width - 2 * pad) / (len(ordered) - 1)
    points = [(round(pad + i * step, 1), y(v), r.in_range) for i, (v, r) in enumerate(zip(values, ordered,
                                                                                             strict=True))]
    band = None
    if low_ref is not None or high_ref is not None:
        top = y(high_ref) if high_ref is not None else 0
        bottom = y(low_ref) if low_ref is not None else height
        band = {"y": top, "h": round(max(bottom - top, 1), 1)}
    return {"width": width, "height": height, "polyline": " ".join(f"{x},{yy}" for x, yy, _ in points),
            "points": [{"x": x, "y": yy, "ok": ok} for x, yy, ok in points], "band": band,
            "first": ordered[0], "last": ordered[-1]}


def _g(value: float | None) -> str:
    """A lab value as written on a report: 6.4, not 6.40 or 6.3999999."""
    return "" if value is None else f"{value:.6g}"


def grouped_results(patient, *, limit_per_test: int = 24) -> list[TestGroup]:
    """Every result of the patient, grouped by test name (one query)."""
    groups: dict[str, list[BloodTest]] = {}
    rows = (BloodTest.objects.filter(patient_id=patient.pk).select_related("entered_by", "lab_order")
            .order_by("test_name", "-recorded_at"))
    for row in rows:
        bucket = groups.setdefault(row.test_name.strip().lower(), [])
        if len(bucket) < limit_per_test:
            row.a1c = A1C_LABELS.get(a1c_category(row), "")
            row.shown = _g(row.value)
            row.low_shown, row.high_shown = _g(row.reference_low), _g(row.reference_high)
            bucket.append(row)
    out = [TestGroup(name=results[0].test_name, results=results, trend=_sparkline(results))
           for results in groups.values()]
    return sorted(out, key=lambda g: g.name.lower())


# --- Releasing results to the patient (issue 16) ------------------------------------------------

def unreleased_count(patient) -> int:
    return BloodTest.objects.filter(patient_id=patient.pk, released_at__isnull=True).count()


def lab_results_release(*, patient, actor, request=None) -> int:
    """Release every not-yet-released result of a (gated) patient to their portal; tell the patient.
    Returns how many were released. Staff with clinical:write only; audited."""
    if not access.is_staff_user(actor) or not access.can(actor, "clinical", "write", patient):
        raise _error("__all__", "You may not release this patient's results.")
    now = timezone.now()
    with transaction.atomic():
        rows = list(BloodTest.objects.select_for_update().filter(patient_id=patient.pk, released_at__isnull=True))
        for row in rows:
            row.released_at, row.released_by = now, actor
            row._change_reason = "released to the patient"
            row.save()  # one by one: simple-history keeps who released what
        if rows:
            audit.record(action="update", request=request, actor=actor, resource="clinical", patient=patient,
                         object_id=rows[0].pk, metadata={"event": "lab_results_release",
                                                         "results": [str(r.pk) for r in rows]})
            if patient.user_id:
                from messaging.notify import notify

                notify(event_type="lab_results_released", recipients=[patient.user], patient=patient, context={},
                       key=f"lab_release:{patient.pk}:{now.isoformat()}", link="/portal/labs/")
    return len(rows)


def plain_range(result: BloodTest) -> str:
    """The patient's words for a result against its reference range."""
    if result.in_range is None:
        return "No reference range given"
    if result.in_range:
        return "Within the reference range"
    if result.reference_high is not None and result.value > result.reference_high:
        return "Above the reference range"
    return "Below the reference range"


def released_results(patient, *, limit_per_test: int = 12) -> list[TestGroup]:
    """The patient's released results, grouped per test (the portal: released only)."""
    groups: dict[str, list[BloodTest]] = {}
    rows = BloodTest.objects.filter(patient_id=patient.pk, released_at__isnull=False).order_by("test_name",
                                                                                                "-recorded_at")
    for row in rows:
        bucket = groups.setdefault(row.test_name.strip().lower(), [])
        if len(bucket) < limit_per_test:
            row.shown = _g(row.value)
            row.low_shown, row.high_shown = _g(row.reference_low), _g(row.reference_high)
            row.plain = plain_range(row)
            bucket.append(row)
    return sorted((TestGroup(name=r[0].test_name, results=r, trend=None) for r in groups.values()),
                  key=lambda g: g.name.lower())
