"""notify(): templates, safe rendering, preferences, idempotency, quiet hours."""

import datetime as dt
import zoneinfo

import pytest
from django.core import mail

from messaging.models import (
    DeliveryLog,
    Notification,
    NotificationPreference,
    NotificationSettings,
    NotificationTemplate,
)
from messaging.notify import notify, quiet_window_end, render_text

pytestmark = pytest.mark.django_db


def _raise(world, django_capture_on_commit_callbacks, **kwargs):
    args = {"event_type": "new_message", "recipients": [world.patient_user], "context": {"sender": "Dr Lee"},
            "key": "message:1", "patient": world.me}
    args.update(kwargs)
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(**args)
    for row in rows:  # delivery ran on commit
        row.refresh_from_db()
    return rows


def test_render_escapes_html_and_refuses_dangerous_tags():
    assert render_text("Hi {{ name }}", {"name": "<script>x</script>"}, html=True) == \
        "Hi &lt;script&gt;x&lt;/script&gt;"
    assert render_text("Hi {{ name }}", {"name": "<b>"}, html=False) == "Hi <b>"
    # Objects are flattened to strings: no attribute walking into models.
    assert render_text("{{ u.password }}", {"u": object()}, html=False) == ""
    for bad in ("{% debug %}", "{% load static %}", "{% include 'base.html' %}"):
        with pytest.raises(ValueError):
            render_text(bad, {}, html=True)


def test_script_in_context_is_escaped_in_email_and_plain_in_app(world, django_capture_on_commit_callbacks):
    NotificationTemplate.objects.create(project=world.project, event_type="new_message", channel="email",
                                        subject="Message from {{ sender }}", body="{{ sender }} wrote to you.")
    rows = _raise(world, django_capture_on_commit_callbacks, context={"sender": "<script>alert(1)</script>"})
    by_channel = {n.channel: n for n in rows}
    assert set(by_channel) == {"in_app", "email"}
    assert by_channel["in_app"].body.startswith("You have a new secure message from <script>")
    assert by_channel["in_app"].status == "delivered"
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    html = msg.alternatives[0][0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "<script>alert(1)</script> wrote to you." in msg.body
    assert msg.to == ["kai@p.test"]


def test_program_template_overrides_project_and_inactive_is_ignored(world, django_capture_on_commit_callbacks):
    NotificationTemplate.objects.create(project=world.project, event_type="visit_booked", channel="in_app",
                                        subject="Booked", body="Project wording {{ when }}")
    program_tpl = NotificationTemplate.objects.create(project=world.project, program=world.cardiac,
                                                      event_type="visit_booked", channel="in_app",
                                                      subject="Booked", body="Cardiac wording {{ when }}")
    rows = _raise(world, django_capture_on_commit_callbacks, event_type="visit_booked", context={"when": "Mon"},
                  key="visit:1", channels=["in_app"])
    assert rows[0].body == "Cardiac wording Mon"
    program_tpl.is_active = False
    program_tpl.save()
    rows = _raise(world, django_capture_on_commit_callbacks, event_type="visit_booked", context={"when": "Tue"},
                  key="visit:2", channels=["in_app"])
    assert rows[0].body == "Project wording Tue"


def test_broken_template_falls_back_to_builtin_wording(world, django_capture_on_commit_callbacks):
    NotificationTemplate.objects.create(project=world.project, event_type="new_message", channel="in_app",
                                        subject="x", body="{% if %}broken")
    rows = _raise(world, django_capture_on_commit_callbacks, channels=["in_app"])
    assert rows[0].body == "You have a new secure message from Dr Lee."
    assert rows[0].template is None


def test_opt_out_is_respected_per_channel(world, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=world.patient_user, event_type="new_message", channel="email",
                                          opted_out=True)
    rows = _raise(world, django_capture_on_commit_callbacks)
    status = {n.channel: n.status for n in rows}
    assert status == {"in_app": "delivered", "email": "skipped"}
    assert mail.outbox == []


def test_safety_critical_alerts_cannot_be_opted_out_by_staff(world, django_capture_on_commit_callbacks):
    for channel in ("in_app", "email"):
        NotificationPreference.objects.create(user=world.clinician, event_type="alert_created", channel=channel,
                                              opted_out=True)
        NotificationPreference.objects.create(user=world.clinician, event_type="visit_booked", channel=channel,
                                              opted_out=True)
    rows = _raise(world, django_capture_on_commit_callbacks, event_type="alert_created",
                  recipients=[world.clinician], context={"patient_name": "Kai"}, key="alert:1")
    assert {n.channel: n.status for n in rows} == {"in_app": "delivered", "email": "delivered"}
    assert len(mail.outbox) == 1
    rows = _raise(world, django_capture_on_commit_callbacks, event_type="visit_booked",
                  recipients=[world.clinician], context={}, key="visit:9")
    assert {n.status for n in rows} == {"skipped"}


def test_same_event_twice_creates_one_row_per_channel_and_delivers_once(world, django_capture_on_commit_callbacks):
    first = _raise(world, django_capture_on_commit_callbacks, recipients=[world.patient_user, world.clinician])
    second = _raise(world, django_capture_on_commit_callbacks, recipients=[world.patient_user, world.clinician])
    assert len(first) == 4
    assert sorted(n.pk for n in first) == sorted(n.pk for n in second)
    assert Notification.objects.count() == 4
    assert len(mail.outbox) == 2
    assert DeliveryLog.objects.filter(status="delivered", notification__channel="email").count() == 2


def test_unknown_event_is_refused(world):
    with pytest.raises(ValueError):
        notify(event_type="nope", recipients=[world.patient_user], context={}, key="x")


HONOLULU = zoneinfo.ZoneInfo("Pacific/Honolulu")


def test_quiet_window_crossing_midnight():
    start, end = dt.time(22, 0), dt.time(7, 0)
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=HONOLULU)
    early = dt.datetime(2026, 3, 2, 6, 0, tzinfo=HONOLULU)
    noon = dt.datetime(2026, 3, 2, 12, 0, tzinfo=HONOLULU)
    assert quiet_window_end(start, end, HONOLULU, late) == dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
    assert quiet_window_end(start, end, HONOLULU, early) == dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
    assert quiet_window_end(start, end, HONOLULU, noon) is None
    assert quiet_window_end(dt.time(13), dt.time(15), HONOLULU, noon) is None
    assert quiet_window_end(dt.time(11), dt.time(15), HONOLULU, noon) == dt.datetime(2026, 3, 3, 1, 0,
                                                                                     tzinfo=dt.UTC)


def test_quiet_hours_defer_non_urgent_email_to_window_end_in_patient_timezone(
        world, django_capture_on_commit_callbacks):
    # Kai's program is in Honolulu (UTC-10): 23:30 local is 09:30 UTC next day.
    NotificationSettings.objects.create(user=world.patient_user, quiet_start=dt.time(22), quiet_end=dt.time(7))
    now = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    rows = _raise(world, django_capture_on_commit_callbacks, now=now)
    email = next(n for n in rows if n.channel == "email")
    assert email.status == "pending"
    assert email.next_attempt_at == dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)  # 07:00 in Honolulu
    assert mail.outbox == []
    assert next(n for n in rows if n.channel == "in_app").status == "delivered"

    urgent = _raise(world, django_capture_on_commit_callbacks, key="message:2", urgent=True, now=now)
    email = next(n for n in urgent if n.channel == "email")
    assert email.next_attempt_at == now
    assert email.status == "delivered" and len(mail.outbox) == 1


def test_quiet_hours_end_then_sweeper_delivers(world, django_capture_on_commit_callbacks):
    from messaging.tasks import sweep

    NotificationSettings.objects.create(user=world.patient_user, quiet_start=dt.time(22), quiet_end=dt.time(7))
    now = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    _raise(world, django_capture_on_commit_callbacks, now=now)
    assert sweep(now=now + dt.timedelta(hours=1)) == []
    assert len(sweep(now=dt.datetime(2026, 3, 2, 17, 1, tzinfo=dt.UTC))) == 1
    assert len(mail.outbox) == 1
