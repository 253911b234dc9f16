"""In a real browser: a patient on a 375 px phone checks in with typed text, a voice clip recorded
through Chromium's fake microphone (a WAV file played as the mic) and a selfie; the clinician then
reads the score, its interval and drivers on the chart at 1440 px. axe-core on every page."""

import math
import os

import pytest
from PIL import Image
from playwright.sync_api import expect

from assessments.models import VoiceAnalysis, WellnessScore, WellnessSession
from assessments.wellness import services
from conftest import CHROMIUM, CHROMIUM_ARGS, axe_violations, enrol_totp
from mahalo.tests.test_e2e_charts import wait_for_charts
from patients.tests.test_e2e_chart import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    folder = os.environ.get("E2E_ARTIFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def voice_file(path, seconds=20, rate=16000, f0=160):
    samples = []
    for i in range(seconds * rate):
        t = i / rate
        if t % 3.0 > 2.4:
            samples.append(0)
            continue
        env = 0.5 * (1 - math.cos(2 * math.pi * 4 * t))
        samples.append(6000 * env * sum(math.sin(2 * math.pi * f0 * k * t) / k for k in (1, 2, 3)))
    path.write_bytes(services.wav_bytes(samples, rate))
    return path


@pytest.fixture
def media_page(settings, monkeypatch, tmp_path):
    """Like conftest's browser_page, with a fake microphone that plays a known WAV."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    db = connections["default"].settings_dict
    old = db["CONN_MAX_AGE"]
    db["CONN_MAX_AGE"] = 0
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    wav = voice_file(tmp_path / "mic.wav")
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-audio-capture={wav}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport={"width": 375, "height": 812}, permissions=["microphone"])
        page = context.new_page()
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)
        try:
            yield page
        finally:
            browser.close()
            connections.close_all()
            db["CONN_MAX_AGE"] = old


def selfie(path):
    img = Image.new("RGB", (480, 640), (196, 160, 140))
    img.save(path, "JPEG")
    return path


def test_a_patient_checks_in_by_voice_and_selfie_and_the_clinician_reads_it(live_server, media_page, world,
                                                                           tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    page = media_page
    page.goto(f"{live_server.url}/portal/wellness/settings/")
    page.get_by_label("Email").fill(world.patient_user.email)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/wellness/settings/")
    page.get_by_label("My voice").check()
    page.get_by_label("A selfie").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/portal/wellness/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    shot(page, "wellness-portal-375-form.png")

    page.get_by_label("Tired").check()
    page.locator("#wl-stress_level").fill("7")
    page.get_by_label("Your answer").fill("Work has been stressful and I am tired, but my family helped a lot "
                                          "this weekend and I slept better last night.")
    page.get_by_role("button", name="Start recording").click()
    expect(page.locator("#wl-rec-status")).to_contain_text("Recording", timeout=10_000)
    page.wait_for_timeout(12_000)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#wl-rec-status")).to_contain_text("Recording ready", timeout=30_000)
    page.get_by_label("Take or choose a photo").set_input_files(str(selfie(tmp_path / "me.jpg")))
    page.get_by_role("button", name="Send my check-in").click()
    expect(page.get_by_role("heading", name="Thank you for checking in")).to_be_visible()
    expect(page.get_by_text("You said you were feeling tired")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    shot(page, "wellness-portal-375-result.png")

    session = WellnessSession.objects.get(patient=world.me)
    assert session.status == "completed"
    voice = VoiceAnalysis.objects.get(session=session)
    assert 10 <= voice.duration_s <= 20
    assert abs(voice.vocal_characteristics["pitch_mean"] - 160) < 10  # the fake mic's tone, through webm and back
    assert session.face_analysis.quality == "no_model"
    assert not session.audio_file and not session.image_file  # raw media deleted after analysis
    score = WellnessScore.objects.get(session=session)
    assert score.p_worse_audio is not None and score.score_low <= score.score <= score.score_high

    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=world.clinician).delete()
    secret = enrol_totp(world.clinician)
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server, world.clinician, world.password, secret)
    page.goto(f"{live_server.url}/patients/{world.me.pk}/assessments/")
    expect(page.get_by_role("heading", name="Wellness check-ins")).to_be_visible()
    wait_for_charts(page, 1)
    expect(page.locator(".wl-score")).to_have_text(str(score.score))
    assert axe_violations(page) == []
    shot(page, "wellness-chart-1440.png")
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/patients/{world.me.pk}/assessments/wellness/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "wellness-chart-375.png")
