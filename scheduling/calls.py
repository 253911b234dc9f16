"""Video calls a clinician starts from a patient's message thread (issue 19; seed 001's video_calls).

The same `VirtualVisitSession` rows as booked virtual visits (one table for call sessions), with
`thread` set instead of `visit`. Lifecycle (`call_status`, seed 001):

    scheduled ──ring──▶ ringing ──patient joins──▶ active ──end──▶ ended
        │                  │ └─ timeout (task + sweeper) ──▶ missed
        └──── cancel ──────┴─▶ canceled        provider error ──▶ failed (reason in last_error)

Every change happens here, under a row lock, and is audited; pages, the API and the Celery
tasks call these functions. Each change writes one system line into the thread and, where the
other side must know, a notification through `messaging.notify` (the outbox: in-app and push,
re-queued by its sweeper, so a broker outage delays a ring and loses none). Join links go only
to the call's two participants: the clinician who started it and the patient.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from mahalo import access, audit, config
from messaging import threads as messaging
from messaging.models import Thread
from messaging.notify import notify
from scheduling import telehealth
from scheduling.models import VirtualVisitSession

logger = logging.getLogger(__name__)
Call = VirtualVisitSession
S = Call.CallStatus

MAX_SCHEDULE_AHEAD = timedelta(days=60)


class CallError(Exception):
    """A refused change, with the reason to show (400 in the API, a message on pages)."""


# --- Who ----------------------------------------------------------------------------------

def ring_timeout_seconds(program) -> int:
    default = getattr(settings, "TELEHEALTH_RING_TIMEOUT_SECONDS", 60)
    value = config.get_int("telehealth_ring_timeout_seconds", default, program=program) or default
    return max(10, value)


def side_of(user, call: Call) -> str | None:
    """"staff" for the clinician who started it, "patient" for the patient's own login, else None."""
    if not getattr(user, "is_authenticated", False):
        return None
    if call.started_by_id == user.pk and access.is_staff_user(user):
        return "staff"
    if call.patient.user_id == user.pk and not access.is_staff_user(user):
        return "patient"
    return None


def may_call(user, thread: Thread) -> str:
    """Why `user` can't call from this thread ("" when they can)."""
    staff = access.staff_of(user)
    if staff is None:
        return "Only staff start video calls."
    if not access.can(user, "scheduling", "write", thread.patient):
        return "Your role can't start calls for this patient."
    if not staff.telehealth_enabled:
        return "Telehealth is turned off for your profile."
    if not thread.patient.user_id or not thread.patient.user.is_active:
        return f"{thread.patient.full_name} has no portal login to answer a call."
    return ""


def live_calls(thread: Thread):
    return (Call.objects.filter(thread=thread, call_status__in=Call.LIVE)  # gate: the caller loaded the thread
            .select_related("started_by", "patient").order_by("scheduled_for", "created_at"))


def recent_calls(thread: Thread, limit: int = 5):
    return (Call.objects.filter(thread=thread)  # gate: the caller loaded the thread
            .select_related("started_by").order_by("-created_at")[:limit])


# --- Writers ------------------------------------------------------------------------------

def call_start(*, thread: Thread, actor, scheduled_for: datetime | None = None, now: datetime | None = None,
               request=None) -> Call:
    """Start a call now (it rings at once) or schedule one. The thread was loaded through the gate."""
    now = now or timezone.now()
    why = may_call(actor, thread)
    if why:
        raise CallError(why)
    if scheduled_for is not None:
        if timezone.is_naive(scheduled_for):
            raise CallError("Give the time with its time zone.")
        if scheduled_for <= now:
            raise CallError("Pick a time in the future, or start the call now.")
        if scheduled_for > now + MAX_SCHEDULE_AHEAD:
            raise CallError("Calls can be scheduled up to 60 days ahead; book a visit for later.")
    with transaction.atomic():
        # One live call per thread: lock the thread so two clicks can't ring twice.
        Thread.objects.select_for_update().filter(pk=thread.pk).first()  # gate: the gated thread itself
        if live_calls(thread).filter(call_status__in=[S.RINGING, S.ACTIVE]).exists() and scheduled_for is None:
            raise CallError("A call is already ringing or in progress in this conversation.")
        call = Call.objects.create(
            project_id=thread.project_id, patient_id=thread.patient_id, thread=thread, started_by=actor,
            provider=telehealth.provider().name, room_name=telehealth.new_room_name(),
            call_status=S.SCHEDULED, scheduled_for=scheduled_for, recording_enabled=False)
        audit.record(request=request, actor=actor, action="write", resource="scheduling", patient=thread.patient,
                     object_id=call.pk, metadata={"what": "call_started" if scheduled_for is None
                                                  else "call_scheduled", "thread": str(thread.pk)})
        if scheduled_for is not None:
            local = timezone.localtime(scheduled_for, thread.patient.tz)
            when = f"{local:%a %b} {local.day}, {local:%I:%M %p}".replace(" 0", " ")
            messaging.system_post(thread=thread, now=now,
                                  body=f"{actor.get_full_name()} scheduled a video call for {when}.")
            _tell_patient(call, "call_scheduled", {"when": when}, key=f"call:{call.pk}:scheduled")
            return call
    return call_ring(call=call, actor=actor, now=now, request=request)


def call_ring(*, call: Call, actor, now: datetime | None = None, request=None) -> Call:
    """Make the room and ring the patient. A provider error ends the call as failed, with its reason."""
    now = now or timezone.now()
    if side_of(actor, call) != "staff":
        raise CallError("Only the clinician who set up this call can start it.")
    with transaction.atomic():
        call = _locked(call)
        if call.call_status != S.SCHEDULED:
            raise CallError(f"This call is {call.get_call_status_display().lower()}.")
        if live_calls(call.thread).filter(call_status__in=[S.RINGING, S.ACTIVE]).exclude(pk=call.pk).exists():
            raise CallError("A call is already ringing or in progress in this conversation.")
        try:
            telehealth.ensure_room(call)
        except telehealth.TelehealthError as exc:
            call.refresh_from_db()
            call.call_status, call.status, call.ended_at = S.FAILED, Call.Status.ENDED, now
            call.last_error = str(exc)[:300]
            call.save()
            messaging.system_post(thread=call.thread, now=now,
                                  body="Video call couldn't connect: the video service didn't answer.")
            audit.record(request=request, actor=actor, action="update", resource="scheduling", patient=call.patient,
                         object_id=call.pk, metadata={"what": "call_failed", "reason": call.last_error})
            return call
        timeout = ring_timeout_seconds(call.thread.program)
        call.call_status, call.status = S.RINGING, Call.Status.WAITING
        call.ring_deadline = now + timedelta(seconds=timeout)
        call.staff_joined_at = call.staff_joined_at or now
        call.save()
        messaging.system_post(thread=call.thread, now=now, body=f"{actor.get_full_name()} started a video call.")
        _tell_patient(call, "call_ringing", {}, key=f"call:{call.pk}:ringing", urgent=True)
        audit.record(request=request, actor=actor, action="update", resource="scheduling", patient=call.patient,
                     object_id=call.pk, metadata={"what": "call_ringing", "timeout_s": timeout})
        call_id = str(call.pk)
        transaction.on_commit(lambda: _queue_expiry(call_id, timeout))
    return call


def call_join(*, call: Call, user, now: datetime | None = None, request=None) -> str:
    """The participant's personal room link. The patient answering makes the call active."""
    now = now or timezone.now()
    side = side_of(user, call)
    if side is None:
        raise PermissionError("Only the clinician who started this call and the patient can join it.")
    if call.call_status not in (S.RINGING, S.ACTIVE):
        raise PermissionError(f"This call is {call.get_call_status_display().lower()}.")
    opens, closes = telehealth.session_window(call)
    url = telehealth.provider_for(call).join_url(call, user, moderator=side == "staff", opens=opens, closes=closes)
    with transaction.atomic():
        call = _locked(call)
        if call.call_status not in (S.RINGING, S.ACTIVE):
            raise PermissionError(f"This call is {call.get_call_status_display().lower()}.")
        stamp = "patient_joined_at" if side == "patient" else "staff_joined_at"
        if getattr(call, stamp) is None:
            setattr(call, stamp, now)
        if side == "patient" and call.call_status == S.RINGING:
            call.call_status, call.status, call.started_at, call.ring_deadline = (S.ACTIVE, Call.Status.ACTIVE,
                                                                                  now, None)
            messaging.system_post(thread=call.thread, now=now, body=f"{call.patient.full_name} joined the video call.")
        call.save()
        audit.record(request=request, actor=user, action="update", resource="scheduling", patient=call.patient,
                     object_id=call.pk, metadata={"what": "call_joined", "side": side})
    return url


def call_end(*, call: Call, user, now: datetime | None = None, request=None) -> Call:
    """Hang up an active call (either participant); the thread shows how long it lasted."""
    now = now or timezone.now()
    if side_of(user, call) is None:
        raise CallError("Only the call's participants can end it.")
    with transaction.atomic():
        call = _locked(call)
        if call.call_status == S.RINGING and side_of(user, call) == "staff":
            return _cancel(call, user, now, request)
        if call.call_status != S.ACTIVE:
            raise CallError(f"This call is {call.get_call_status_display().lower()}.")
        call.call_status, call.status, call.ended_at, call.ended_by = S.ENDED, Call.Status.ENDED, now, user
        call.save()
        messaging.system_post(thread=call.thread, now=now, body=f"Video call ended · {call.duration_label}.")
        audit.record(request=request, actor=user, action="update", resource="scheduling", patient=call.patient,
                     object_id=call.pk, metadata={"what": "call_ended", "seconds": int(call.duration.total_seconds())})
    return call


def call_cancel(*, call: Call, user, now: datetime | None = None, request=None) -> Call:
    """The caller calls it off before it is answered (scheduled or ringing)."""
    now = now or timezone.now()
    if side_of(user, call) != "staff":
        raise CallError("Only the clinician who started this call can cancel it.")
    with transaction.atomic():
        return _cancel(_locked(call), user, now, request)


def _cancel(call: Call, user, now, request) -> Call:
    if call.call_status not in (S.SCHEDULED, S.RINGING):
        raise CallError(f"This call is {call.get_call_status_display().lower()}; it can't be cancelled.")
    was = call.call_status
    call.call_status, call.status, call.ended_at, call.ended_by = S.CANCELED, Call.Status.ENDED, now, user
    call.ring_deadline = None
    call.save()
    messaging.system_post(thread=call.thread, now=now, body="Video call cancelled.")
    _tell_patient(call, "call_cancelled", {}, key=f"call:{call.pk}:cancelled", urgent=was == S.RINGING)
    audit.record(request=request, actor=user, action="update", resource="scheduling", patient=call.patient,
                 object_id=call.pk, metadata={"what": "call_cancelled", "was": was})
    return call


def call_expire(call_id, now: datetime | None = None) -> str:
    """Ringing past its deadline → missed. Safe to run any number of times, early or late."""
    now = now or timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=call_id).first()
        if call is None:
            return "gone"
        if call.call_status != S.RINGING:
            return call.call_status
        if call.ring_deadline and call.ring_deadline > now:
            return "not_yet"
        call.call_status, call.status, call.ended_at, call.ring_deadline = S.MISSED, Call.Status.ENDED, now, None
        call.save()
        thread = Thread.objects.select_related("patient__program").get(pk=call.thread_id)
        messaging.system_post(thread=thread, now=now, body="Missed video call: no answer.")
        caller = call.started_by
        if caller is not None and access.can(caller, "scheduling", "read", call.patient):
            notify(event_type="call_missed", recipients=[caller], patient=call.patient,
                   context={"patient_name": call.patient.full_name}, key=f"call:{call.pk}:missed",
                   link=reverse("message_thread", args=[thread.pk]), channels=["in_app"], now=now)
        audit.record(actor=None, action="update", resource="scheduling", patient=call.patient, object_id=call.pk,
                     metadata={"what": "call_missed"})
    return S.MISSED


def sweep_unanswered(now: datetime | None = None) -> int:
    """Beat: every ringing call past its deadline (a lost countdown task can't leave one ringing)."""
    now = now or timezone.now()
    due = list(Call.objects.filter(call_status=S.RINGING, ring_deadline__lte=now).values_list("pk", flat=True))
    return sum(call_expire(pk, now) == S.MISSED for pk in due)


# --- Helpers ------------------------------------------------------------------------------

def _locked(call: Call) -> Call:
    return (Call.objects.select_for_update(of=("self",))
            .select_related("thread__program", "patient__user", "started_by").get(pk=call.pk))


def _tell_patient(call: Call, event: str, context: dict, *, key: str, urgent: bool = False) -> None:
    patient = call.patient
    if not patient.user_id:
        return
    caller = call.started_by.get_full_name() if call.started_by else ""
    link = reverse("portal_call", args=[call.pk])
    notify(event_type=event, recipients=[patient.user], patient=patient, urgent=urgent, link=link,
           context={"caller": caller, **context}, key=key, channels=["in_app", "push", "email"]
           if event == "call_scheduled" else ["in_app", "push"])


def _queue_expiry(call_id: str, timeout: int) -> None:
    try:
        # By name: scheduling.tasks imports this module (registered in SchedulingConfig.ready).
        current_app.tasks["scheduling.expire_unanswered_call"].apply_async(args=[call_id], countdown=timeout,
                                                                           retry=False)
    except Exception:  # noqa: BLE001 - the beat sweeper expires it instead
        logger.warning("Couldn't queue the ring timeout of call %s; the sweeper will expire it", call_id)
