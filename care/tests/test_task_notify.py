"""Due-soon and overdue task notifications: the sweeper tells the assignee once per due time, through
messaging.notify (so in the notification centre), and a rule-created task is in "My tasks"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from care.models import Task
from care.services import task_notify
from care.tasks import notify_due_tasks
from care.tests.factories import task
from messaging.models import Notification

pytestmark = pytest.mark.django_db


def test_overdue_and_due_soon_tasks_notify_their_assignee_once(world, login):
    patient = world.cardiac_patients[1]
    late = task(patient, assignee=world.clinician, title="Call back about BP", due_in_hours=-2)
    soon = task(patient, assignee=world.clinician, title="Review the log", due_in_hours=3)
    later = task(patient, assignee=world.clinician, title="Far away", due_in_hours=72)
    done = task(patient, assignee=world.clinician, title="Already done", due_in_hours=-5)
    Task.objects.filter(pk=done.pk).update(status="done")
    assert notify_due_tasks.delay().get() == {"task_overdue": 1, "task_due_soon": 1}
    rows = Notification.objects.filter(recipient=world.clinician, channel="in_app")
    assert {r.event_type for r in rows} == {"task_overdue", "task_due_soon"}
    overdue = rows.get(event_type="task_overdue")
    assert "Call back about BP" in overdue.body and patient.full_name in overdue.subject
    assert overdue.link == f"/tasks/{late.pk}/"
    assert not Notification.objects.filter(body__contains="Far away").exists()
    assert not Notification.objects.filter(body__contains="Already done").exists()
    # Running again tells nobody twice.
    count = Notification.objects.count()
    assert task_notify.notify_due_tasks() == {"task_overdue": 0, "task_due_soon": 0}
    assert Notification.objects.count() == count
    # Later the due-soon one is overdue: told once more, as overdue.
    task_notify.notify_due_tasks(now=timezone.now() + timedelta(hours=4))
    assert Notification.objects.filter(event_type="task_overdue", link=f"/tasks/{soon.pk}/").exists()
    later.refresh_from_db()
    assert later.overdue_notified_at is None
    page = login(world.clinician).get("/notifications/")
    assert page.status_code == 200 and "Call back about BP" in page.content.decode()


def test_a_team_task_tells_the_role_holders_who_can_see_the_patient(world):
    from mahalo.models import StaffMember

    role = StaffMember.objects.get(user=world.clinician).role
    t = task(world.cardiac_patients[0], assignee=None, assignee_role=role, due_in_hours=-1)
    task_notify.notify_due_tasks()
    told = set(Notification.objects.filter(event_type="task_overdue", link=f"/tasks/{t.pk}/")
               .values_list("recipient", flat=True))
    assert world.clinician.pk in told and world.other_clinician.pk not in told  # metabolic: can't see


def test_patients_are_not_offered_staff_task_events(world):
    from messaging.forms import events_for

    assert "task_overdue" not in dict(events_for(world.patient_user))
    assert "task_overdue" in dict(events_for(world.clinician))


def test_a_suggest_visit_rule_makes_a_visit_request_in_the_queue(world, login):
    from clinical import alerting
    from clinical.models import ClinicalRule
    from clinical.tests.alert_helpers import bp, default_rule
    from scheduling.models import VisitRequest

    patient = world.cardiac_patients[1]
    rule = default_rule(world.cardiac, "hypertensive_crisis")
    rule.action = ClinicalRule.Action.SUGGEST_VISIT
    rule.save()
    bp(patient, 190, 100, timezone.now() - timedelta(hours=1))
    alerting.evaluate_patient(patient, [rule])
    req = VisitRequest.objects.get(patient=patient)
    assert rule.name in req.reason and req.status == "NEW"
    bp(patient, 192, 104, timezone.now() - timedelta(minutes=5))
    alerting.evaluate_patient(patient, [rule])  # the same open alert: no second request
    assert VisitRequest.objects.filter(patient=patient).count() == 1
    page = login(world.clinician).get("/schedule/requests/")
    assert page.status_code == 200 and patient.full_name in page.content.decode()
