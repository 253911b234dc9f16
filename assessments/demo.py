"""Demo data (the demo_seeded receiver): built-ins in both tenants, a completed PHQ-9 history
for the portal patient and an open GAD-7. Idempotent: seed_demo runs on every `make run`."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from assessments import instruments, services
from assessments.models import Assignment


def on_demo_seeded(sender, *, demo, other, kai, lead, **kwargs) -> None:
    for project in (demo, other):
        services.ensure_builtins(project)
    if Assignment.objects.filter(patient=kai).exists():
        return
    phq9 = services.resolve(demo, instruments.PHQ9)
    gad7 = services.resolve(demo, instruments.GAD7)
    now = timezone.now()
    codes = [c for c, _l, _s in instruments.FREQUENCY]
    # Eight weeks ago moderate, now mild: a clinically significant improvement, no safety answer.
    for weeks, pattern in ((8, [2, 2, 1, 2, 1, 1, 1, 1, 0]), (4, [1, 2, 1, 1, 1, 1, 1, 0, 0]),
                           (0, [1, 1, 1, 1, 0, 1, 0, 0, 0])):
        at = now - dt.timedelta(weeks=weeks, hours=1)
        assignment = services.assignment_create(patient=kai, questionnaire=phq9, actor=lead, available_at=at,
                                                due=at, now=at)
        answers = {f"/{code}": codes[score] for (code, _t), score in zip(instruments.PHQ9_ITEMS, pattern,
                                                                          strict=True)}
        services.response_submit(assignment=assignment, answers=answers, actor=kai.user, via="portal", now=at)
    services.assignment_create(patient=kai, questionnaire=gad7, actor=lead, due=now + dt.timedelta(days=2))
