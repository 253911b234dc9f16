"""Wellness check-ins through the API: create, process after commit, read back; gating; bad input."""

import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assessments.models import Assignment, WellnessScore, WellnessSession
from assessments.wellness import services
from clinical.models import Alert
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db

MOOD = {"emotional_state": {"primary": "calm", "intensity": 5}, "energy_level": 6, "stress_level": 4,
        "sleep_quality": 7, "physical_comfort": 7, "social_connection": 6}
LOW_MOOD = {"emotional_state": {"primary": "sad", "intensity": 9}, "energy_level": 2, "stress_level": 9,
            "sleep_quality": 2, "physical_comfort": 3, "social_connection": 2}
GOOD_TEXT = "A good week. I walked every morning, slept well and enjoyed dinner with friends."
BAD_TEXT = ("Everything is always wrong. I am exhausted and hopeless, I never sleep, I feel alone and worthless "
            "and nothing helps at all. I cry every day and I am so anxious.")


def voice_wav(seconds=12, rate=16000, f0=150):
    """A voiced tone with syllable-rate amplitude modulation and a pause every 3 s."""
    samples = []
    for i in range(int(seconds * rate)):
        t = i / rate
        if t % 3.0 > 2.4:
            samples.append(0)
            continue
        env = 0.5 * (1 - math.cos(2 * math.pi * 4 * t))
        samples.append(6000 * env * sum(math.sin(2 * math.pi * f0 * k * t) / k for k in (1, 2, 3)))
    return services.wav_bytes(samples, rate)


def post(api, data, capture, **kwargs):
    with capture(execute=True):
        return api.post("/api/v1/me/wellness-sessions/", data, **kwargs)


def test_login_required(client):
    assert client.get("/api/v1/me/wellness-sessions/").status_code in (401, 403)
    assert client.post("/api/v1/me/wellness-sessions/", {}).status_code in (401, 403)


def test_a_quick_check_in_is_processed_after_commit_and_read_back(world, api_login,
                                                                  django_capture_on_commit_callbacks):
    api = api_login(world.patient_user)
    made = post(api, {"kind": "quick", "mood_before": MOOD, "text": GOOD_TEXT}, django_capture_on_commit_callbacks,
                format="json")
    assert made.status_code == 201, made.content
    body = api.get(f"/api/v1/me/wellness-sessions/{made.json()['id']}/").json()
    assert body["status"] == "completed"
    assert body["text_analysis"]["sentiment_analysis"]["overall_sentiment"] == "positive"
    assert body["text_analysis"]["linguistic_patterns"]["word_count"] == 14
    score = body["score"]
    assert 0 <= score["score_low"] <= score["score"] <= score["score_high"] <= 100
    assert score["qc_overall"] in ("limited", "reliable", "insufficient")
    assert score["p_worse_mood"] is not None and score["p_worse_text"] is not None
    assert score["p_worse_audio"] is None and score["p_worse_passive"] is None  # missing modalities drop out
    assert score["worsening"] is False
    assert AuditEvent.objects.filter(patient=world.me, metadata__event="wellness_session").exists()


def test_bad_input_is_a_400_with_every_field_and_nothing_stored(world, api_login, django_capture_on_commit_callbacks):
    api = api_login(world.patient_user)
    bad = post(api, {"kind": "sideways", "mood_before": {"energy_level": 14}, "text": "x" * 6000},
               django_capture_on_commit_callbacks, format="json")
    assert bad.status_code == 400
    assert "kind" in bad.json()
    bad = post(api, {"kind": "full", "mood_before": {"energy_level": 14}, "text": "x" * 6000},
               django_capture_on_commit_callbacks, format="json")
    assert bad.status_code == 400
    errors = bad.json()
    assert "mood_before.energy_level" in errors and "text" in errors and "mood_before.emotional_state.primary" in errors
    assert not WellnessSession.objects.exists()


def test_voice_needs_consent_and_wav(world, api_login, django_capture_on_commit_callbacks):
    api = api_login(world.patient_user)
    wav = SimpleUploadedFile("v.wav", voice_wav(), content_type="audio/wav")
    refused = post(api, {"kind": "voice-only", "audio": wav}, django_capture_on_commit_callbacks, format="multipart")
    assert refused.status_code == 400 and "audio" in refused.json()
    assert api.post("/api/v1/me/wellness-preferences/", {"voice": True}, format="json").json()["voice"] is True
    webm = SimpleUploadedFile("v.webm", b"\x1a\x45\xdf\xa3" + b"\0" * 100, content_type="audio/webm")
    refused = post(api, {"kind": "voice-only", "audio": webm}, django_capture_on_commit_callbacks, format="multipart")
    assert refused.status_code == 400 and "WAV" in refused.json()["audio"][0]
    short = SimpleUploadedFile("v.wav", voice_wav(seconds=3), content_type="audio/wav")
    refused = post(api, {"kind": "voice-only", "audio": short}, django_capture_on_commit_callbacks, format="multipart")
    assert refused.status_code == 400 and "between 10 and 120" in refused.json()["audio"][0]


def test_voice_is_analysed_and_the_recording_deleted(world, api_login, django_capture_on_commit_callbacks, settings,
                                                     tmp_path):
    settings.MEDIA_ROOT = tmp_path
    api = api_login(world.patient_user)
    api.post("/api/v1/me/wellness-preferences/", {"voice": True}, format="json")
    wav = SimpleUploadedFile("v.wav", voice_wav(), content_type="audio/wav")
    made = post(api, {"kind": "full", "mood_before": '{"emotional_state": {"primary": "okay", "intensity": 4}, '
                      '"energy_level": 5, "stress_level": 5, "physical_comfort": 6, "social_connection": 5}',
                      "text": GOOD_TEXT, "audio": wav}, django_capture_on_commit_callbacks, format="multipart")
    assert made.status_code == 201, made.content
    body = api.get(f"/api/v1/me/wellness-sessions/{made.json()['id']}/").json()
    voice = body["voice_analysis"]
    assert abs(voice["vocal_characteristics"]["pitch_mean"] - 150) < 5
    assert voice["prosodic_features"]["pause_patterns"]["frequency"] > 0
    assert body["score"]["p_worse_audio"] is not None
    assert body["audio_data"]["deleted_at"]
    session = WellnessSession.objects.get(pk=body["id"])
    assert not session.audio_file
    assert not any(tmp_path.rglob("*.enc"))


def test_worsening_assigns_a_phq9_and_raises_an_info_alert_never_critical(world, api_login,
                                                                          django_capture_on_commit_callbacks):
    api = api_login(world.patient_user)
    for _ in range(4):
        assert post(api, {"kind": "quick", "mood_before": MOOD, "text": GOOD_TEXT},
                    django_capture_on_commit_callbacks, format="json").status_code == 201
    assert not Assignment.objects.filter(patient=world.me).exists()
    made = post(api, {"kind": "quick", "mood_before": LOW_MOOD, "text": BAD_TEXT}, django_capture_on_commit_callbacks,
                format="json")
    score = WellnessScore.objects.get(session_id=made.json()["id"])
    assert score.worsening and score.p_worse_fused >= 0.7
    assert any("stress" in d["text"] for d in score.drivers)
    phq9 = Assignment.objects.get(patient=world.me)
    assert phq9.questionnaire.code == "44249-1" and phq9.source == "trigger"
    alert = Alert.objects.get(patient=world.me)
    assert alert.severity == "info"
    assert str(score.alert_id) == str(alert.pk)


def test_staff_twin_is_gated(world, api_login, django_capture_on_commit_callbacks):
    made = post(api_login(world.patient_user), {"kind": "quick", "mood_before": MOOD, "text": GOOD_TEXT},
                django_capture_on_commit_callbacks, format="json").json()
    url = f"/api/v1/patients/{world.me.pk}/wellness-sessions/"
    rows = api_login(world.clinician).get(url).json()["results"]
    assert [r["id"] for r in rows] == [made["id"]]
    assert api_login(world.clinician).get(f"{url}{made['id']}/").json()["score"]["score"] >= 0
    assert api_login(world.other_clinician).get(url).status_code == 404
    assert api_login(world.outsider).get(f"{url}{made['id']}/").status_code == 404
    # a patient can't use the staff route for someone else, nor read another patient's session by id
    other = world.cardiac_patients[1]
    assert api_login(world.patient_user).get(f"/api/v1/patients/{other.pk}/wellness-sessions/").status_code == 404
    assert api_login(world.clinician).get(f"/api/v1/me/wellness-sessions/{made['id']}/").status_code == 404


def test_processing_is_idempotent(world, api_login, django_capture_on_commit_callbacks):
    made = post(api_login(world.patient_user), {"kind": "quick", "mood_before": MOOD, "text": GOOD_TEXT},
                django_capture_on_commit_callbacks, format="json").json()
    from assessments.models import FeatureBaseline

    before = {b.feature_name: b.n for b in FeatureBaseline.objects.filter(patient=world.me)}
    assert services.session_process(made["id"]) is None  # completed: left alone
    WellnessSession.objects.filter(pk=made["id"]).update(status="failed")
    services.session_process(made["id"])
    assert {b.feature_name: b.n for b in FeatureBaseline.objects.filter(patient=world.me)} == before
    assert WellnessScore.objects.filter(session_id=made["id"]).count() == 1
