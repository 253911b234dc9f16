"""Demo RPM billing data for `manage.py seed_demo`: episodes and this month's time.

Idempotent: a patient who already has an episode gets no new one, and one who
already has time logged this month gets no more, so re-running (even on another
day) adds nothing. Device days come from the wearables demo (`wearables.demo`
seeds Kai and the first active cardiac patients by MRN); this module only adds
what a billing month needs on top: episodes, setup dates and logged minutes.

Kai Kahananui (MD-KAI0001) started RPM the week after his CABG: setup done on
day one, a nurse call and a chart review this month (interactive, over 20 min ->
99457). The other cardiac patients show the other cases: 10-19 min (99470),
time without an interactive contact (no management code), and no setup yet.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from clinical.models import RpmConsent, RpmEpisode, TimeEntry
from clinical.rpm import local_midnight, local_today, month_start
from patients.models import Patient

KAI_MRN = "MD-KAI0001"
OTHERS = 4
# (days since the episode started, setup on day one?, this month's entries: (days ago, minutes, interactive, note))
PLANS = [
    (33, True, [(6, 14, True, "Phone call: ankle swelling, weight trend, diuretic adherence."),
                (2, 9, False, "Reviewed HRV and resting HR trend; messaged cardiology.")]),
    (47, True, [(4, 12, True, "Video check-in on BP log.")]),
    (18, True, [(3, 16, False, "Reviewed readings; no contact.")]),
    (64, True, [(5, 21, True, "Call about missed readings and cuff technique."),
                (1, 22, True, "Follow-up call after medication change.")]),
    (9, False, []),
]


def _staff(email):
    return get_user_model().objects.filter(email=email).first()


def seed_rpm(project) -> dict:
    patients = Patient.objects.select_related("program", "project").filter(project=project)
    kai = patients.filter(mrn=KAI_MRN).first()
    others = list(patients.filter(status="active", program__name="Cardiac Rehab").exclude(mrn=KAI_MRN)
                  .order_by("mrn")[:OTHERS])
    nurse = _staff("cardio@demo.mahalo.health")
    lead = _staff("lead@demo.mahalo.health")
    chosen = ([kai] if kai else []) + others
    episodes = entries = 0
    for patient, (age, setup, plan) in zip(chosen, PLANS, strict=False):
        tz = patient.tz
        today = local_today(tz)
        if not RpmEpisode.objects.filter(patient=patient).exists():
            started = today - timedelta(days=age)
            RpmEpisode.objects.create(project=project, patient=patient, program=patient.program,
                                      started_on=started, setup_completed_on=started if setup else None,
                                      created_by=lead)
            episodes += 1
        # Consent on file for all but the last demo patient, who shows "left out of billing" (item 12).
        if patient is not chosen[-1] and lead and not RpmConsent.objects.filter(patient=patient).exists():
            RpmConsent.objects.create(project=project, patient=patient, obtained_by=nurse or lead,
                                      obtained_on=today - timedelta(days=age + 2),
                                      method=RpmConsent.Method.WRITTEN if patient is kai else RpmConsent.Method.VERBAL,
                                      given_by="Patient", note="Simulated demo consent.")
        first = local_midnight(month_start(today), tz)
        if TimeEntry.objects.filter(patient=patient, started_at__gte=first).exists():
            continue
        for index, (days_ago, minutes, interactive, note) in enumerate(plan):
            # Stay inside this month even early in the month.
            day = max(today - timedelta(days=days_ago), month_start(today))
            started = datetime.combine(day, time(9 + index * 2, 15), tzinfo=tz)
            # Never in the future (early on the 1st), never before the month.
            started = max(first, min(started, timezone.now() - timedelta(minutes=minutes)))
            TimeEntry.objects.create(project=project, patient=patient, program=patient.program,
                                     staff=(nurse if index % 2 == 0 else lead) or lead, started_at=started,
                                     ended_at=started + timedelta(minutes=minutes), seconds=minutes * 60,
                                     interactive=interactive, source=TimeEntry.Source.MANUAL, note=note)
            entries += 1
    return {"rpm_episodes": episodes, "rpm_time_entries": entries}
