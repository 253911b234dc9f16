"""Demo scheduling data for `manage.py seed_demo` (idempotent).

Availability for cardio@ and lead@, a self-booking policy for Cardiac Rehab,
visits for Kai Kahananui (MRN MD-KAI0001) next week and a few other patients,
a pending visit request, event templates and Kai's medication reminder.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from mahalo.models import ProgramSetting, StaffMember
from patients.models import Patient
from scheduling import calendars, services
from scheduling.models import Availability, CalendarEvent, EventTemplate, Mode, Visit, VisitRequest


def _availability(staff, program, *, rule, start, end, mode, location, minutes=30):
    Availability.objects.get_or_create(
        staff=staff, program=program, rrule=rule, start_time=start, end_time=end, mode=mode,
        defaults={"project_id": staff.project_id, "location": location, "slot_minutes": minutes,
                  "starts_on": timezone.now().astimezone(program.tz).date() - timedelta(days=7)})


def _visit(patient, staff, local_start: datetime, minutes, *, mode, visit_type, reason, actor):
    starts = local_start.astimezone(UTC)
    if Visit.objects.filter(patient=patient, starts_at=starts).exists():
        return None
    try:
        visit = services.visit_book(patient=patient, staff=staff, starts_at=starts,
                                   ends_at=starts + timedelta(minutes=minutes), actor=actor, mode=mode,
                                   visit_type=visit_type, reason=reason,
                                   location="Cardiac Rehab gym, 2nd floor" if mode == Mode.IN_PERSON else "")
    except services.SchedulingError:
        return None  # the demo time is taken (an earlier run moved something): keep what is there
    if visit.ends_at < timezone.now():
        # A visit in the past happened: walk it through the status machine.
        for step in (Visit.Status.CHECKED_IN, Visit.Status.IN_PROGRESS, Visit.Status.COMPLETED):
            services.visit_transition(visit=visit, to=step, actor=actor, now=visit.starts_at)
    return visit


def seed_scheduling(*, demo, cardiac, metabolic, kai, cardio_user, lead_user) -> None:
    cardio = StaffMember.objects.get(user=cardio_user)
    lead = StaffMember.objects.get(user=lead_user)
    ProgramSetting.objects.update_or_create(program=cardiac, key=services.POLICY_KEY,
                                            defaults={"value": "self_book"})
    ProgramSetting.objects.update_or_create(program=metabolic, key=services.POLICY_KEY, defaults={"value": "request"})
    _availability(cardio, cardiac, rule="FREQ=WEEKLY;BYDAY=MO,WE,FR", start=time(8), end=time(12),
                  mode=Mode.IN_PERSON, location="Cardiac Rehab gym, 2nd floor")
    _availability(cardio, cardiac, rule="FREQ=WEEKLY;BYDAY=TU,TH", start=time(13), end=time(16),
                  mode=Mode.VIRTUAL, location="")
    _availability(lead, cardiac, rule="FREQ=WEEKLY;BYDAY=TH", start=time(9), end=time(11), mode=Mode.VIRTUAL,
                  location="", minutes=20)
    _availability(lead, metabolic, rule="FREQ=WEEKLY;BYDAY=MO,WE", start=time(14), end=time(17),
                  mode=Mode.IN_PERSON, location="Metabolic clinic, room 4", minutes=30)

    tz = cardiac.tz
    today = timezone.now().astimezone(tz).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    at = lambda day, hour, minute=0: datetime.combine(day, time(hour, minute), tzinfo=tz)  # noqa: E731
    _visit(kai, cardio, at(next_monday, 9), 30, mode=Mode.IN_PERSON, visit_type=Visit.Type.REHAB_SESSION,
           reason="Supervised exercise session, week 6", actor=cardio_user)
    _visit(kai, cardio, at(next_monday + timedelta(days=3), 14), 30, mode=Mode.VIRTUAL,
           visit_type=Visit.Type.FOLLOW_UP, reason="Review home BP readings and ankle swelling", actor=cardio_user)
    others = list(Patient.objects.filter(program=cardiac, status="active").exclude(pk=kai.pk).order_by("mrn")[:6])
    for i, patient in enumerate(others):
        day = next_monday + timedelta(days=(i % 3) * 2)
        _visit(patient, cardio, at(day, 10 + (i // 3), 30 if i % 2 else 0), 30, mode=Mode.IN_PERSON,
               visit_type=Visit.Type.REHAB_SESSION, reason="Supervised exercise session", actor=cardio_user)
    this_week = today - timedelta(days=today.weekday())
    for i, patient in enumerate(others[:3]):
        _visit(patient, cardio, at(this_week + timedelta(days=i * 2), 8, 30), 30, mode=Mode.IN_PERSON,
               visit_type=Visit.Type.CHECK_UP, reason="Weekly check", actor=cardio_user)

    if not VisitRequest.objects.filter(patient=kai).exists():
        services.request_create(patient=kai, actor=kai.user, reason="Short of breath climbing stairs since Sunday.",
                                mode=Mode.VIRTUAL, preferred_date=next_monday + timedelta(days=1),
                                window_start=time(13), window_end=time(17))

    for name, category, minutes, rule, color in [
        ("Take medication", "medication", 5, "FREQ=DAILY", "#7c3aed"),
        ("Walk", "exercise", 30, "FREQ=WEEKLY;BYDAY=MO,WE,FR", "#15803d"),
        ("Weigh yourself", "other", 5, "FREQ=DAILY", "#0f766e"),
    ]:
        EventTemplate.objects.get_or_create(project=demo, owner=None, name=name, defaults={
            "category": category, "duration_minutes": minutes, "default_rrule": rule, "color": color})
    if kai.user and not CalendarEvent.objects.filter(owner=kai.user).exists():
        calendar = calendars.default_calendar(user=kai.user, patient=kai)
        template = EventTemplate.objects.get(project=demo, owner=None, name="Take medication")
        calendars.event_create(calendar=calendar, actor=kai.user, title="Metoprolol 25 mg",
                               starts_at=at(today - timedelta(days=today.weekday()), 8), duration_minutes=5,
                               rrule="FREQ=DAILY", category="medication", template=template, tz=cardiac.timezone)
        calendars.event_create(calendar=calendar, actor=kai.user, title="Walk 20 minutes",
                               starts_at=at(today - timedelta(days=today.weekday()), 17), duration_minutes=20,
                               rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR", category="exercise", tz=cardiac.timezone)


def on_demo_seeded_calls(sender, demo, kai, cardio, **kwargs) -> None:
    """Receiver of `mahalo.signals.demo_seeded`: a verified cardiac nurse and, in Kai's conversation
    with her, a simulated call history (one answered, one missed) and a call scheduled for tomorrow.
    Written once (nothing is added when the thread already has calls)."""
    from mahalo.models import User
    from mahalo.services import staff_verify
    from messaging.threads import thread_default_for
    from scheduling import calls
    from scheduling.models import VirtualVisitSession

    member = StaffMember.objects.filter(user=cardio).first()
    if member is None or kai is None or not kai.user_id:
        return
    if not member.is_verified:
        member.license_number = member.license_number or "RN-12345 (simulated)"
        member.certifications = member.certifications or ["Certified Cardiac Rehabilitation Professional"]
        member.save(update_fields=["license_number", "certifications"])
        admin = User.objects.filter(is_superuser=True, email="admin@demo.mahalo.health").first()
        if admin is not None:
            staff_verify(staff=member, actor=admin, note="Demo data (simulated): Hawaii Board of Nursing lookup.")
    thread = thread_default_for(patient=kai, staff=member, actor=cardio)
    if VirtualVisitSession.objects.filter(thread=thread).exists():
        return
    now = timezone.now()
    answered_at = now - timedelta(days=2, hours=3)
    call = calls.call_start(thread=thread, actor=cardio, now=answered_at)
    if call.call_status == calls.S.RINGING:
        try:
            calls.call_join(call=call, user=kai.user, now=answered_at + timedelta(seconds=20))
        except Exception:  # noqa: BLE001 - the demo's video service may be unreachable: keep the rest
            return
        call.refresh_from_db()
        calls.call_end(call=call, user=cardio, now=answered_at + timedelta(minutes=14, seconds=20))
    missed_at = now - timedelta(days=1, hours=1)
    missed = calls.call_start(thread=thread, actor=cardio, now=missed_at)
    calls.call_expire(missed.pk, now=missed_at + timedelta(minutes=2))
    tomorrow = timezone.localtime(now, kai.tz).date() + timedelta(days=1)
    calls.call_start(thread=thread, actor=cardio, now=now,
                     scheduled_for=datetime.combine(tomorrow, time(10, 0), tzinfo=kai.tz))
