"""Demo check-ins for the portal patient (the demo_seeded receiver): eight weekly SIMULATED check-ins,
steady then a harder week, analysed like real ones. Every row is labelled simulated (category and text).
Idempotent: seed_demo runs on every `make run`."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from assessments.wellness import services
from assessments.wellness.models import WellnessScore, WellnessSession

CATEGORY = "demo (simulated)"
WEEKS = [
    ("calm", 6, 6, 4, 7, 7, 7, "Simulated demo check-in. A good week overall. I walked every morning and slept well. "
                               "Work was busy but manageable and I enjoyed dinner with friends on Saturday."),
    ("content", 5, 6, 4, 6, 7, 6, "Simulated demo check-in. Fairly steady. My knee was a bit sore after the long "
                                  "walk but I felt rested and hopeful about the rehab plan."),
    ("okay", 5, 5, 5, 6, 6, 6, "Simulated demo check-in. An okay week. Some stress at work with deadlines, but I "
                               "managed and talked it through with my partner."),
    ("happy", 6, 7, 3, 7, 7, 8, "Simulated demo check-in. Really nice week, my daughter visited and we laughed a "
                                "lot. I feel stronger and more energetic."),
    ("calm", 5, 6, 4, 6, 7, 7, "Simulated demo check-in. Quiet week. Reading, walking, sleeping fine. Nothing much "
                               "to report, feeling balanced."),
    ("tired", 6, 4, 6, 5, 6, 5, "Simulated demo check-in. Tired this week. I slept badly a couple of nights and "
                                "work was stressful, but the weekend helped."),
    ("okay", 5, 5, 5, 6, 6, 6, "Simulated demo check-in. Getting back to normal. Still a little tired but I did my "
                               "exercises and saw a friend."),
    ("anxious", 7, 3, 8, 3, 5, 3, "Simulated demo check-in. Hard week. I have been worried all the time and I never "
                                  "seem to sleep. I feel alone and everything feels like too much. I am exhausted."),
]


def on_demo_seeded(sender, *, kai, **kwargs) -> None:
    if WellnessSession.objects.filter(patient=kai, category=CATEGORY).exists():
        return
    services.consent_set(patient=kai, actor=kai.user, voice=True, passive=True)
    now = timezone.now()
    for weeks_ago, (emotion, intensity, energy, stress, sleep, comfort, social, text) in zip(
            range(len(WEEKS) - 1, -1, -1), WEEKS, strict=True):
        at = now - dt.timedelta(weeks=weeks_ago, hours=3)
        mood = {"emotional_state": {"primary": emotion, "intensity": intensity}, "energy_level": energy,
                "stress_level": stress, "sleep_quality": sleep, "physical_comfort": comfort,
                "social_connection": social}
        session = services.session_create(patient=kai, actor=kai.user, via="demo", kind="quick", mood_before=mood,
                                          text=text, prompt=services.PROMPTS[weeks_ago % len(services.PROMPTS)],
                                          process=False)
        WellnessSession.objects.filter(pk=session.pk).update(created_at=at, category=CATEGORY)
        services.session_process(session.pk, now=at)
        WellnessScore.objects.filter(session=session).update(created_at=at)
