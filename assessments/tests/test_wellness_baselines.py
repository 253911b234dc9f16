"""Baselines over time: wearable days against the patient's own usual, and calibration from PHQ-9s."""

import datetime as dt

import pytest
from django.utils import timezone

from assessments import services as questionnaires
from assessments.models import Calibration, MetricBaseline, WellnessScore, WellnessSession
from assessments.tests.factories import assign, phq9_answers
from assessments.tests.test_wellness_api import GOOD_TEXT, MOOD, post
from assessments.wellness import services
from wearables.models import DailyMetric

pytestmark = pytest.mark.django_db


def days(patient, n=31, recent_sleep=5.0, recent_hrv=30.0):
    today = timezone.localdate(timezone=patient.tz)
    for i in range(n):
        day = today - dt.timedelta(days=i)
        recent = i < 3
        DailyMetric.objects.create(project=patient.project, patient=patient, program=patient.program, date=day,
                                   source="oura", sleep_hours=recent_sleep if recent else 7.4 + (i % 3) * 0.2,
                                   hrv_ms=recent_hrv if recent else 52 + (i % 4), hrv_method="rmssd",
                                   resting_hr=58 + (i % 2), steps=8000 + (i % 5) * 300)


def test_wearable_days_enter_only_with_consent_and_speak_plainly(world, api_login,
                                                                 django_capture_on_commit_callbacks):
    days(world.me)
    api = api_login(world.patient_user)
    made = post(api, {"kind": "quick", "mood_before": MOOD, "text": GOOD_TEXT}, django_capture_on_commit_callbacks,
                format="json").json()
    assert WellnessScore.objects.get(session_id=made["id"]).p_worse_passive is None  # no consent yet
    api.post("/api/v1/me/wellness-preferences/", {"passive": True}, format="json")
    made = post(api, {"kind": "quick", "mood_before": MOOD, "text": GOOD_TEXT}, django_capture_on_commit_callbacks,
                format="json").json()
    score = WellnessScore.objects.get(session_id=made["id"])
    # two of four signals far off, two usual: well above the 15% base rate, not certainty
    assert score.p_worse_passive is not None and score.p_worse_passive > 0.3
    texts = [d["text"] for d in score.drivers if d["modality"] == "passive"]
    assert any(t.startswith("sleep") and "shorter than your usual" in t for t in texts)
    assert any(t.startswith("heart rate variability") and "lower than your usual" in t for t in texts)


def test_metric_baselines_count_sessions(world, api_login, django_capture_on_commit_callbacks):
    api = api_login(world.patient_user)
    for _ in range(3):
        post(api, {"kind": "quick", "mood_before": MOOD, "text": GOOD_TEXT}, django_capture_on_commit_callbacks,
             format="json")
    combined = MetricBaseline.objects.get(patient=world.me, metric_type="combined_wellness")
    assert combined.sample_count == 3 and combined.confidence_level == pytest.approx(3 / 8, abs=1e-3)
    assert MetricBaseline.objects.get(patient=world.me, metric_type="stress_levels").baseline_score == 4


def test_a_phq9_rise_of_five_updates_the_calibration(world, api_login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        questionnaires.response_submit(assignment=assign(world.me, "44249-1"), actor=world.patient_user,
                                       answers=phq9_answers([1, 1, 0, 0, 0, 0, 0, 0, 0]), via="portal")
    api = api_login(world.patient_user)
    post(api, {"kind": "quick", "mood_before": MOOD, "text": GOOD_TEXT}, django_capture_on_commit_callbacks,
         format="json")
    assert not Calibration.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        questionnaires.response_submit(assignment=assign(world.me, "44249-1"), actor=world.patient_user,
                                       answers=phq9_answers([2, 2, 2, 1, 1, 0, 0, 0, 0]), via="portal")
    rows = {c.modality: c for c in Calibration.objects.filter(patient=world.me)}
    assert set(rows) == {"mood", "text"} and all(c.n_points == 1 for c in rows.values())
    # labelled "worse" (2 -> 8): the intercept moves up from the prior
    from assessments.wellness.analysis import fusion

    assert rows["mood"].b > fusion.PRIOR["mood"][1]


def test_the_sweeper_requeues_a_stale_session(world):
    session = services.session_create(patient=world.me, actor=world.patient_user, kind="quick", mood_before=MOOD,
                                      text=GOOD_TEXT, process=False)
    WellnessSession.objects.filter(pk=session.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))
    from assessments.wellness.tasks import sweep

    assert sweep() == 1
    assert WellnessSession.objects.get(pk=session.pk).status == "completed"
