"""One scoring engine for every instrument (issue 14, "Scoring"). Pure: no database.

An instrument declares how it is scored in `Questionnaire.scoring` (a dict):

    method       "sum" (the only method: a sum of answer scores). Anything else is refused
                 when the instrument is saved, so a declared formula is never ignored.
    items        linkIds or codes of the scored items (default: every item whose options carry scores)
    missing      {"policy": "incomplete" | "prorate", "max_missing": n}: a skipped scored item is never
                 counted as 0. "prorate" scales the sum to all items when at most n are missing
                 (sum x items / answered, rounded half up); otherwise, or with "incomplete", the
                 response has no total and says so.
    classifier   "phq9" | "gad7": the severity comes from clinical/classify.py (the one home of the
                 published bands); `bands` then only label the slugs.
    bands        [{"min", "max", "code", "label"}] for instruments without a classifier (PHQ-2).
    subscales    [{"code", "name", "items": [...]}], each summed like the total (no proration).
    safety       [{"item": linkId-or-code, "min_score": 1}]: an answer scoring at least min_score is a
                 safety event whatever the total (PHQ-9 item 9).
    total        {"code": LOINC of the total, "metric": clinical metric code}: written as an Observation.
    triggers     [{"min_total": 3, "assign": code, "carry": true}]: assign another instrument (PHQ-2 -> PHQ-9).
    significant_change   a change of the total at least this big is clinically significant (PHQ-9: 5).

Scores come from the options (FHIR ordinalValue / itemWeight), never from answer text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from clinical import classify

CLASSIFIERS = {"phq9": classify.phq9_severity, "gad7": classify.gad7_severity}
METHODS = ("sum",)
POLICIES = ("incomplete", "prorate")


class ScoringError(ValueError):
    """A scoring declaration the engine can't honour."""


@dataclass(frozen=True)
class Item:
    """What the engine needs of a question."""

    link_id: str
    code: str = ""
    scored: bool = False  # its options carry scores


@dataclass
class Result:
    total: float | None = None
    raw_sum: float = 0
    answered: int = 0
    expected: int = 0
    complete: bool = True
    prorated: bool = False
    severity: str = ""
    severity_label: str = ""
    subscales: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    reason: str = ""


def refers_to(ref: str, item: Item) -> bool:
    return ref in (item.link_id, item.code) and bool(ref)


def check_declaration(scoring: dict, items: list[Item]) -> None:
    """Refuse a declaration the engine would silently misread (an unknown method, an item
    reference that names nothing)."""
    method = scoring.get("method", "sum")
    if method not in METHODS:
        raise ScoringError(f"Scoring method {method!r} is not supported (only a sum of answer scores).")
    policy = (scoring.get("missing") or {}).get("policy", "incomplete")
    if policy not in POLICIES:
        raise ScoringError(f"Missing-answer policy {policy!r} is not one of {', '.join(POLICIES)}.")
    if scoring.get("classifier") and scoring["classifier"] not in CLASSIFIERS:
        raise ScoringError(f"Unknown classifier {scoring['classifier']!r}.")
    refs = list(scoring.get("items") or [])
    refs += [s.get("item", "") for s in scoring.get("safety") or []]
    for sub in scoring.get("subscales") or []:
        refs += list(sub.get("items") or [])
    for ref in refs:
        if not any(refers_to(ref, i) for i in items):
            raise ScoringError(f"The scoring names item {ref!r}, which the questionnaire doesn't have.")


def scored_items(scoring: dict, items: list[Item]) -> list[Item]:
    refs = scoring.get("items")
    if refs:
        return [i for i in items if any(refers_to(r, i) for r in refs)]
    return [i for i in items if i.scored]


def round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def band_for(scoring: dict, total: float) -> tuple[str, str]:
    """(severity slug, label) for a total: the classifier's slug if declared, else the bands'."""
    bands = scoring.get("bands") or []
    classifier = scoring.get("classifier")
    if classifier:
        code = CLASSIFIERS[classifier](int(total))
        label = next((b.get("label", "") for b in bands if b.get("code") == code), code.replace("_", " ").capitalize())
        return code, label
    for band in bands:
        if band.get("min", -math.inf) <= total <= band.get("max", math.inf):
            return band.get("code", ""), band.get("label", "")
    return "", ""


def score(scoring: dict, items: list[Item], scores: dict[str, float | None]) -> Result:
    """Score one set of answers. `scores` maps linkId -> the answer's score (None: answered
    without a score, e.g. "asked but declined"); a linkId absent from it was skipped."""
    result = Result()
    if not scoring:
        result.complete = any(scores.values()) or bool(scores)
        return result
    targets = scored_items(scoring, items)
    values = {i.link_id: scores.get(i.link_id) for i in targets}
    answered = {k: v for k, v in values.items() if v is not None}
    result.expected, result.answered = len(targets), len(answered)
    result.raw_sum = float(sum(answered.values()))
    result.missing = [k for k, v in values.items() if v is None]
    for sub in scoring.get("subscales") or []:
        sub_items = [i for i in targets if any(refers_to(r, i) for r in sub.get("items") or [])]
        sub_values = [values[i.link_id] for i in sub_items]
        result.subscales[sub["code"]] = (float(sum(sub_values)) if sub_values and None not in sub_values
                                         else None)
    if not targets:
        return result
    missing = len(result.missing)
    policy = (scoring.get("missing") or {}).get("policy", "incomplete")
    allowed = int((scoring.get("missing") or {}).get("max_missing", 0))
    if missing == 0:
        result.total = result.raw_sum
    elif policy == "prorate" and missing <= allowed and result.answered:
        result.total = float(round_half_up(result.raw_sum * result.expected / result.answered))
        result.prorated = True
    else:
        result.complete = False
        why = f"more than {allowed} missing" if policy == "prorate" else "every item is needed"
        result.reason = f"{missing} of {result.expected} scored questions unanswered: no total ({why})."
        return result
    result.severity, result.severity_label = band_for(scoring, result.total)
    return result


def safety_hits(scoring: dict, items: list[Item], scores: dict[str, float | None]) -> list[tuple[Item, float]]:
    """The safety items answered at or above their threshold, whatever the total."""
    hits = []
    for rule in scoring.get("safety") or []:
        threshold = float(rule.get("min_score", 1))
        for item in items:
            value = scores.get(item.link_id)
            if refers_to(rule.get("item", ""), item) and value is not None and value >= threshold:
                hits.append((item, value))
    return hits
