"""Scheduling test data. Visits are booked through the service (the only writer)."""

from datetime import UTC, date, datetime, time, timedelta

import factory

from mahalo.models import ProgramSetting
from mahalo.tests.factories import staff
from scheduling import services
from scheduling.models import Availability, Mode, Slot, Visit


class AvailabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Availability

    project = factory.SelfAttribute("program.project")
    rrule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU"
    starts_on = factory.LazyFunction(lambda: date.today() - timedelta(days=30))
    start_time = time(9)
    end_time = time(12)
    slot_minutes = 30
    mode = Mode.IN_PERSON


class SlotFactory(factory.django.DjangoModelFactory):
    """A stored slot row of `staff` (a StaffMember), free unless `status` says
    otherwise. Bookings go through `book()` (the service); this is for the rows a
    constraint or a page needs as they are."""

    class Meta:
        model = Slot

    project = factory.SelfAttribute("staff.project")
    starts_at = factory.Sequence(lambda n: future(days=3, hour=9) + timedelta(hours=n))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=30))
    status = Slot.Status.FREE


def set_policy(program, policy: str, *, verify_staff: bool = True) -> None:
    """The program's portal booking policy. Self-booking offers only verified clinicians (issue 19),
    so by default the program's staff are marked verified here (as an admin would)."""
    ProgramSetting.objects.update_or_create(program=program, key=services.POLICY_KEY, defaults={"value": policy})
    if policy == "self_book" and verify_staff:
        from mahalo.models import StaffMember

        StaffMember.objects.filter(assignments__program=program).update(
            is_verified=True, license_number="TEST-LICENCE", verification_note="test fixture")


def future(days: int = 3, hour: int = 10, minute: int = 0, tz=None) -> datetime:
    """A time `days` ahead at hour:minute in `tz` (default UTC), aware."""
    day = date.today() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=tz or UTC)


def book(patient, staff_user, starts_at=None, minutes=30, *, mode=Mode.IN_PERSON, actor=None, **kw) -> Visit:
    starts_at = starts_at or future()
    return services.visit_book(patient=patient, staff=staff(staff_user), starts_at=starts_at,
                               ends_at=starts_at + timedelta(minutes=minutes), actor=actor or staff_user, mode=mode,
                               **kw)


def slot_key(staff_user, start: datetime) -> str:
    """What the slot pickers post for a slot (scheduling.slots.OpenSlot.key)."""
    return f"{staff(staff_user).pk}|{start.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def call_thread(patient, staff_user):
    """The patient's conversation with `staff_user` (where calls start)."""
    from messaging.tests.factories import default_thread

    return default_thread(patient, staff_user)


def start_call(patient, staff_user, *, scheduled_for=None, now=None):
    """A call from the pair's thread through the one writer: ringing, or scheduled with `scheduled_for`."""
    from scheduling import calls

    return calls.call_start(thread=call_thread(patient, staff_user), actor=staff_user, scheduled_for=scheduled_for,
                            now=now)
