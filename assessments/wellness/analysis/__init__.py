"""The analyses of one check-in and their fusion (`run`). Each modality's module is pure and tested
on its own; this module reads the patient's baselines and calibration and puts the pieces together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assessments.wellness.analysis import fusion

MOOD_FEATURES = {"stress": "stress_level", "energy": "energy_level", "sleep_quality": "sleep_quality",
                 "social_connection": "social_connection"}


@dataclass(slots=True)
class Result:
    fused: fusion.Fused
    insight: dict
    text: dict | None = None
    voice: dict | None = None
    face: dict | None = None
    features: dict[str, float] = field(default_factory=dict)
    metric_values: dict[str, float] = field(default_factory=dict)
    passive: list = field(default_factory=list)
    previous_smoothed: float | None = None
    worsening: bool = False
    safety_language: bool = False


def mood_index(mood: dict) -> float | None:
    """Higher is better, 1-10: the mean of energy, comfort, social connection, sleep quality and
    (11 − stress); missing scales drop out."""
    if not mood:
        return None
    values = [mood.get(k) for k in ("energy_level", "physical_comfort", "social_connection", "sleep_quality")]
    if mood.get("stress_level") is not None:
        values.append(11 - mood["stress_level"])
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def run(session, *, now, threshold: float) -> Result:
    from assessments.wellness.analysis import face, passive, text, voice
    from assessments.wellness.models import Calibration, FeatureBaseline, WellnessScore
    from assessments.wellness.services import preference_for, read_audio, read_image

    patient = session.patient
    baselines = {b.feature_name: fusion.Baseline(b.mean, b.sd, b.n) for b in FeatureBaseline.objects.filter(
        patient=patient)}
    calibration = {c.modality: c for c in Calibration.objects.filter(patient=patient)}
    previous = (WellnessScore.objects.filter(patient=patient).exclude(session=session).order_by("-created_at")
                .values_list("score_smoothed", flat=True).first())
    pref = preference_for(patient)
    features: dict[str, float] = {}
    modalities: list[fusion.ModalityResult] = []

    def signals_for(values: dict[str, float]) -> list[fusion.Signal]:
        out = []
        for name, value in values.items():
            sig = fusion.compare(name, value, baselines.get(name))
            if sig is not None:
                out.append(sig)
            features[name] = value
        return out

    # Mood: the sliders before the reflection (the "after" answers are shown, not scored).
    mood = session.mood_before or {}
    index = mood_index(mood)
    if index is not None:
        values = {"mood_index": index}
        values.update({f: mood[k] for f, k in MOOD_FEATURES.items() if mood.get(k) is not None})
        result = fusion.modality("mood", signals_for(values), quality=1.0)
        if result:
            modalities.append(result)

    text_result = None
    if session.text:
        text_result = text.analyse(session.text)
        ling = text_result["linguistic_patterns"]
        values = {"text_wellness": text_result["text_wellness_score"]}
        if ling["word_count"] >= 20:  # rates from a dozen words are noise
            values.update({"absolutist_rate": ling["absolutist_rate"],
                           "first_person_rate": ling["first_person_singular_rate"]})
        result = fusion.modality("text", signals_for(values), quality=max(text_result["quality"], 0.2))
        if result:
            modalities.append(result)

    voice_result = None
    audio = read_audio(session) if pref.consents("voice") else None
    if audio:
        voice_result = voice.analyse(audio)
        if voice_result.get("features"):
            result = fusion.modality("audio", signals_for(voice_result["features"]),
                                     quality=voice_result.get("reliability", 0.5))
            if result:
                modalities.append(result)

    face_result = None
    image = read_image(session) if pref.consents("face") else None
    if image:
        face_result = face.analyse(image)

    deviations = []
    if pref.consents("passive"):
        today = now.astimezone(patient.tz).date()
        series, methods = passive.fetch(patient, today)
        deviations = passive.deviations(series, today, methods)
        if deviations:
            sigs = [fusion.Signal(d.feature, "passive", d.label, d.recent, d.z, max(-4, min(4, d.worse_z)), True,
                                  d.phrase()) for d in deviations]
            maturity = min(1.0, min(d.n_baseline for d in deviations) / 14)
            result = fusion.modality("passive", sigs, quality=len({d.feature for d in deviations} & set(
                passive.FEATURES)) / len(passive.FEATURES), extra_maturity=maturity)
            if result:
                modalities.append(result)

    for m in modalities:
        cal = calibration.get(m.modality)
        fusion.calibrate(m, cal.a if cal else None, cal.b if cal else None, cal.n_points if cal else 0)
    fused = fusion.fuse(modalities)
    concerns = text_result["concerns"] if text_result else []
    safety = any(c["category"] == "safety" for c in concerns)
    worsening = safety or (fused.p_worse >= threshold and fused.qc != "insufficient")
    insight = _insight(session, text_result, fused, deviations, concerns)
    metric_values = {"combined_wellness": fused.score}
    if text_result:
        metric_values["text_wellness"] = text_result["text_wellness_score"]
    if voice_result and voice_result.get("audio_wellness_score") is not None:
        metric_values["audio_wellness"] = voice_result["audio_wellness_score"]
    if mood.get("stress_level") is not None:
        metric_values["stress_levels"] = mood["stress_level"]
    if index is not None:
        metric_values["mood_stability"] = index
    voice_row = None
    if voice_result is not None:
        voice_row = {k: voice_result.get(k) for k in ("transcription", "vocal_characteristics", "prosodic_features",
                                                        "emotional_markers", "audio_wellness_score", "duration_s")}
        voice_row = {k: (v if v is not None else ({} if k.endswith(("characteristics", "features", "markers"))
                                                  else ("" if k == "transcription" else None)))
                     for k, v in voice_row.items()}
        voice_row["quality"] = voice_result.get("quality", "ok")
    return Result(fused=fused, insight=insight, text=text_result, voice=voice_row, face=face_result,
                  features=features, metric_values=metric_values, passive=deviations, previous_smoothed=previous,
                  worsening=worsening, safety_language=safety)


def _insight(session, text_result, fused, deviations, concerns) -> dict:
    from assessments.wellness.analysis import text

    themes = {}
    if text_result:
        for name, n in text_result["linguistic_patterns"]["themes"].items():
            themes[name] = {"frequency": n, "intensity": round(min(1.0, n / 3), 2), "context": [], "trend": "stable"}
    mood = session.mood_before or {}
    after = session.mood_after or {}
    changes = []
    before_i, after_i = mood_index(mood), mood_index(after)
    if before_i is not None and after_i is not None and abs(after_i - before_i) >= 1:
        changes.append(f"Mood {'lifted' if after_i > before_i else 'dropped'} during the check-in "
                       f"({before_i:.1f} → {after_i:.1f} of 10).")
    for d in fused.drivers[:3]:
        changes.append(d["text"][0].upper() + d["text"][1:] + ".")
    follow = [c["category"] for c in concerns if c["severity"] in ("medium", "high")]
    follow += [d.label for d in deviations if d.worse_z >= 1.5 and d.label not in follow]
    return {"key_concerns": concerns, "emotional_themes": themes,
            "conversation_summary": text.summary(session.text) if session.text else "",
            "notable_changes": " ".join(changes), "follow_up_topics": follow[:6]}
