"""The notification centre, the bell, notification settings and push subscription, over HTTP."""

import json

import pytest
from django.urls import reverse

from mahalo.models import AuditEvent
from messaging.models import Notification, NotificationPreference, NotificationSettings, PushSubscription
from messaging.notify import notify

pytestmark = pytest.mark.django_db


def _notify(user, key, **kwargs):
    return notify(event_type=kwargs.pop("event_type", "new_message"), recipients=[user],
                  context={"sender": "Dr <b>Lee</b>"}, key=key, channels=["in_app"], **kwargs)


@pytest.mark.parametrize("name,args,method", [
    ("notification_list", [], "get"), ("notification_bell", [], "get"),
    ("notification_read_all", [], "post"), ("notification_settings", [], "get"),
    ("notification_settings", [], "post"), ("notification_push_subscribe", [], "post"),
    ("notification_read", ["6a3b7d4e-1111-4222-8333-944455556666"], "post"),
])
def test_login_required(client, db, name, args, method):
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_list_shows_own_notifications_newest_first_escaped(world, login):
    _notify(world.patient_user, "m:1")
    _notify(world.patient_user, "m:2", event_type="visit_booked")
    _notify(world.clinician, "m:3", event_type="questionnaire_due")
    response = login(world.patient_user).get(reverse("notification_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Visit booked") < html.index("New message")
    assert "Dr &lt;b&gt;Lee&lt;/b&gt;" in html and "<b>Lee</b>" not in html
    assert "Questionnaire due" not in html
    assert html.count("notification-unread") == 2


def test_bell_count_and_mark_read(world, login):
    client = login(world.patient_user)
    [first] = _notify(world.patient_user, "m:1")
    _notify(world.patient_user, "m:2")
    assert 'data-unseen="2"' in client.get(reverse("notification_bell")).content.decode()
    response = client.post(reverse("notification_read", args=[first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.seen_at is not None
    assert 'data-unseen="1"' in client.get(reverse("notification_bell")).content.decode()
    client.post(reverse("notification_read_all"))
    bell = client.get(reverse("notification_bell")).content.decode()
    assert "data-unseen" not in bell and "none unread" in bell
    assert Notification.objects.filter(recipient=world.patient_user, seen_at__isnull=True).count() == 0


def test_open_marks_read_and_follows_local_link_only(world, login):
    [n] = _notify(world.patient_user, "m:1", link="/portal/")
    [evil] = _notify(world.patient_user, "m:2", link="https://evil.example/")
    client = login(world.patient_user)
    assert client.post(reverse("notification_read", args=[n.pk]), {"open": "1"})["Location"] == "/portal/"
    assert client.post(reverse("notification_read", args=[evil.pk]), {"open": "1"})["Location"] == \
        reverse("notification_list")


def test_cannot_mark_someone_elses_notification(world, login):
    [theirs] = _notify(world.clinician, "m:1")
    client = login(world.patient_user)
    assert client.post(reverse("notification_read", args=[theirs.pk])).status_code == 404
    client.post(reverse("notification_read_all"))
    theirs.refresh_from_db()
    assert theirs.seen_at is None


def test_staff_settings_save_opt_outs_quiet_hours_and_audit(world, login):
    client = login(world.clinician)
    response = client.get(reverse("notification_settings"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="pref__alert_created__email"' in html
    data = {f"pref__{e}__{c}": "on" for e in ("new_message", "visit_booked") for c in ("in_app", "email", "push")}
    data.pop("pref__new_message__email")
    data.update(quiet_start="21:30", quiet_end="06:45")
    response = client.post(reverse("notification_settings"), data)
    assert response.status_code == 302
    outs = set(NotificationPreference.objects.filter(user=world.clinician, opted_out=True)
               .values_list("event_type", "channel"))
    assert ("new_message", "email") in outs and ("new_message", "in_app") not in outs
    # Safety-critical alerts: disabled fields, never stored as opted out.
    assert not any(e == "alert_created" and c in ("in_app", "email") for e, c in outs)
    quiet = NotificationSettings.objects.get(user=world.clinician)
    assert (quiet.quiet_start.strftime("%H:%M"), quiet.quiet_end.strftime("%H:%M")) == ("21:30", "06:45")
    event = AuditEvent.objects.filter(actor=world.clinician, action="update", resource="messaging").get()
    assert event.metadata["notification_settings"]["new_message/email"] == "off"
    html = client.get(reverse("notification_settings")).content.decode()
    assert 'value="21:30"' in html


def test_settings_show_inline_errors_and_keep_input(world, login):
    client = login(world.patient_user)
    response = client.post(reverse("notification_settings"), {"quiet_start": "25:99", "quiet_end": "07:00",
                                                              "pref__new_message__email": "on"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid time." in html and 'value="25:99"' in html
    response = client.post(reverse("notification_settings"), {"quiet_start": "22:00"})
    assert "Give both a start and an end" in response.content.decode()
    assert not NotificationSettings.objects.filter(user=world.patient_user).exists()
    assert not NotificationPreference.objects.filter(user=world.patient_user).exists()


def test_patient_settings_in_the_portal_without_staff_only_events(world, login):
    client = login(world.patient_user)
    html = client.get(reverse("notification_settings")).content.decode()
    assert 'aria-current="page"' in html and "Quiet hours" in html
    assert "pref__alert_created" not in html and "pref__visit_reminder__email" in html
    response = client.post(reverse("notification_settings"), {"quiet_start": "", "quiet_end": ""})
    assert response["Location"] == reverse("portal_notifications")
    assert NotificationPreference.objects.filter(user=world.patient_user, opted_out=True).count() > 0
    assert client.get(reverse("portal_notifications")).status_code == 200


def test_push_subscribe(world, login, settings):
    client = login(world.patient_user)
    body = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "BPk", "auth": "xyz"}}
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""
    assert client.post(reverse("notification_push_subscribe"), json.dumps(body),
                       content_type="application/json").status_code == 404
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = "priv", "pub"
    assert client.post(reverse("notification_push_subscribe"), "{}", content_type="application/json"
                       ).status_code == 400
    assert client.post(reverse("notification_push_subscribe"), json.dumps(body),
                       content_type="application/json").status_code == 201
    assert PushSubscription.objects.get().user == world.patient_user


def test_settings_form_fragment_for_htmx(world, login):
    client = login(world.patient_user)
    portal = client.get(reverse("portal_notifications")).content.decode()
    assert 'name="quiet_start"' in portal  # the portal page carries the settings form itself
    response = client.get(reverse("notification_settings"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'name="quiet_start"' in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


ADMIN_MODELS = ["notificationtemplate", "notification", "deliverylog", "thread", "threadparticipant", "message",
                "messagerevision", "messagereceipt", "attachment", "notificationpreference",
                "notificationsettings", "pushsubscription"]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_changelists_are_scoped(world, login, model, settings):
    settings.MAHALO_REQUIRE_STAFF_MFA = False
    _notify(world.patient_user, "m:1", patient=world.me)
    _notify(world.outsider, "m:2", patient=world.foreign_patients[0])
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser(email="root@t.test", password="x-very-long-1")
    assert login(root).get(f"/admin/messaging/{model}/").status_code == 200
    response = login(world.lead).get(f"/admin/messaging/{model}/")
    assert response.status_code in (200, 403)
    if model == "notification" and response.status_code == 200:
        assert response.context["cl"].result_count == 1  # not the other tenant's


def test_admin_templates_editable_outbox_read_only(world, login):
    from django.contrib import admin

    from messaging.models import Notification as N
    from messaging.models import NotificationTemplate

    class Req:
        user = world.lead

    assert not admin.site._registry[N].has_change_permission(Req())
    assert not admin.site._registry[N].has_add_permission(Req())
    template_admin = admin.site._registry[NotificationTemplate]
    assert template_admin.has_change_permission(Req()) == template_admin._can(Req(), "update")


def test_push_button_only_when_vapid_is_configured(world, login, settings):
    client = login(world.clinician)
    assert "data-push-subscribe" not in client.get(reverse("notification_settings")).content.decode()
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = "priv", "BPubKey"
    html = client.get(reverse("notification_settings")).content.decode()
    assert 'data-key="BPubKey"' in html and "js/push.js" in html and "<script>" not in html
