"""Booking, the visit status machine, cancel/reschedule history, holds, policy, reminders."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from messaging.models import Notification
from scheduling import services, tasks
from scheduling.models import Slot, Visit, VisitRequest
from scheduling.tests.factories import AvailabilityFactory, book, future, set_policy, staff

pytestmark = pytest.mark.django_db
S = Visit.Status


# --- Booking -------------------------------------------------------------------------------------

def test_booking_makes_a_visit_a_booked_slot_history_and_a_notification(world):
    visit = book(world.me, world.clinician, reason="Check wound")
    assert visit.status == S.PLANNED and visit.slot.status == Slot.Status.BOOKED
    assert visit.timezone == world.cardiac.timezone and visit.program == world.cardiac
    assert visit.history.count() == 1
    assert Notification.objects.filter(recipient=world.patient_user, event_type="visit_booked").exists()


def test_a_staff_member_cannot_be_double_booked(world):
    start = future(4, 10)
    book(world.me, world.clinician, start)
    for offset, minutes in [(0, 30), (15, 30), (-15, 30), (-30, 90)]:
        with pytest.raises(services.Conflict):
            book(world.cardiac_patients[1], world.clinician, start + timedelta(minutes=offset), minutes)
    # Back to back is fine.
    book(world.cardiac_patients[1], world.clinician, start + timedelta(minutes=30))
    assert Visit.objects.filter(staff=staff(world.clinician)).count() == 2


def test_a_patient_cannot_have_two_visits_at_once(world):
    start = future(4, 10)
    book(world.me, world.clinician, start)
    with pytest.raises(services.Conflict, match="patient already"):
        book(world.me, world.lead, start + timedelta(minutes=10))


def test_the_clinician_must_work_with_the_patients_program(world):
    with pytest.raises(services.SchedulingError):
        book(world.metabolic_patients[0], world.clinician)
    with pytest.raises(services.SchedulingError):
        book(world.me, world.outsider)
    assert not Visit.objects.exists()


@pytest.mark.parametrize("minutes", [0, -30, 9 * 60])
def test_bad_lengths_are_refused(world, minutes):
    with pytest.raises(services.SchedulingError):
        book(world.me, world.clinician, minutes=minutes)


def test_a_cancelled_visit_frees_its_slot_for_the_next_booking(world):
    start = future(5, 9)
    first = book(world.me, world.clinician, start)
    services.visit_cancel(visit=first, actor=world.clinician, reason="Patient unwell")
    second = book(world.cardiac_patients[1], world.clinician, start)
    assert second.slot_id == first.slot_id  # the same slot row, booked again
    assert Slot.objects.get(pk=first.slot_id).status == Slot.Status.BOOKED


def test_the_database_refuses_a_second_live_visit_on_one_slot(world):
    visit = book(world.me, world.clinician)
    other = world.cardiac_patients[1]
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.create(project=world.project, program=world.cardiac, patient=other, staff=visit.staff,
                             slot=visit.slot, starts_at=visit.starts_at, ends_at=visit.ends_at)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="exclusion constraints are PostgreSQL's")
def test_the_database_refuses_overlapping_visits_of_one_staff_member(world):
    visit = book(world.me, world.clinician)
    other_slot = Slot.objects.create(project=world.project, staff=visit.staff, starts_at=visit.starts_at +
                                     timedelta(minutes=10), ends_at=visit.ends_at + timedelta(minutes=10))
    with pytest.raises(IntegrityError, match="visit_no_staff_overlap"), transaction.atomic():
        Visit.objects.create(project=world.project, program=world.cardiac, patient=world.cardiac_patients[1],
                             staff=visit.staff, slot=other_slot, starts_at=other_slot.starts_at,
                             ends_at=other_slot.ends_at)


# --- Status machine -----------------------------------------------------------------------------

def _visit_in(status, world, start=None):
    start = start or (timezone.now() - timedelta(minutes=5))
    visit = book(world.me, world.clinician, start)
    path = {S.PLANNED: [], S.CHECKED_IN: [S.CHECKED_IN], S.IN_PROGRESS: [S.CHECKED_IN, S.IN_PROGRESS],
            S.COMPLETED: [S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED], S.NO_SHOW: [S.NO_SHOW],
            S.CANCELLED: [S.CANCELLED]}[status]
    for step in path:
        services.visit_transition(visit=visit, to=step, actor=world.clinician, reason="x")
    visit.refresh_from_db()
    assert visit.status == status
    return visit


ALL = [S.PLANNED, S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.NO_SHOW]
PAIRS = [(a, b) for a in ALL for b in ALL if a != b]


@pytest.mark.parametrize("start, to", PAIRS)
def test_each_transition_is_allowed_or_refused_by_the_machine(world, start, to):
    visit = _visit_in(start, world)
    allowed = to in services.TRANSITIONS[start]
    if allowed:
        services.visit_transition(visit=visit, to=to, actor=world.clinician, reason="Because")
        visit.refresh_from_db()
        assert visit.status == to
    else:
        with pytest.raises(services.InvalidTransition):
            services.visit_transition(visit=visit, to=to, actor=world.clinician, reason="Because")
        visit.refresh_from_db()
        assert visit.status == start


def test_the_seed_machine_is_what_the_services_enforce():
    assert services.TRANSITIONS[S.PLANNED] == {S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}
    assert services.TRANSITIONS[S.CHECKED_IN] == {S.IN_PROGRESS, S.NO_SHOW, S.CANCELLED}
    assert services.TRANSITIONS[S.IN_PROGRESS] == {S.COMPLETED, S.CANCELLED}
    assert not (services.TRANSITIONS[S.COMPLETED] | services.TRANSITIONS[S.CANCELLED] | services.TRANSITIONS[S.NO_SHOW])


def test_timestamps_follow_the_status(world):
    visit = _visit_in(S.COMPLETED, world)
    assert visit.checked_in_at and visit.started_at and visit.completed_at
    assert visit.checked_in_at <= visit.started_at <= visit.completed_at


def test_no_show_only_after_the_start(world):
    visit = book(world.me, world.clinician, future(2))
    with pytest.raises(services.InvalidTransition, match="before it starts"):
        services.visit_transition(visit=visit, to=S.NO_SHOW, actor=world.clinician)


def test_cancel_needs_a_reason_and_keeps_who_when_why(world):
    visit = book(world.me, world.clinician)
    with pytest.raises(services.SchedulingError):
        services.visit_cancel(visit=visit, actor=world.clinician, reason="  ")
    services.visit_cancel(visit=visit, actor=world.clinician, reason="Clinic closed")
    visit.refresh_from_db()
    assert (visit.status, visit.cancel_reason, visit.cancelled_by) == (S.CANCELLED, "Clinic closed", world.clinician)
    assert visit.history.first().history_change_reason.startswith("Cancelled: Clinic closed")
    assert visit.slot.status == Slot.Status.FREE
    assert Notification.objects.filter(recipient=world.patient_user, event_type="visit_cancelled").exists()


def test_a_patient_cancelling_tells_the_clinician(world):
    visit = book(world.me, world.clinician)
    services.visit_cancel(visit=visit, actor=world.patient_user, reason="Feeling better")
    assert Notification.objects.filter(recipient=world.clinician, event_type="visit_cancelled").exists()
    assert not Notification.objects.filter(recipient=world.patient_user, event_type="visit_cancelled").exists()


def test_reschedule_keeps_the_old_visit_with_its_reason_and_links_the_new_one(world):
    start = future(3, 10)
    old = book(world.me, world.clinician, start)
    new = services.visit_reschedule(visit=old, actor=world.clinician, starts_at=start + timedelta(minutes=15),
                                    reason="Running late")
    old.refresh_from_db()
    assert old.status == S.CANCELLED and old.cancel_reason == "Rescheduled: Running late"
    assert new.rescheduled_from == old and new.status == S.PLANNED
    assert new.ends_at - new.starts_at == timedelta(minutes=30)
    # A reschedule onto a taken time changes nothing.
    blocker = book(world.cardiac_patients[1], world.clinician, start + timedelta(hours=2))
    with pytest.raises(services.Conflict):
        services.visit_reschedule(visit=new, actor=world.clinician, starts_at=blocker.starts_at, reason="x")
    new.refresh_from_db()
    assert new.status == S.PLANNED


def test_only_planned_visits_can_be_rescheduled(world):
    visit = _visit_in(S.CHECKED_IN, world)
    with pytest.raises(services.InvalidTransition):
        services.visit_reschedule(visit=visit, actor=world.clinician, starts_at=future(3), reason="x")


# --- Requests and holds ----------------------------------------------------------------------------

def _proposed(world, start=None):
    req = services.request_create(patient=world.me, actor=world.patient_user, reason="Dizzy spells",
                                  preferred_date=timezone.now().date() + timedelta(days=3))
    services.request_triage(req=req, actor=world.clinician, severity="ORANGE")
    start = start or future(3, 15)
    return services.request_propose(req=req, actor=world.clinician, staff=staff(world.clinician), starts_at=start,
                                    ends_at=start + timedelta(minutes=30))


def test_request_triage_propose_confirm_becomes_a_visit(world):
    req = _proposed(world)
    assert req.status == VisitRequest.Status.AWAITING_PATIENT_CONFIRMATION and req.severity == "ORANGE"
    assert req.proposed_slot.status == Slot.Status.HELD and req.hold_expires_at > timezone.now()
    visit = services.request_confirm(req=req, actor=world.patient_user)
    req.refresh_from_db()
    assert req.status == VisitRequest.Status.CONVERTED_TO_VISIT and req.visit == visit
    assert visit.patient_initiated and visit.slot_id == req.proposed_slot_id


def test_a_held_slot_cannot_be_booked_by_someone_else(world):
    req = _proposed(world)
    with pytest.raises(services.Conflict, match="held"):
        book(world.cardiac_patients[1], world.clinician, req.proposed_slot.starts_at)


def test_holds_expire_through_the_beat_task(world):
    req = _proposed(world)
    Slot.objects.filter(pk=req.proposed_slot_id).update(held_until=timezone.now() - timedelta(seconds=1))
    VisitRequest.objects.filter(pk=req.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.release_expired_holds.delay().get() == 1
    req.refresh_from_db()
    assert req.status == VisitRequest.Status.TRIAGED and req.proposed_slot is None
    assert Slot.objects.filter(status=Slot.Status.HELD).count() == 0
    assert tasks.release_expired_holds.delay().get() == 0  # idempotent
    with pytest.raises(services.InvalidTransition):
        services.request_confirm(req=req, actor=world.patient_user)


def test_an_expired_hold_cannot_be_confirmed_even_before_the_sweep(world):
    req = _proposed(world)
    Slot.objects.filter(pk=req.proposed_slot_id).update(held_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.Conflict, match="expired"):
        services.request_confirm(req=req, actor=world.patient_user)
    assert not Visit.objects.exists()


def test_the_hold_lasts_the_programs_setting(world, settings):
    from mahalo.models import ProgramSetting

    ProgramSetting.objects.create(program=world.cardiac, key=services.HOLD_MINUTES_KEY, value="90")
    before = timezone.now()
    req = _proposed(world, future(5, 15))
    assert timedelta(minutes=89) < req.hold_expires_at - before < timedelta(minutes=91)


def test_decline_returns_the_request_to_triage_and_frees_the_slot(world):
    req = _proposed(world)
    services.request_decline(req=req, actor=world.patient_user)
    req.refresh_from_db()
    assert req.status == VisitRequest.Status.TRIAGED
    assert Slot.objects.get(status=Slot.Status.FREE)


def test_closed_requests_refuse_further_steps(world):
    req = _proposed(world)
    services.request_cancel(req=req, actor=world.clinician, reason="Seen in ED")
    for step in (lambda: services.request_triage(req=req, actor=world.clinician, severity="RED"),
                 lambda: services.request_confirm(req=req, actor=world.patient_user),
                 lambda: services.request_cancel(req=req, actor=world.clinician)):
        with pytest.raises(services.InvalidTransition):
            step()


def test_request_validation(world):
    with pytest.raises(services.SchedulingError) as exc:
        services.request_create(patient=world.me, actor=world.patient_user, reason="", mode="PHONE",
                                window_start=time(15), window_end=time(9),
                                preferred_date=timezone.now().date() - timedelta(days=3))
    assert set(exc.value.message_dict) == {"reason", "mode", "window_end", "preferred_date"}
    assert not VisitRequest.objects.exists()


# --- Policy per program -------------------------------------------------------------------------------

@pytest.mark.parametrize("policy, may_request, may_self_book", [
    ("view_only", False, False), ("request", True, False), ("self_book", True, True), ("nonsense", True, False),
])
def test_the_programs_policy_decides_what_patients_may_do(world, policy, may_request, may_self_book):
    set_policy(world.cardiac, policy)
    set_policy(world.metabolic, "self_book")  # another program's policy doesn't leak
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    tz = world.cardiac.tz
    slot_start = datetime.combine(timezone.now().astimezone(tz).date() + timedelta(days=2), time(10), tzinfo=tz)
    if may_request:
        services.request_create(patient=world.me, actor=world.patient_user, reason="Please")
    else:
        with pytest.raises(services.SchedulingError):
            services.request_create(patient=world.me, actor=world.patient_user, reason="Please")
    if may_self_book:
        visit = services.patient_self_book(patient=world.me, actor=world.patient_user,
                                           staff_id=staff(world.clinician).pk, starts_at=slot_start)
        assert visit.patient_initiated
    else:
        with pytest.raises(services.SchedulingError):
            services.patient_self_book(patient=world.me, actor=world.patient_user,
                                       staff_id=staff(world.clinician).pk, starts_at=slot_start)
    # Staff requests on the patient's behalf are never blocked by the portal policy.
    services.request_create(patient=world.me, actor=world.clinician, reason="Follow-up call")


def test_self_booking_only_takes_open_slots(world):
    set_policy(world.cardiac, "self_book")
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    tz = world.cardiac.tz
    day = timezone.now().astimezone(tz).date() + timedelta(days=2)
    for bad in (datetime.combine(day, time(13), tzinfo=tz), datetime.combine(day, time(9, 10), tzinfo=tz)):
        with pytest.raises(services.Conflict):
            services.patient_self_book(patient=world.me, actor=world.patient_user,
                                       staff_id=staff(world.clinician).pk, starts_at=bad)
    with pytest.raises(services.SchedulingError, match="window"):
        services.patient_self_book(patient=world.me, actor=world.patient_user, staff_id=staff(world.clinician).pk,
                                   starts_at=timezone.now() + timedelta(days=400))


# --- Reminders -------------------------------------------------------------------------------------------

def test_reminders_go_out_once_per_offset_to_both_sides(world):
    booked_at = timezone.now()
    visit = book(world.me, world.clinician, booked_at + timedelta(days=2))
    assert services.send_due_reminders(now=booked_at) == 0
    day_before = visit.starts_at - timedelta(hours=23)
    assert services.send_due_reminders(now=day_before) == 1
    assert services.send_due_reminders(now=day_before + timedelta(minutes=5)) == 0  # idempotent
    hour_before = visit.starts_at - timedelta(minutes=50)
    assert services.send_due_reminders(now=hour_before) == 1
    reminders = Notification.objects.filter(event_type="visit_reminder", channel="in_app")
    assert sorted(r.recipient.email for r in reminders) == sorted([world.clinician.email, world.patient_user.email] * 2)
    services.visit_cancel(visit=visit, actor=world.clinician, reason="x")
    assert services.send_due_reminders(now=visit.starts_at - timedelta(minutes=5)) == 0


def test_reminder_offsets_come_from_the_program(world):
    from mahalo.models import ProgramSetting

    assert services.reminder_offsets(world.cardiac) == [1440, 60]
    ProgramSetting.objects.create(program=world.cardiac, key=services.REMINDERS_KEY, value="120, 30,junk,-5")
    assert services.reminder_offsets(world.cardiac) == [120, 30]


def test_a_visit_booked_inside_a_reminder_window_gets_no_stale_reminder(world):
    now = timezone.now()
    visit = book(world.me, world.clinician, now + timedelta(hours=3))
    assert services.send_due_reminders(now=now + timedelta(minutes=1)) == 0
    assert services.send_due_reminders(now=visit.starts_at - timedelta(minutes=30)) == 1


def test_the_timeline_shows_booking_and_cancellation(world):
    from patients import timeline

    visit = book(world.me, world.clinician)
    services.visit_cancel(visit=visit, actor=world.clinician, reason="Storm warning")
    entries, _ = timeline.feed(world.me)
    titles = [e.title for e in entries if e.kind == "visit"]
    assert any(t.startswith("Visit booked") for t in titles)
    assert any("cancelled" in t for t in titles)


def test_registry_next_appointment_costs_the_same_queries_for_any_page_size(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from patients import registry
    from patients.models import Patient

    book(world.me, world.clinician, future(2, 9, tz=UTC))
    book(world.cardiac_patients[2], world.clinician, future(2, 11, tz=UTC))

    def run(ids):
        qs = Patient.objects.filter(pk__in=ids).order_by("last_name")
        with CaptureQueriesContext(connection) as ctx:
            rows = registry.list_rows(registry.page_rows(qs, qs))
        return rows, len(ctx.captured_queries)

    _, one = run([world.me.pk])
    rows, many = run([p.pk for p in world.cardiac_patients + world.metabolic_patients])
    assert one == many
    shown = {r["url"]: r["values"]["next_visit"] for r in rows}
    assert shown[f"/patients/{world.me.pk}/"] and shown[f"/patients/{world.cardiac_patients[2].pk}/"]
    assert sum(1 for v in shown.values() if v) == 2


def test_self_booking_offers_only_verified_clinicians_unless_the_program_allows_all(world, client):
    from mahalo.models import ProgramSetting

    set_policy(world.cardiac, "self_book", verify_staff=False)
    AvailabilityFactory(program=world.cardiac, staff=staff(world.clinician))
    tz = world.cardiac.tz
    slot_start = datetime.combine(timezone.now().astimezone(tz).date() + timedelta(days=2), time(10), tzinfo=tz)
    assert services.bookable_staff(world.me, by_patient=True) == []
    assert staff(world.clinician) in services.bookable_staff(world.me)  # staff booking is unaffected
    with pytest.raises(services.SchedulingError):
        services.patient_self_book(patient=world.me, actor=world.patient_user, staff_id=staff(world.clinician).pk,
                                   starts_at=slot_start)
    client.force_login(world.patient_user)
    assert b'name="slot"' not in client.get("/portal/visits/book/").content
    ProgramSetting.objects.create(program=world.cardiac, key=services.VERIFIED_ONLY_KEY, value="false")
    assert b'name="slot"' in client.get("/portal/visits/book/").content
    assert services.patient_self_book(patient=world.me, actor=world.patient_user,
                                      staff_id=staff(world.clinician).pk, starts_at=slot_start).patient_initiated
