"""The analyses as pure functions (no database): text, passive deviations, voice, face, fusion."""

import io
import math
from datetime import date, timedelta

import pytest
from PIL import Image

from assessments.wellness.analysis import face, fusion, passive, text, voice
from assessments.wellness.services import wav_bytes


def test_sentiment_follows_vaders_rules():
    assert text.sentiment("I feel good")["compound"] > 0.3
    assert text.sentiment("I do not feel good")["compound"] < 0  # negation flips
    assert text.sentiment("I feel very good")["compound"] > text.sentiment("I feel good")["compound"]  # booster
    assert text.sentiment("I feel good!!!")["compound"] > text.sentiment("I feel good")["compound"]
    assert text.sentiment("It was bad but I feel good now")["compound"] > 0  # "but" shifts weight
    assert text.sentiment("")["neutral"] == 1.0


def test_text_markers_and_concerns():
    result = text.analyse("I always fail. Everything I do is completely wrong and I never sleep. I am so tired.")
    ling = result["linguistic_patterns"]
    assert ling["absolutist_rate"] > 0.15 and ling["first_person_singular_rate"] > 0.15
    assert "absolutist wording (all-or-nothing)" in result["cognitive_markers"]["thought_patterns"]
    assert result["sentiment_analysis"]["overall_sentiment"] == "negative"
    assert {c["category"] for c in result["concerns"]} >= {"sleep"}
    assert result["text_wellness_score"] < 40
    harm = text.analyse("Some days I think everyone would be better off dead without me.")
    assert harm["concerns"][0]["category"] == "safety" and harm["concerns"][0]["severity"] == "high"


def test_mattr_is_length_independent():
    assert text.mattr("one two three four".split()) == 1.0
    assert text.mattr(["same"] * 60) == pytest.approx(1 / 25)


def test_passive_deviation_is_robust_and_signed():
    today = date(2026, 3, 1)
    days = [today - timedelta(days=i) for i in range(31)]
    sleep = [(d, 7.5 + (0.3 if i % 2 else -0.3)) for i, d in enumerate(days[3:])] + [(d, 5.5) for d in days[:3]]
    sleep.append((days[10], 14.0))  # one outlier night must not move the baseline much
    devs = {d.feature: d for d in passive.deviations({"sleep": sleep, "hrv": []}, today)}
    # median 7.8 h, MAD 0.6 h x 1.4826: 5.5 h is 2.6 robust SD short (the 14 h night moved nothing)
    assert devs["sleep"].median == 7.8 and devs["sleep"].z == pytest.approx(-2.59, abs=0.01)
    assert devs["sleep"].worse_z > 2.5
    assert "shorter than your usual" in devs["sleep"].phrase()
    assert "hrv" not in devs  # no data: absent, not zero


def test_passive_needs_a_baseline():
    today = date(2026, 3, 1)
    assert passive.deviations({"steps": [(today, 1000.0)]}, today) == []


def tone(seconds, f0=140, rate=16000, silence_every=None):
    out = []
    for i in range(int(seconds * rate)):
        t = i / rate
        if silence_every and t % silence_every > silence_every - 0.6:
            out.append(0)
            continue
        env = 0.5 * (1 - math.cos(2 * math.pi * 4 * t))
        out.append(6000 * env * sum(math.sin(2 * math.pi * f0 * k * t) / k for k in (1, 2, 3)))
    return wav_bytes(out, rate)


def test_voice_features_from_a_known_signal():
    result = voice.analyse(tone(12, f0=180, silence_every=3.0))
    vc, pros = result["vocal_characteristics"], result["prosodic_features"]
    assert abs(vc["pitch_mean"] - 180) < 5
    assert 3.0 < vc["speaking_rate"] < 5.0  # 4 Hz syllable-like modulation
    # a 0.6 s pause every 3 s: three between the first and last word of 11.4 s of talk = 15.8 a minute
    assert pros["pause_patterns"]["frequency"] == pytest.approx(15.8, abs=1)
    assert 0.5 < pros["pause_patterns"]["duration_mean"] < 0.7
    assert result["transcription"] == ""


def test_voice_silence_and_garbage_are_flags_not_guesses():
    assert voice.analyse(wav_bytes([0] * 16000 * 12))["quality"] == "no_speech"
    assert voice.analyse(b"RIFF....WAVEjunk")["quality"] == "unreadable"
    assert voice.duration(tone(2)) == pytest.approx(2.0)


def jpeg(color, size=(320, 320)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def test_face_quality_flags():
    assert face.analyse(jpeg((5, 5, 5)))["quality"] == "too_dark"
    assert face.analyse(jpeg((128, 120, 110), (80, 80)))["quality"] == "too_small"
    assert face.analyse(jpeg((128, 120, 110)))["quality"] == "no_model"  # nothing inferred without a model
    assert face.analyse(b"not an image")["quality"] == "unreadable"


def test_calibration_shrinks_toward_the_prior_until_points_accumulate():
    result = fusion.ModalityResult("mood", s=1.0, reliability=1.0, maturity=1.0)
    fusion.calibrate(result, None, None, 0)
    prior_p = result.p
    a0, b0 = fusion.PRIOR["mood"]
    assert prior_p == pytest.approx(fusion.sigmoid(a0 + b0))
    few = fusion.ModalityResult("mood", s=1.0, reliability=1.0, maturity=1.0)
    fusion.calibrate(few, 3.0, 0.0, 2)
    many = fusion.ModalityResult("mood", s=1.0, reliability=1.0, maturity=1.0)
    fusion.calibrate(many, 3.0, 0.0, 200)
    assert prior_p < few.p < many.p < fusion.sigmoid(3.0)
    assert many.sigma < few.sigma


def test_fusion_drops_missing_modalities_and_reports_uncertainty():
    base = fusion.Baseline(6.0, 1.0, 10)
    sig = fusion.compare("mood_index", 3.0, base)
    assert sig.personal and sig.worse_z == pytest.approx(3.0)
    mood = fusion.modality("mood", [sig], quality=1.0)
    fusion.calibrate(mood, None, None, 0)
    alone = fusion.fuse([mood])
    assert alone.p_worse == pytest.approx(mood.p, abs=1e-3)  # nothing else: the one modality's p
    assert alone.low <= alone.score <= alone.high and alone.qc == "limited"
    assert alone.drivers[0]["text"] == "overall mood 3.0 SD lower than your usual"
    calm = fusion.modality("text", [fusion.compare("text_wellness", 55.0, fusion.Baseline(55.0, 10.0, 10))], 1.0)
    fusion.calibrate(calm, None, None, 0)
    both = fusion.fuse([mood, calm])
    assert calm.p < both.p_worse < mood.p  # pooled between them
    assert fusion.fuse([]).qc == "insufficient"


def test_welford_matches_the_textbook():
    b, m2 = fusion.Baseline(), 0.0
    values = [4.0, 7.0, 13.0, 16.0]
    for v in values:
        b, m2 = fusion.welford(b, m2, v)
    mean = sum(values) / 4
    assert b.mean == pytest.approx(mean) and b.n == 4
    assert b.sd == pytest.approx(math.sqrt(sum((v - mean) ** 2 for v in values) / 3))


def test_online_calibration_moves_toward_the_labels():
    a, b = fusion.PRIOR["mood"]
    for _ in range(50):
        a, b = fusion.sgd_update(a, b, 2.0, 1, prior=fusion.PRIOR["mood"])
        a, b = fusion.sgd_update(a, b, -1.0, 0, prior=fusion.PRIOR["mood"])
    assert fusion.sigmoid(a * 2 + b) > 0.8 and fusion.sigmoid(-a + b) < 0.2
