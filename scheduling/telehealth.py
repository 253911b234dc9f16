"""Video rooms for virtual visits, behind one small provider interface.

- Jitsi (default, no key): the room is a URL on TELEHEALTH_JITSI_BASE_URL
  (https://meet.jit.si by default). A self-hosted server with token auth gets a
  per-participant JWT (HS256, TELEHEALTH_JITSI_APP_ID / _APP_SECRET), the
  claims prosody's token plugin checks (aud, iss, sub, room, exp, nbf, context).
- Daily (when DAILY_API_KEY is set): a private room made through Daily's REST
  API (POST {DAILY_API_BASE}/rooms, Bearer key) and a meeting token per
  participant (POST /meeting-tokens), joined as <room url>?t=<token>.

Room names are random (unguessable). Rooms are made after the booking commits
(task `scheduling.prepare_video_room`) and again, if that failed, on first
join. Join links are handed out only to the visit's patient and clinician and
only inside the join window around the visit (TELEHEALTH_JOIN_EARLY_MINUTES
before the start, TELEHEALTH_JOIN_LATE_MINUTES after the end).

Providers see a session and its time window (`session_window`), not a visit: the
same rooms serve the calls a clinician starts from a thread (`scheduling/calls.py`).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

import httpx
import jwt
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mahalo import access, audit, config
from scheduling import services
from scheduling.models import Mode, VirtualVisitSession, Visit

logger = logging.getLogger(__name__)
Session = VirtualVisitSession


class TelehealthError(Exception):
    """The video provider couldn't make a room or a token."""


class Provider:
    name = "base"

    def create_room(self, session: Session, opens: datetime, closes: datetime) -> dict:
        """Make the room, usable from `opens` to `closes`; returns {"url": ..., "data": {...}}.
        Idempotent per room name."""
        raise NotImplementedError

    def join_url(self, session: Session, user, *, moderator: bool, opens: datetime, closes: datetime) -> str:
        raise NotImplementedError


class JitsiProvider(Provider):
    name = "jitsi"

    def __init__(self, base_url: str, app_id: str = "", app_secret: str = ""):
        self.base_url = base_url.rstrip("/")
        self.app_id, self.app_secret = app_id, app_secret

    def create_room(self, session, opens, closes):
        # Jitsi rooms exist as soon as someone opens the URL.
        return {"url": f"{self.base_url}/{quote(session.room_name)}", "data": {}}

    def token(self, session, user, *, moderator: bool, opens, closes) -> str:
        exp, nbf = closes, opens
        claims = {
            "aud": "jitsi", "iss": self.app_id, "sub": self.base_url.split("://", 1)[-1].split("/", 1)[0],
            "room": session.room_name, "exp": int(exp.timestamp()), "nbf": int(nbf.timestamp()),
            "context": {"user": {"id": str(user.pk), "name": user.get_full_name(), "moderator": moderator}},
        }
        return jwt.encode(claims, self.app_secret, algorithm="HS256")

    def join_url(self, session, user, *, moderator, opens, closes):
        url = session.room_url or f"{self.base_url}/{quote(session.room_name)}"
        if self.app_id and self.app_secret:
            url += "?" + urlencode({"jwt": self.token(session, user, moderator=moderator, opens=opens,
                                                      closes=closes)})
        return url


class DailyProvider(Provider):
    name = "daily"

    def __init__(self, api_key: str, api_base: str, timeout: float = 10.0):
        self.api_key, self.api_base, self.timeout = api_key, api_base.rstrip("/"), timeout

    def _post(self, path: str, body: dict) -> dict:
        try:
            response = httpx.post(f"{self.api_base}{path}", json=body, timeout=self.timeout,
                                  headers={"Authorization": f"Bearer {self.api_key}"})
        except httpx.HTTPError as exc:
            raise TelehealthError(f"Daily unreachable: {exc.__class__.__name__}") from None
        if response.status_code >= 400:
            detail = ""
            try:
                detail = response.json().get("info") or response.json().get("error") or ""
            except ValueError:
                pass
            raise TelehealthError(f"Daily answered {response.status_code} {detail}".strip())
        try:
            return response.json()
        except ValueError:
            raise TelehealthError("Daily answered with something that isn't JSON") from None

    def create_room(self, session, opens, closes):
        exp, nbf = closes, opens
        properties = {"nbf": int(nbf.timestamp()), "exp": int(exp.timestamp()), "enable_prejoin_ui": True,
                      "enable_knocking": True, "eject_at_room_exp": True}
        if session.recording_enabled:
            properties["enable_recording"] = "cloud"
        room = self._post("/rooms", {"name": session.room_name, "privacy": "private", "properties": properties})
        if not room.get("url"):
            raise TelehealthError("Daily's answer had no room url")
        return {"url": room["url"], "data": {"id": room.get("id", ""), "name": room.get("name", "")}}

    def join_url(self, session, user, *, moderator, opens, closes):
        exp = closes
        body = {"properties": {"room_name": session.room_name, "user_name": user.get_full_name(),
                               "user_id": str(user.pk), "is_owner": moderator, "exp": int(exp.timestamp())}}
        token = self._post("/meeting-tokens", body).get("token")
        if not token:
            raise TelehealthError("Daily's answer had no token")
        return f"{session.room_url}?{urlencode({'t': token})}"


def provider() -> Provider:
    if getattr(settings, "DAILY_API_KEY", ""):
        return DailyProvider(settings.DAILY_API_KEY, settings.DAILY_API_BASE)
    return JitsiProvider(settings.TELEHEALTH_JITSI_BASE_URL, settings.TELEHEALTH_JITSI_APP_ID,
                         settings.TELEHEALTH_JITSI_APP_SECRET)


def provider_for(session: Session) -> Provider:
    """The provider that made this session's room (a key added later doesn't move old rooms)."""
    current = provider()
    if session.provider == current.name:
        return current
    return JitsiProvider(settings.TELEHEALTH_JITSI_BASE_URL, settings.TELEHEALTH_JITSI_APP_ID,
                         settings.TELEHEALTH_JITSI_APP_SECRET) if session.provider == "jitsi" else current


# --- Join window ----------------------------------------------------------------------------

def join_early_minutes(visit: Visit) -> int:
    default = getattr(settings, "TELEHEALTH_JOIN_EARLY_MINUTES", 15)
    return max(0, config.get_int("telehealth_join_early_minutes", default, program=visit.program) or 0)


def join_late_minutes(visit: Visit) -> int:
    default = getattr(settings, "TELEHEALTH_JOIN_LATE_MINUTES", 30)
    return max(0, config.get_int("telehealth_join_late_minutes", default, program=visit.program) or 0)


def join_window(visit: Visit) -> tuple[datetime, datetime]:
    return (visit.starts_at - timedelta(minutes=join_early_minutes(visit)),
            visit.ends_at + timedelta(minutes=join_late_minutes(visit)))


def participant_side(user, visit: Visit) -> str | None:
    """"patient" or "staff" when `user` is one of the visit's two participants, else None."""
    if not getattr(user, "is_authenticated", False):
        return None
    if visit.patient.user_id and visit.patient.user_id == user.pk and not access.is_staff_user(user):
        return "patient"
    if visit.staff.user_id == user.pk:
        return "staff"
    return None


def session_window(session: Session) -> tuple[datetime, datetime]:
    """When the room may be used: the visit's join window, or for a call from a thread from a few
    minutes before it rings (or its scheduled time) to TELEHEALTH_CALL_MAX_MINUTES after."""
    if session.visit_id:
        return join_window(session.visit)
    start = session.scheduled_for or session.created_at or timezone.now()
    longest = getattr(settings, "TELEHEALTH_CALL_MAX_MINUTES", 120)
    return start - timedelta(minutes=5), max(start, timezone.now()) + timedelta(minutes=longest)


def join_state(user, visit: Visit, now: datetime | None = None) -> tuple[bool, str]:
    """(may join now, why not)."""
    now = now or timezone.now()
    if visit.mode != Mode.VIRTUAL:
        return False, "This is an in-person visit."
    if participant_side(user, visit) is None:
        return False, "Only the patient and the clinician of this visit can join."
    if visit.status not in Visit.UPCOMING:
        return False, f"The visit is {visit.get_status_display().lower()}."
    opens, closes = join_window(visit)
    if now < opens:
        return False, f"The room opens {join_early_minutes(visit)} minutes before the visit."
    if now > closes:
        return False, "The room has closed."
    return True, ""


# --- Session life ---------------------------------------------------------------------------

def session_for(visit: Visit) -> Session:
    """The visit's session row (made at booking); the room itself is made after commit."""
    session = VirtualVisitSession.objects.filter(visit=visit).first()
    if session is None:
        recording = config.get_bool("telehealth_recording_default", False, program=visit.program)
        session = VirtualVisitSession.objects.create(
            project_id=visit.project_id, patient_id=visit.patient_id, visit=visit, provider=provider().name,
            room_name=new_room_name(), recording_enabled=recording, started_by_id=visit.staff.user_id,
            scheduled_for=visit.starts_at)
        transaction.on_commit(lambda: _queue_room(str(session.pk)))
    return session


def new_room_name() -> str:
    return f"mahalo-{secrets.token_hex(12)}"


def _queue_room(session_id: str) -> None:
    try:
        # By name: scheduling.tasks imports this module (registered in SchedulingConfig.ready).
        current_app.tasks["scheduling.prepare_video_room"].apply_async(args=[session_id], retry=False)
    except Exception:  # noqa: BLE001 - the room is made on first join instead
        logger.warning("Couldn't queue video room %s; it will be made on first join", session_id)


def ensure_room(session: Session) -> Session:
    """Make the provider's room once. Idempotent; a failure is recorded, not raised."""
    if session.room_url:
        return session
    opens, closes = session_window(session)
    try:
        room = provider_for(session).create_room(session, opens, closes)
    except TelehealthError as exc:
        session.last_error, session.call_status = str(exc)[:300], Session.CallStatus.FAILED
        session.save(update_fields=["last_error", "call_status", "updated_at"])
        raise
    session.room_url, session.provider_data, session.last_error = room["url"], room["data"], ""
    if session.call_status == Session.CallStatus.FAILED:
        session.call_status = Session.CallStatus.SCHEDULED
    session.save(update_fields=["room_url", "provider_data", "last_error", "call_status", "updated_at"])
    return session


def join(*, visit: Visit, user, now: datetime | None = None) -> str:
    """Record that `user` joins and return their personal room link.
    Raises PermissionError outside the window or for anyone else."""
    now = now or timezone.now()
    ok, why = join_state(user, visit, now)
    if not ok:
        raise PermissionError(why)
    side = participant_side(user, visit)
    session = ensure_room(session_for(visit))
    opens, closes = join_window(visit)
    url = provider_for(session).join_url(session, user, moderator=side == "staff", opens=opens, closes=closes)
    with transaction.atomic():
        session = VirtualVisitSession.objects.select_for_update().get(pk=session.pk)
        stamp = "patient_joined_at" if side == "patient" else "staff_joined_at"
        if getattr(session, stamp) is None:
            setattr(session, stamp, now)
        if session.status == Session.Status.ENDED:
            pass
        elif session.patient_joined_at and session.staff_joined_at:
            if session.status != Session.Status.ACTIVE:
                session.status, session.call_status, session.started_at = (Session.Status.ACTIVE,
                                                                            Session.CallStatus.ACTIVE, now)
        else:
            session.status, session.call_status = Session.Status.WAITING, Session.CallStatus.RINGING
        session.save()
    _advance_visit(visit, side, user, now)
    audit.record(actor=user, action="update", resource="scheduling", patient=visit.patient, object_id=visit.pk,
                 metadata={"what": "video_joined", "side": side})
    return url


def _advance_visit(visit: Visit, side: str, user, now) -> None:
    """Joining the room moves the visit along: the patient checks in, the clinician starts it (through the
    visit's status machine in services, which in turn opens rooms here: the two modules import each other at
    module level and use each other only at call time)."""
    try:
        visit.refresh_from_db()
        if side == "patient" and visit.status == Visit.Status.PLANNED:
            services.visit_transition(visit=visit, to=Visit.Status.CHECKED_IN, actor=user, reason="Joined video",
                                      now=now)
        if side == "staff":
            if visit.status == Visit.Status.PLANNED:
                services.visit_transition(visit=visit, to=Visit.Status.CHECKED_IN, actor=user,
                                          reason="Video visit opened", now=now)
            if visit.status == Visit.Status.CHECKED_IN:
                services.visit_transition(visit=visit, to=Visit.Status.IN_PROGRESS, actor=user,
                                          reason="Joined video", now=now)
    except services.SchedulingError:
        pass  # a concurrent change already moved it


def end(*, visit: Visit, user, now: datetime | None = None) -> None:
    now = now or timezone.now()
    session = getattr(visit, "session", None)
    if session is None or session.status == Session.Status.ENDED:
        return
    session.status, session.ended_at = Session.Status.ENDED, now
    session.call_status = Session.CallStatus.ENDED if session.started_at else Session.CallStatus.MISSED
    session.save()


def on_visit_status(session: Session, visit: Visit, now) -> None:
    """Keep the call in step with the visit (called inside the visit's transaction)."""
    if visit.status == Visit.Status.CANCELLED and session.status != Session.Status.ENDED:
        session.status, session.ended_at = Session.Status.ENDED, now
        session.call_status = Session.CallStatus.CANCELED if not session.started_at else Session.CallStatus.ENDED
    elif visit.status == Visit.Status.NO_SHOW and session.status != Session.Status.ENDED:
        session.status, session.ended_at, session.call_status = Session.Status.ENDED, now, Session.CallStatus.MISSED
    elif visit.status == Visit.Status.COMPLETED and session.status != Session.Status.ENDED:
        session.status, session.ended_at = Session.Status.ENDED, now
        session.call_status = Session.CallStatus.ENDED if session.started_at else Session.CallStatus.MISSED
    else:
        return
    session.save()


def set_recording(*, visit: Visit, enabled: bool, actor) -> Session:
    """Record the call (clinician's choice, before it starts; the patient sees it in the waiting room)."""
    session = session_for(visit)
    if session.status != Session.Status.NOT_STARTED:
        raise PermissionError("Recording can only be changed before the call starts.")
    if session.room_url and session.provider == "daily" and isinstance(provider_for(session), DailyProvider):
        # The room exists already: change its setting at Daily too.
        try:
            provider_for(session)._post(f"/rooms/{quote(session.room_name)}",
                                        {"properties": {"enable_recording": "cloud" if enabled else None}})
        except TelehealthError as exc:
            raise PermissionError(f"The video service didn't accept the change ({exc}).") from None
    session.recording_enabled = enabled
    session.save(update_fields=["recording_enabled", "updated_at"])
    return session
