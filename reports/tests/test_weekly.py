"""Weekly summaries: composed from the report sections, one per patient and week, delivered to the
patient (a link, no PHI in the e-mail) and the care team, shown in the portal to the patient only."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse

from messaging.models import Notification
from patients.care_team import care_team_add
from reports.models import WeeklySummary
from reports.tests.factories import cardiac_data, summary_row
from reports.weekly import last_week, summaries_due, summary_create

pytestmark = pytest.mark.django_db


def _monday_morning(patient):
    week = last_week(patient) + timedelta(days=7)  # this week's Monday
    return datetime.combine(week, time(9), tzinfo=patient.tz)


def test_summary_is_made_once_and_delivered(world):
    patient = world.me
    staff = world.clinician.staff
    care_team_add(patient=patient, staff=staff, actor=world.lead)
    cardiac_data(patient, days=14)
    week = last_week(patient)
    summary = summary_create(patient, week)
    assert summary is not None
    snap = summary.snapshot
    assert snap["vitals"]["total"] > 0 and snap["vitals"]["in_range"] <= snap["vitals"]["total"]
    assert snap["exercise"] is None  # no rehab models yet: the hook answers nothing
    assert summary_create(patient, week) is None  # once per week
    assert WeeklySummary.objects.filter(patient=patient).count() == 1
    to_patient = Notification.objects.filter(event_type="weekly_summary", recipient=world.patient_user)
    assert to_patient.exists()
    for n in to_patient:
        assert patient.last_name not in n.body and patient.last_name not in n.subject
        assert n.link == reverse("portal_weekly_summary", args=[summary.pk])
    assert Notification.objects.filter(
        event_type="weekly_summary", recipient=world.clinician, channel="in_app"
    ).exists()


def test_beat_task_runs_on_monday_in_the_programs_zone_only(world):
    patient = world.me
    monday = _monday_morning(patient)
    made = summaries_due(now=monday)
    assert made >= 1 and WeeklySummary.objects.filter(patient=patient, week_start=last_week(patient)).exists()
    assert summaries_due(now=monday) == 0  # idempotent
    tuesday = monday + timedelta(days=1)
    WeeklySummary.objects.all().delete()
    assert summaries_due(now=tuesday) == 0


def test_portal_shows_own_summaries_only(world, login):
    mine = summary_row(world.me)
    other = summary_row(world.cardiac_patients[1])
    client = login(world.patient_user)
    page = client.get(reverse("portal_weekly_summaries"))
    assert page.status_code == 200 and b"Last week" in page.content
    assert client.get(reverse("portal_weekly_summary", args=[mine.pk])).status_code == 200
    assert client.get(reverse("portal_weekly_summary", args=[other.pk])).status_code == 404


def test_portal_summaries_refuse_staff_and_anonymous(world, login, client):
    mine = summary_row(world.me)
    assert client.get(reverse("portal_weekly_summaries")).status_code == 302
    staff = login(world.clinician)
    assert staff.get(reverse("portal_weekly_summary", args=[mine.pk])).status_code == 404


def test_chart_reports_tab_lists_summaries(world, login):
    summary_row(world.me)
    page = login(world.clinician).get(reverse("patient_reports", args=[world.me.pk]))
    assert page.status_code == 200 and b"Weekly summaries" in page.content and b"Readings in range" in page.content
