"""Helpers for assessments tests: the built-ins exist in every project (post_save), so tests
assign them by code and answer by item code and score."""

from __future__ import annotations

from assessments import instruments, services

CODES = [c for c, _l, _s in instruments.FREQUENCY]  # index = score 0..3


def phq9_answers(scores: list[int | None]) -> dict:
    return {f"/{code}": CODES[s] for (code, _t), s in zip(instruments.PHQ9_ITEMS, scores, strict=True) if s is not None}


def gad7_answers(scores: list[int | None]) -> dict:
    return {f"/{code}": CODES[s] for (code, _t), s in zip(instruments.GAD7_ITEMS, scores, strict=True) if s is not None}


def phq2_answers(a: int, b: int) -> dict:
    return {f"/{instruments.PHQ9_ITEMS[0][0]}": CODES[a], f"/{instruments.PHQ9_ITEMS[1][0]}": CODES[b]}


def scores_for_total(total: int, items: int) -> list[int]:
    """Item scores (0-3) summing to `total`, spread over the items (item 9 of the PHQ-9 last)."""
    out = []
    for _ in range(items):
        take = min(3, total)
        out.append(take)
        total -= take
    assert total == 0
    return out


def assign(patient, code: str, actor=None, **kwargs):
    return services.assignment_create(patient=patient, questionnaire=services.resolve(patient.project, code),
                                      actor=actor, **kwargs)
