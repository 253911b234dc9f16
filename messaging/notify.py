"""The one entry point for notifications: `notify(...)`.

Domain code raises an event inside its own transaction; this writes one outbox row
(messaging.models.Notification) per recipient and channel in that same transaction
and queues delivery on commit. A broker outage leaves the rows pending; the beat
sweeper (messaging.tasks.sweep_outbox) re-queues them, so nothing is lost.

    from messaging.notify import notify
    notify(event_type="new_message", recipients=[user], context={"sender": "Dr Lee"},
           key=f"message:{message.pk}", patient=patient, link=f"/messages/{thread.pk}/")

Templates (NotificationTemplate) are Django template text written by admins. They are
rendered by a sandboxed engine (no loaders, no tag libraries, no {% debug %}) over a
fixed context of plain strings and numbers, autoescaped for HTML and plain for text.
A broken template falls back to the built-in wording and is logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.template import Context, Engine
from django.utils import timezone

from mahalo import access
from messaging.delivery import vapid_configured
from messaging.models import (
    CHANNELS,
    EVENT_TYPES,
    SAFETY_CRITICAL_EVENTS,
    DeliveryLog,
    Notification,
    NotificationPreference,
    NotificationSettings,
    NotificationTemplate,
    PushSubscription,
)
from messaging.tasks import queue_many

logger = logging.getLogger(__name__)

CHANNEL_KEYS = [c for c, _ in CHANNELS]
EVENT_KEYS = [e for e, _ in EVENT_TYPES]
# Channels a safety-critical staff event always reaches, whatever the preferences say.
ALWAYS_CHANNELS = ("in_app", "email")

# Built-in wording: used when no active template exists (or a template is broken), so an
# event is never silent. Same sandbox and context as admin-written templates.
DEFAULTS: dict[str, tuple[str, str]] = {
    "new_message": ("New message", "You have a new secure message{% if sender %} from {{ sender }}{% endif %}."),
    "visit_reminder": ("Visit reminder", "Reminder: you have a visit{% if when %} on {{ when }}{% endif %}."),
    "visit_booked": ("Visit booked", "Your visit is booked{% if when %} for {{ when }}{% endif %}."),
    "visit_cancelled": ("Visit cancelled", "Your visit{% if when %} on {{ when }}{% endif %} was cancelled."),
    "alert_created": ("Clinical alert", "A new clinical alert{% if patient_name %} for {{ patient_name }}"
                                        "{% endif %} needs review{% if alert %}: {{ alert }}{% endif %}."),
    "questionnaire_due": ("Questionnaire due", "A questionnaire is waiting for you{% if name %}: {{ name }}"
                                               "{% endif %}."),
    "food_log_reminder": ("Food log reminder", "Don't forget to log your meals today."),
    "device_reconsent": ("Reconnect your device", "Your wearable{% if device %} ({{ device }}){% endif %} "
                                                  "needs to be reconnected to keep sharing data."),
    "call_ringing": ("Incoming video call", "{% if caller %}{{ caller }} is{% else %}Your care team is{% endif %} "
                                            "calling you now. Open the portal to join the video call."),
    "call_scheduled": ("Video call scheduled", "{% if caller %}{{ caller }}{% else %}Your care team{% endif %} "
                                               "scheduled a video call{% if when %} for {{ when }}{% endif %}."),
    "call_missed": ("Missed video call", "{% if patient_name %}{{ patient_name }} didn't{% else %}Nobody{% endif %}"
                                         " answer{% if not patient_name %}ed{% endif %} the video call."),
    "call_cancelled": ("Video call cancelled", "{% if caller %}{{ caller }}{% else %}Your care team{% endif %} "
                                               "cancelled the video call."),
    "care_team_request": ("Care-team request", "There is a new care-team request{% if patient_name %} from "
                                               "{{ patient_name }}{% endif %}."),
    "task_due_soon": ("Task due soon", "A task assigned to you is due soon{% if due %} ({{ due }}){% endif %}."),
    "task_overdue": ("Task overdue", "A task assigned to you is overdue{% if due %} (was due {{ due }}){% endif %}."),
    "excuse_note_issued": ("Your note is ready", "Your care team issued a document for you. Open the portal to "
                                                 "download it."),
    "lab_results_released": ("Lab results ready", "New lab results are ready to view in the portal."),
    "visit_summary_shared": ("Visit summary ready", "A summary of your visit is ready to read in the portal."),
    # A link only: the mail leaves the app, so it names no patient and no result (reports.services).
    "report_shared": ("A report was shared with you", "{% if sender %}{{ sender }}{% else %}Your care team{% endif %}"
                                                      " shared a report with you. Open the link to read it"
                                                      "{% if expires %}; it works until {{ expires }}{% endif %}."),
    "weekly_summary": ("Your weekly summary", "Your summary of the week{% if week %} of {{ week }}{% endif %} is "
                                              "ready. Open the app to see it."),
}

# Staff read many notifications about many patients: without a template of the project's, a
# staff member's in-app notification about a patient names the patient and the thing (issue 21
# item 7). `patient_name` and `mrn` are added by notify() from the event's patient. Other channels
# (email, SMS, push) keep the wording above: they leave the app, so they carry no more PHI than before.
STAFF_DEFAULTS: dict[str, tuple[str, str]] = {
    "new_message": ("Message from {{ patient_name }}",
                    "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %}: new secure message"
                    "{% if sender %} from {{ sender }}{% endif %}{% if subject %} in “{{ subject }}”{% endif %}."),
    "visit_reminder": ("Visit reminder: {{ patient_name }}",
                       "Visit with {{ patient_name }}{% if when %} on {{ when }}{% endif %}."),
    "visit_booked": ("Visit booked: {{ patient_name }}",
                     "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %}: visit booked"
                     "{% if when %} for {{ when }}{% endif %}{% if mode %} ({{ mode }}){% endif %}."),
    "visit_cancelled": ("Visit cancelled: {{ patient_name }}",
                        "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %}: the visit"
                        "{% if when %} on {{ when }}{% endif %} was cancelled"
                        "{% if reason %} ({{ reason }}){% endif %}."),
    "alert_created": ("Alert: {{ patient_name }}",
                      "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %}: "
                      "{% if alert %}{{ alert }}{% else %}a clinical alert needs review{% endif %}"
                      "{% if severity %} ({{ severity }}){% endif %}."),
    "device_reconsent": ("Device disconnected: {{ patient_name }}",
                         "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %}: their wearable"
                         "{% if device %} ({{ device }}){% endif %} needs to be reconnected; no data arrives "
                         "until they do."),
    "care_team_request": ("Care-team request: {{ patient_name }}",
                          "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %} asked you to join their care "
                          "team{% if note %}: “{{ note }}”{% endif %}."),
    "task_due_soon": ("Task due soon: {{ patient_name }}",
                      "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %}: “{{ task }}” is due"
                      "{% if due %} {{ due }}{% else %} soon{% endif %}."),
    "task_overdue": ("Task overdue: {{ patient_name }}",
                     "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %}: “{{ task }}” is overdue"
                     "{% if due %} (was due {{ due }}){% endif %}."),
    "weekly_summary": ("Weekly summary: {{ patient_name }}",
                       "{{ patient_name }}{% if mrn %} ({{ mrn }}){% endif %}: the summary of the week"
                       "{% if week %} of {{ week }}{% endif %} is ready."),
    "questionnaire_due": ("Questionnaire due: {{ patient_name }}",
                          "{{ patient_name }}: a questionnaire is due{% if name %} ({{ name }}){% endif %}."),
}

_ENGINE = Engine(dirs=[], app_dirs=False, loaders=[("django.template.loaders.locmem.Loader", {})],
                 libraries={}, autoescape=True, debug=False, string_if_invalid="")
# Tags that reach outside the fixed context: refused before rendering.
_FORBIDDEN_TAG = re.compile(r"{%-?\s*(debug|load|include|extends|ssi|templatetag|block|csrf_token)\b")
_SAFE_TYPES = (str, int, float, bool, type(None))


class TemplateRefused(ValueError):
    pass


def _clean_context(context: dict | None) -> dict:
    """Only plain values: objects (a model, a user) would expose their attributes."""
    clean = {}
    for key, value in (context or {}).items():
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
            continue
        if isinstance(value, _SAFE_TYPES):
            clean[key] = value
        elif isinstance(value, (dt.date, dt.datetime, dt.time)):
            clean[key] = value.isoformat() if not isinstance(value, dt.datetime) else f"{value:%Y-%m-%d %H:%M}"
        else:
            clean[key] = str(value)
    return clean


def render_text(source: str, context: dict, *, html: bool) -> str:
    """Render admin-written template text over a plain context. HTML: autoescaped."""
    if _FORBIDDEN_TAG.search(source or ""):
        raise TemplateRefused("template uses a tag that isn't allowed")
    template = _ENGINE.from_string(source or "")
    return template.render(Context(_clean_context(context), autoescape=html)).strip()


def find_template(event_type: str, channel: str, project, program=None) -> NotificationTemplate | None:
    """The active template in scope: the program's overrides the project's."""
    if project is None:
        return None
    rows = list(NotificationTemplate.objects.filter(project=project, event_type=event_type, channel=channel,
                                                    is_active=True))
    if program is not None:
        for row in rows:
            if row.program_id == program.pk:
                return row
    return next((row for row in rows if row.program_id is None), None)


@dataclass
class Rendered:
    subject: str
    body: str
    html_body: str
    template: NotificationTemplate | None


def render_notification(event_type: str, channel: str, context: dict, *, project=None, program=None,
                        template: NotificationTemplate | None = None, staff: bool = False) -> Rendered:
    """Subject, plain body and HTML body of one notification (template or built-in wording)."""
    if template is None:
        template = find_template(event_type, channel, project, program)
    if template is not None:
        try:
            return Rendered(
                subject=_one_line(render_text(template.subject, context, html=False)) or DEFAULTS[event_type][0],
                body=render_text(template.body, context, html=False),
                html_body=render_text(template.body, context, html=True),
                template=template,
            )
        except Exception:  # noqa: BLE001 - an admin's broken template must not lose the event
            logger.exception("Notification template %s (%s/%s) failed; using the built-in wording",
                             template.pk, event_type, channel)
    subject, body = DEFAULTS.get(event_type, ("Notification", "You have a new notification."))
    if staff and channel == "in_app" and context.get("patient_name") and event_type in STAFF_DEFAULTS:
        subject, body = STAFF_DEFAULTS[event_type]
    return Rendered(subject=_one_line(render_text(subject, context, html=False)),
                    body=render_text(body, context, html=False),
                    html_body=render_text(body, context, html=True), template=None)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


# --- Quiet hours -------------------------------------------------------------------

def user_timezone(user) -> zoneinfo.ZoneInfo:
    """A patient's program timezone; staff: their first program's; else UTC."""
    patient = access.patient_of(user)
    if patient is not None and patient.program_id:
        return patient.tz
    programs = access.program_list(user)
    return programs[0].tz if programs else zoneinfo.ZoneInfo("UTC")


def quiet_until(user, now: dt.datetime | None = None) -> dt.datetime | None:
    """End of the user's quiet hours (UTC) if `now` falls inside them, else None."""
    quiet = NotificationSettings.objects.filter(user=user).first()
    if quiet is None or quiet.quiet_start is None or quiet.quiet_end is None:
        return None
    return quiet_window_end(quiet.quiet_start, quiet.quiet_end, user_timezone(user), now or timezone.now())


def quiet_window_end(start: dt.time, end: dt.time, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> dt.datetime | None:
    if start == end:
        return None
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= t < end, local.date()
    else:  # crosses midnight, e.g. 22:00-07:00
        inside = t >= start or t < end
        end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=tz).astimezone(dt.UTC)


# --- Channels available to a recipient --------------------------------------------------

def sms_configured() -> bool:
    return bool(getattr(settings, "MAHALO_SMS_PROVIDER", ""))


def channel_possible(user, channel: str) -> bool:
    if channel == "email":
        return bool(user.email)
    if channel == "push":
        return vapid_configured() and PushSubscription.objects.filter(user=user).exists()
    if channel == "sms":
        return sms_configured()
    return True


def is_forced(user, event_type: str, channel: str) -> bool:
    """Safety-critical staff alerts can't be switched off on the always-on channels."""
    return event_type in SAFETY_CRITICAL_EVENTS and channel in ALWAYS_CHANNELS and access.is_staff_user(user)


def opted_out(user) -> set[tuple[str, str]]:
    return set(NotificationPreference.objects.filter(user=user, opted_out=True)
               .values_list("event_type", "channel"))


# --- The entry point -----------------------------------------------------------------

def notify(*, event_type: str, recipients, context: dict, key: str, patient=None, project=None, program=None,
           urgent: bool = False, channels=None, link: str = "", now: dt.datetime | None = None
           ) -> list[Notification]:
    """Write the outbox rows of one event and queue their delivery on commit.

    `key` identifies the event (e.g. f"message:{message.pk}"): raising the same event
    again creates nothing new (one row per recipient and channel, ever). Returns the
    rows of this event (new and existing). Never raises for a broker outage."""
    if event_type not in EVENT_KEYS:
        raise ValueError(f"Unknown notification event {event_type!r}")
    now = now or timezone.now()
    if patient is not None:
        project = project or patient.project
        program = program or patient.program
    wanted = [c for c in (channels or CHANNEL_KEYS) if c in CHANNEL_KEYS]
    rows: list[Notification] = []
    with transaction.atomic():
        for user in recipients:
            if user is None or not user.is_active:
                continue  # deactivated logins get nothing
            user_project = project or access.project_of(user)
            staff = patient is not None and access.is_staff_user(user)
            user_context, user_link = context, link
            if staff:
                # Name the patient and link to their record, whatever the caller passed.
                user_context = {**context, "patient_name": patient.full_name, "mrn": patient.mrn or ""}
                if not link or link.startswith("/portal/"):
                    user_link = f"/patients/{patient.pk}/"
            outs = opted_out(user)
            delay_until = None if urgent else quiet_until(user, now)
            for channel in wanted:
                if channel == "sms" and not sms_configured():
                    continue
                if not channel_possible(user, channel):
                    continue
                template = find_template(event_type, channel, user_project, program)
                if template is None and channel == "sms":
                    continue  # no built-in SMS wording: texts only when a project wrote one
                idem = f"{key}:{user.pk}:{channel}"[:200]
                skipped = (event_type, channel) in outs and not is_forced(user, event_type, channel)
                if skipped:
                    rendered = Rendered("", "", "", template)
                else:
                    source = template if template is not None or channel != "push" else find_template(
                        event_type, "in_app", user_project, program)
                    rendered = render_notification(event_type, channel, user_context, project=user_project,
                                                   program=program, template=source, staff=staff)
                row = Notification(
                    project=user_project, recipient=user, patient=patient, event_type=event_type, channel=channel,
                    idempotency_key=idem, urgent=urgent, template=rendered.template, subject=rendered.subject,
                    body=rendered.body, html_body=rendered.html_body, link=user_link[:300], created_at=now,
                    next_attempt_at=now,
                )
                if skipped:
                    row.status, row.last_error = Notification.Status.SKIPPED, "Opted out"
                elif channel == "in_app":
                    # The row is the delivery: it shows in the notification centre at once.
                    row.status, row.delivered_at = Notification.Status.DELIVERED, now
                elif delay_until is not None:
                    row.next_attempt_at = delay_until
                rows.append(row)
        keys = [r.idempotency_key for r in rows]
        existing = set(Notification.objects.filter(idempotency_key__in=keys).values_list("idempotency_key",
                                                                                           flat=True))
        new = [r for r in rows if r.idempotency_key not in existing]
        Notification.objects.bulk_create(new, ignore_conflicts=True)
        saved = {n.idempotency_key: n for n in Notification.objects.filter(idempotency_key__in=keys)}
        created = [saved[r.idempotency_key] for r in new if r.idempotency_key in saved
                   and saved[r.idempotency_key].pk == r.pk]
        DeliveryLog.objects.bulk_create([
            DeliveryLog(notification=n, attempt=0, status=n.status, reason=n.last_error, at=now)
            for n in created if n.status in (Notification.Status.DELIVERED, Notification.Status.SKIPPED)
        ])
        due = [str(n.pk) for n in created if n.status == Notification.Status.PENDING and n.next_attempt_at <= now]
        if due:
            transaction.on_commit(lambda: queue_many(due))
    return [saved[k] for k in keys if k in saved]


def on_event_raised(sender, *, event_type: str, **event) -> list[Notification]:
    """Receiver of `mahalo.events.event_raised` (connected in MessagingConfig.ready): the layers
    below messaging raise events there and they arrive here, in the caller's transaction."""
    event.pop("signal", None)
    return notify(event_type=event_type, **event)
