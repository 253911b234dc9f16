"""Wellness pages through HTTP: the portal check-in, its result, consent settings, and the chart section."""

import pytest

from assessments.models import WellnessPreference, WellnessSession
from assessments.tests.test_wellness_api import BAD_TEXT, GOOD_TEXT
from mahalo.models import AuditEvent

pytestmark = pytest.mark.django_db


def form(emotion="calm", text=GOOD_TEXT, **scales):
    data = {"kind": "quick", "before_emotion": emotion, "before_intensity": "5", "before_energy_level": "6",
            "before_stress_level": "4", "before_sleep_quality": "7", "before_physical_comfort": "7",
            "before_social_connection": "6", "text": text, "prompt": "How have the last few days been for you?"}
    data.update(scales)
    return data


def test_portal_pages_need_a_patient_login(client, world, login):
    for url in ("/portal/wellness/", "/portal/wellness/settings/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert login(world.clinician).get("/portal/wellness/").status_code == 404


def test_a_patient_checks_in_and_sees_a_supportive_summary(world, login, django_capture_on_commit_callbacks):
    client = login(world.patient_user)
    page = client.get("/portal/wellness/")
    assert page.status_code == 200
    assert b"988" in page.content  # crisis resources one tap away
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portal/wellness/", form())
    assert response.status_code == 302
    session = WellnessSession.objects.get(patient=world.me)
    assert response["Location"] == f"/portal/wellness/{session.pk}/"
    result = client.get(response["Location"])
    assert result.status_code == 200
    text = result.content.decode()
    assert "You said you were feeling calm" in text
    assert "p(worse)" not in text and "score" not in text.lower().split("what we heard")[1][:400]


def test_bad_input_keeps_what_was_typed(world, login):
    client = login(world.patient_user)
    response = client.post("/portal/wellness/", form(emotion="", before_energy_level="12"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Pick the word closest" in body and "1 to 10" in body
    assert GOOD_TEXT in body  # the answer is not lost
    assert not WellnessSession.objects.exists()


def test_another_patients_session_is_a_404(world, login, django_capture_on_commit_callbacks):
    client = login(world.patient_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/wellness/", form())
    session = WellnessSession.objects.get()
    WellnessSession.objects.filter(pk=session.pk).update(patient=world.cardiac_patients[1])
    assert client.get(f"/portal/wellness/{session.pk}/").status_code == 404
    assert client.get("/portal/wellness/not-a-uuid/").status_code == 404


def test_consent_is_recorded_revocable_and_audited(world, login):
    client = login(world.patient_user)
    assert client.post("/portal/wellness/settings/", {"voice": "on", "passive": "on",
                                                       "assessment_frequency": "daily"}).status_code == 302
    pref = WellnessPreference.objects.get(patient=world.me)
    assert pref.voice_consent_at and pref.passive_consent_at and not pref.face_consent_at
    assert pref.assessment_frequency == "daily"
    client.post("/portal/wellness/settings/", {"passive": "on", "assessment_frequency": "daily"})
    pref.refresh_from_db()
    assert pref.voice_consent_at is None and pref.passive_consent_at
    events = AuditEvent.objects.filter(patient=world.me, metadata__event="wellness_consent")
    assert events.count() == 2
    bad = client.post("/portal/wellness/settings/", {"assessment_frequency": "hourly"})
    assert bad.status_code == 400 and b"Choose daily" in bad.content


def test_the_chart_section_shows_score_interval_drivers_and_is_gated(world, login,
                                                                    django_capture_on_commit_callbacks):
    patient_client = login(world.patient_user)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            patient_client.post("/portal/wellness/", form())
    with django_capture_on_commit_callbacks(execute=True):
        patient_client.post("/portal/wellness/", form(emotion="sad", text=BAD_TEXT, before_stress_level="9",
                                                      before_energy_level="2", before_social_connection="2",
                                                      before_sleep_quality="2", before_physical_comfort="3"))
    url = f"/patients/{world.me.pk}/assessments/wellness/"
    staff = login(world.clinician)
    page = staff.get(url, HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    body = page.content.decode()
    assert "80% interval" in body and "chart-wellness_trend-spec" in body
    assert "worse than usual" in body, body
    assert "Stress" in body and "than your usual" in body
    assert "decision support, not a diagnosis" in body
    tab = staff.get(f"/patients/{world.me.pk}/assessments/")
    assert url in tab.content.decode()
    assert staff.get(url).status_code == 200  # the full page without HTMX
    assert login(world.other_clinician).get(url).status_code == 404
    assert login(world.outsider).get(url).status_code == 404
    assert login(world.patient_user).get(url).status_code in (403, 404)


def test_admin_lists_check_ins_read_only_without_media(world, login, django_capture_on_commit_callbacks):
    from django.contrib.auth import get_user_model

    from conftest import enrol_totp

    with django_capture_on_commit_callbacks(execute=True):
        login(world.patient_user).post("/portal/wellness/", form())
    root = get_user_model().objects.create_superuser(email="root@t.test", password="x" * 12)
    enrol_totp(root)
    client = login(root)
    session = WellnessSession.objects.get()
    assert client.get("/admin/assessments/wellnesssession/").status_code == 200
    page = client.get(f"/admin/assessments/wellnesssession/{session.pk}/change/")
    assert page.status_code == 200 and b"audio_file" not in page.content
    for model in ("wellnessscore", "featurebaseline", "metricbaseline", "calibration"):
        assert client.get(f"/admin/assessments/{model}/").status_code == 200
    assert client.post("/admin/assessments/wellnesssession/add/", {}).status_code == 403
