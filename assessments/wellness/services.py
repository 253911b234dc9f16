"""Wellness check-in services: the only writers of the wellness models. The portal page, the REST
API, the Celery task and the demo all call these.

Flow: `session_create` validates everything first (mood, text, media, consent), stores the session
as pending with the media encrypted, and queues `assessments.wellness_process` after the commit
(eager without a broker). `session_process` is idempotent: a completed session is left alone; a
failed or stale one is re-run, and baselines move only when the score row is first written.

Decision support, never a diagnosis: a fused worsening (p_worse ≥ the program setting
`assessments.wellness_worse_threshold`, default 0.70, with qc better than insufficient) or words
about self-harm assign a PHQ-9 (assessments' own service) and raise an *informational* alert through
clinical's rule engine (rule `wellness_worsening`, severity info) with the drivers in its evidence.
It never raises a critical alert on its own: the PHQ-9's item 9 goes through the safety pathway.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments.wellness import analysis
from assessments.wellness.analysis import fusion
from assessments.wellness.models import (
    Calibration,
    FaceAnalysis,
    FeatureBaseline,
    MetricBaseline,
    SessionInsight,
    TextAnalysis,
    VoiceAnalysis,
    WellnessPreference,
    WellnessScore,
    WellnessSession,
)
from clinical import alerting
from clinical.default_rules import ensure_project_rule
from clinical.ingest import Reading, store
from clinical.models import ClinicalRule, Severity
from mahalo import audit, config, crypto

logger = logging.getLogger(__name__)

THRESHOLD_KEY = "assessments.wellness_worse_threshold"
DEFAULT_THRESHOLD = 0.70
KEEP_MEDIA_KEY = "assessments.wellness_keep_media"
RULE_CODE = "wellness_worsening"
METRIC = "wellness_p_worse"
MODALITIES = ("voice", "face", "passive")
MOOD_SCALES = ("energy_level", "stress_level", "sleep_quality", "physical_comfort", "social_connection")
EMOTIONS = ("happy", "calm", "content", "hopeful", "grateful", "tired", "sad", "anxious", "stressed", "angry",
            "lonely", "numb", "overwhelmed", "irritable", "okay")
MAX_TEXT = 5000
MAX_AUDIO_BYTES = 8 * 1024 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024
AUDIO_SECONDS = (10, 120)
PROMPTS = (
    "How have the last few days been for you?",
    "What has been on your mind this week?",
    "What gave you energy lately, and what drained it?",
    "How have you been sleeping, and how has that affected your days?",
)
PHQ9_RISE = 5  # a PHQ-9 rise this large from the patient's own baseline counts as "worse"


# --- Preferences and consent ---------------------------------------------------------------------------

def preference_for(patient) -> WellnessPreference:
    pref = WellnessPreference.objects.filter(patient=patient).first()
    if pref is None:
        try:
            with transaction.atomic():
                pref = WellnessPreference.objects.create(project_id=patient.project_id, patient=patient)
        except IntegrityError:
            pref = WellnessPreference.objects.get(patient=patient)
    return pref


def consent_set(*, patient, actor, request=None, now=None, frequency: str | None = None,
                **grants: bool) -> WellnessPreference:
    """Grant or revoke consent per modality (voice, face, passive), and the check-in frequency."""
    now = now or timezone.now()
    unknown = set(grants) - set(MODALITIES)
    if unknown:
        raise ValidationError({"consent": [f"Unknown modality: {', '.join(sorted(unknown))}."]})
    if frequency is not None and frequency not in WellnessPreference.Frequency.values:
        raise ValidationError({"assessment_frequency": ["Choose daily, weekly, biweekly or monthly."]})
    with transaction.atomic():
        pref = WellnessPreference.objects.select_for_update().get(pk=preference_for(patient).pk)
        changed = {}
        for modality, granted in grants.items():
            field = f"{modality}_consent_at"
            if bool(getattr(pref, field)) != bool(granted):
                setattr(pref, field, now if granted else None)
                changed[modality] = bool(granted)
        if frequency is not None and frequency != pref.assessment_frequency:
            pref.assessment_frequency = frequency
            changed["assessment_frequency"] = frequency
        if changed:
            pref.save()
            audit.record(action="update", request=request, actor=actor, resource="clinical", patient=patient,
                         object_id=pref.pk, metadata={"event": "wellness_consent", **changed})
    return pref


# --- Input --------------------------------------------------------------------------------------------

SCALE_LABELS = {"emotional_state.intensity": "How strongly", "energy_level": "Energy", "stress_level": "Stress",
                "sleep_quality": "Sleep quality", "physical_comfort": "Body comfort",
                "social_connection": "Connected to others"}


def clean_mood(raw, field: str, *, required: bool, partial: bool = False) -> dict | None:
    """002's MoodData: emotional_state {primary, secondary, intensity 1-10}, energy/stress/sleep/comfort/
    social 1-10, notes. `partial` (the mood after): every value optional. Raises ValidationError keyed
    `<field>.<name>`."""
    if raw in (None, "", {}):
        if required:
            raise ValidationError({field: ["Tell us how you feel before you start (the sliders)."]})
        return None
    if not isinstance(raw, dict):
        raise ValidationError({field: ["Send an object with the mood fields."]})
    errors: dict[str, list[str]] = {}

    when = "now" if field == "mood_after" else "before"

    def scale(name, value, needed=True):
        message = [f"{SCALE_LABELS[name]} ({when}): choose a whole number from 1 to 10."]
        if value in (None, ""):
            if needed and not partial:
                errors[f"{field}.{name}"] = message
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors[f"{field}.{name}"] = message
            return None
        if not 1 <= number <= 10:
            errors[f"{field}.{name}"] = message
            return None
        return number

    state = raw.get("emotional_state") or {}
    if not isinstance(state, dict):
        state = {"primary": state}
    primary = str(state.get("primary") or "").strip().lower()[:40]
    if not primary and not partial:
        errors[f"{field}.emotional_state.primary"] = ["Pick the word closest to how you feel."]
    out = {"emotional_state": {"primary": primary, "intensity": scale("emotional_state.intensity",
                                                                       state.get("intensity"))}}
    secondary = str(state.get("secondary") or "").strip().lower()[:40]
    if secondary:
        out["emotional_state"]["secondary"] = secondary
    for name in MOOD_SCALES:
        out[name] = scale(name, raw.get(name), needed=name != "sleep_quality")
    notes = str(raw.get("notes") or "").strip()
    if len(notes) > 1000:
        errors[f"{field}.notes"] = ["Keep notes under 1000 characters."]
    if notes:
        out["notes"] = notes
    if errors:
        raise ValidationError(errors)
    out["timestamp"] = timezone.now().isoformat()
    return out


def _sniff_audio(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    return None


def _sniff_image(head: bytes) -> str | None:
    if head[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _read(upload, limit: int, field: str) -> bytes:
    data = upload.read(limit + 1) if hasattr(upload, "read") else bytes(upload)
    if len(data) > limit:
        raise ValidationError({field: [f"The file is larger than {limit // (1024 * 1024)} MB."]})
    if not data:
        raise ValidationError({field: ["The file is empty."]})
    return data


def _encrypt(data: bytes) -> ContentFile:
    return ContentFile(crypto.encrypt(base64.b64encode(data).decode("ascii")).encode("ascii"))


def media_bytes(filefield) -> bytes:
    with filefield.open("rb") as fh:
        return base64.b64decode(crypto.decrypt(fh.read().decode("ascii")))


def session_create(*, patient, actor, via: str = "portal", kind: str = WellnessSession.Kind.FULL,
                   mood_before=None, mood_after=None, text: str = "", prompt: str = "", audio=None, image=None,
                   text_source: str = "manual", request=None, process: bool = True) -> WellnessSession:
    """Validate and store a check-in; the analysis runs after the commit. Raises ValidationError
    (all problems at once, keyed by field) and stores nothing then."""
    errors: dict[str, list[str]] = {}
    if kind not in WellnessSession.Kind.values:
        errors["kind"] = ["Choose full, quick or voice-only."]
    moods = {}
    for field, raw, required in (("mood_before", mood_before, kind != WellnessSession.Kind.VOICE_ONLY),
                                 ("mood_after", mood_after, False)):
        try:
            moods[field] = clean_mood(raw, field, required=required, partial=field == "mood_after")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        errors["text"] = [f"Please keep it under {MAX_TEXT} characters (it is {len(text)})."]
    pref = preference_for(patient)
    audio_data = image_data = None
    audio_bytes = image_bytes = None
    if audio:
        if not pref.consents("voice"):
            errors["audio"] = ["Voice analysis is off. Turn it on in your check-in settings first."]
        else:
            try:
                audio_bytes = _read(audio, MAX_AUDIO_BYTES, "audio")
                kind_of = _sniff_audio(audio_bytes[:16])
                if kind_of is None:
                    raise ValidationError({"audio": ["That is not an audio recording we can read."]})
                if kind_of != "audio/wav":
                    # No decoder for compressed audio is installed: the check-in page sends WAV.
                    raise ValidationError({"audio": ["Send the recording as WAV (16-bit PCM). WebM, Ogg and "
                                                     "M4A can't be decoded on this server yet."]})
                from assessments.wellness.analysis import voice

                seconds = voice.duration(audio_bytes)
                if seconds is None:
                    raise ValidationError({"audio": ["The WAV file is damaged or not 16-bit PCM."]})
                if not AUDIO_SECONDS[0] <= seconds <= AUDIO_SECONDS[1] + 1:
                    raise ValidationError({"audio": [f"Record between {AUDIO_SECONDS[0]} and {AUDIO_SECONDS[1]} "
                                                     f"seconds (this one is {seconds:.0f} s)."]})
                audio_data = {"content_type": kind_of, "bytes": len(audio_bytes), "duration_s": round(seconds, 2)}
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if image:
        if not pref.consents("face"):
            errors["image"] = ["Face analysis is off. Turn it on in your check-in settings first."]
        else:
            try:
                image_bytes = _read(image, MAX_IMAGE_BYTES, "image")
                kind_of = _sniff_image(image_bytes[:16])
                if kind_of is None:
                    raise ValidationError({"image": ["Send a JPEG, PNG or WebP photo."]})
                image_data = {"content_type": kind_of, "bytes": len(image_bytes)}
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if kind == WellnessSession.Kind.VOICE_ONLY and not audio and "audio" not in errors:
        errors["audio"] = ["A voice-only check-in needs a recording."]
    if kind != WellnessSession.Kind.VOICE_ONLY and not text and not audio and not errors:
        errors["text"] = ["Write a few words (or record your voice) about how you have been."]
    if errors:
        raise ValidationError(errors)
    session = WellnessSession(
        project_id=patient.project_id, program_id=patient.program_id, patient=patient, kind=kind,
        prompt=(prompt or "")[:300], mood_before=moods["mood_before"], mood_after=moods["mood_after"],
        text_data={"user_input": text, "processing_metadata": {"source": text_source, "language": "en"}} if text
        else None, audio_data=audio_data, visual_data=image_data, via=via[:8], submitted_by=actor)
    with transaction.atomic():
        if audio_bytes is not None:
            session.audio_file.save("voice", _encrypt(audio_bytes), save=False)
        if image_bytes is not None:
            session.image_file.save("face", _encrypt(image_bytes), save=False)
        session.save()
        audit.record(action="write", request=request, actor=actor, resource="clinical", patient=patient,
                     object_id=session.pk, metadata={"event": "wellness_session", "kind": kind, "via": via,
                                                     "audio": bool(audio_bytes), "image": bool(image_bytes)})
        if process:  # the demo processes in its own order, at the session's own time
            queue(session.pk)
    return session


def queue(session_id) -> None:
    from assessments.wellness import tasks

    transaction.on_commit(lambda: tasks.process_session.delay(str(session_id)))


# --- Processing --------------------------------------------------------------------------------------

class Stale(RuntimeError):
    """Another worker is on it (or it is done): nothing to do."""


def _claim(session_id) -> WellnessSession | None:
    with transaction.atomic():
        session = WellnessSession.objects.select_for_update().select_related("patient", "patient__program",
                                                                              "patient__project").get(pk=session_id)
        if session.status == WellnessSession.Status.COMPLETED:
            return None
        fresh = timezone.now() - session.updated_at < dt.timedelta(minutes=10)
        if session.status == WellnessSession.Status.PROCESSING and fresh and session.attempts > 0:
            # A live run holds it; the sweeper re-queues it if that worker died.
            return None
        session.status = WellnessSession.Status.PROCESSING
        session.attempts += 1
        session.save(update_fields=["status", "attempts", "updated_at"])
    return session


def session_process(session_id, *, now=None) -> WellnessSession | None:
    """Analyse one session and store its analyses, score and insight. Idempotent."""
    session = _claim(session_id)
    if session is None:
        return None
    now = now or timezone.now()
    try:
        result = analysis.run(session, now=now, threshold=threshold(session.patient))
        with transaction.atomic():
            score = _store(session, result, now)
        _act_on(session, score, result, now)
    except Exception as exc:
        logger.exception("Wellness session %s failed", session_id)
        WellnessSession.objects.filter(pk=session.pk).update(status=WellnessSession.Status.FAILED,
                                                              error=str(exc)[:300], updated_at=timezone.now())
        raise
    session.refresh_from_db()
    return session


def _baselines(patient) -> tuple[dict[str, FeatureBaseline], dict[str, Calibration], float | None]:
    rows = {b.feature_name: b for b in FeatureBaseline.objects.filter(patient=patient)}
    cal = {c.modality: c for c in Calibration.objects.filter(patient=patient)}
    last = (WellnessScore.objects.filter(patient=patient).order_by("-created_at")
            .values_list("score_smoothed", flat=True).first())
    return rows, cal, last


def _store(session: WellnessSession, result, now) -> WellnessScore:
    patient = session.patient
    if result.text is not None:
        TextAnalysis.objects.update_or_create(session=session, defaults={
            "patient": patient, "combined_text": result.text["combined_text"],
            "sentiment_analysis": result.text["sentiment_analysis"],
            "cognitive_markers": result.text["cognitive_markers"],
            "linguistic_patterns": result.text["linguistic_patterns"],
            "text_wellness_score": result.text["text_wellness_score"]})
    if result.voice is not None:
        VoiceAnalysis.objects.update_or_create(session=session, defaults={"patient": patient, **result.voice})
    if result.face is not None:
        FaceAnalysis.objects.update_or_create(session=session, defaults={"patient": patient, **result.face})
    SessionInsight.objects.update_or_create(session=session, defaults={"patient": patient, **result.insight})
    fused = result.fused
    mods = fused.modalities
    score, created = WellnessScore.objects.update_or_create(session=session, defaults={
        "project_id": session.project_id, "patient": patient, "p_worse_fused": fused.p_worse,
        **{f"p_worse_{name}": round(mods[key].p, 4) if key in mods and mods[key].weight > 0 else None
           for name, key in (("text", "text"), ("audio", "audio"), ("visual", "visual"), ("passive", "passive"),
                             ("mood", "mood"))},
        "score": fused.score, "score_smoothed": fusion.smooth(fused.score, result.previous_smoothed),
        "uncertainty": fused.uncertainty, "score_low": fused.low, "score_high": fused.high, "qc_overall": fused.qc,
        "drivers": fused.drivers, "model_version": fusion.MODEL_VERSION,
        "contributions": {m.modality: {"s": round(m.s, 3), "p": round(m.p, 4), "weight": round(m.weight, 3),
                                       "reliability": round(m.reliability, 3), "sigma": round(m.sigma, 3)}
                          for m in mods.values()},
        "worsening": result.worsening})
    if created:
        _update_baselines(patient, result)
    keep = config.get_bool(KEEP_MEDIA_KEY, False, program=patient.program, project=patient.project)
    fields = ["status", "processed_at", "error", "updated_at"]
    if not keep:
        for name, meta in (("audio_file", "audio_data"), ("image_file", "visual_data")):
            filefield = getattr(session, name)
            if filefield:
                filefield.delete(save=False)
                data = dict(getattr(session, meta) or {})
                data["deleted_at"] = now.isoformat()
                setattr(session, meta, data)
                fields += [name, meta]
    session.status = WellnessSession.Status.COMPLETED
    session.processed_at = now
    session.error = ""
    session.save(update_fields=fields)
    audit.record(action="write", resource="clinical", patient=patient, object_id=session.pk,
                 metadata={"event": "wellness_processed", "score": fused.score, "qc": fused.qc,
                           "worsening": result.worsening})
    return score


def _update_baselines(patient, result) -> None:
    """Each feature of this session into the patient's running baselines (after it was compared with them)."""
    for feature, value in result.features.items():
        row, _ = FeatureBaseline.objects.get_or_create(patient=patient, feature_name=feature)
        base, m2 = fusion.welford(fusion.Baseline(row.mean, row.sd, row.n), row.m2, value)
        row.mean, row.sd, row.n, row.m2 = base.mean, base.sd, base.n, m2
        row.save()
    for metric, value in result.metric_values.items():
        row = MetricBaseline.objects.filter(patient=patient, metric_type=metric).first()
        if row is None:
            MetricBaseline.objects.create(patient=patient, metric_type=metric, baseline_score=value,
                                          confidence_level=round(1 / 6, 3), sample_count=1)
            continue
        n = row.sample_count + 1
        row.baseline_score = row.baseline_score + (value - row.baseline_score) / n
        row.sample_count = n
        row.confidence_level = round(n / (n + 5), 3)  # 0.5 at five sessions, 0.9 at 45
        row.save()


def threshold(patient) -> float:
    value = config.get_float(THRESHOLD_KEY, DEFAULT_THRESHOLD, program=patient.program, project=patient.project)
    return value if value and 0 < value < 1 else DEFAULT_THRESHOLD


def _act_on(session, score: WellnessScore, result, now) -> None:
    """A worsening asks for a PHQ-9 and a human look; each at most once per session."""
    if not result.worsening or (score.phq9_assignment_id and score.alert_id):
        return
    from assessments import instruments
    from assessments import services as questionnaires
    from assessments.models import Assignment

    patient = session.patient
    reason = "; ".join(d["text"] for d in score.drivers[:3]) or "check-in suggests a worsening"
    if result.safety_language:
        reason = "words about self-harm in a check-in; " + reason
    assignment_id = score.phq9_assignment_id
    if assignment_id is None:
        phq9 = questionnaires.resolve(patient.project, instruments.PHQ9)
        open_one = (Assignment.objects.filter(patient=patient, questionnaire__code=instruments.PHQ9,
                                              status__in=Assignment.OPEN).values_list("pk", flat=True).first())
        if open_one:
            assignment_id = open_one
        elif phq9 is not None:
            assignment_id = questionnaires.assignment_create(
                patient=patient, questionnaire=phq9, source=Assignment.Source.TRIGGER,
                reason=f"Wellness check-in: {reason}"[:300], now=now).pk
    alert_id = score.alert_id or _raise_alert(session, score, reason, now)
    WellnessScore.objects.filter(pk=score.pk).update(phq9_assignment_id=assignment_id, alert_id=alert_id)


def ensure_rule(patient):
    return ensure_project_rule(
        patient.project_id, RULE_CODE, metric=METRIC, name="Wellness check-in suggests a worsening",
        description="Decision support, not a diagnosis: the patient's check-in is worse than their own "
                    "baseline. A PHQ-9 was assigned; review the drivers and contact the patient.",
        condition=ClinicalRule.Condition.GT, threshold=0, window_days=1, severity=Severity.INFO,
        action=ClinicalRule.Action.ALERT, priority=100)


def _raise_alert(session, score: WellnessScore, reason: str, now):
    patient = session.patient
    store(patient, "patient", [Reading(metric=METRIC, effective_at=now, value=round(score.p_worse_fused * 100, 1),
                                       external_id=f"wellness:{session.pk}",
                                       details={"session": str(session.pk), "score": score.score,
                                                "interval": [score.score_low, score.score_high],
                                                "qc": score.qc_overall, "reason": reason,
                                                "drivers": score.drivers[:5]})])
    try:
        outcomes = alerting.evaluate_patient(patient, rules=[ensure_rule(patient)], now=now)
    except Exception:  # noqa: BLE001 - the PHQ-9 is assigned; the alert is retried with the session
        logger.exception("Wellness rule failed for patient %s", patient.pk)
        raise
    alert = outcomes[0].alert if outcomes else None
    return alert.pk if alert else None


# --- Calibration from PHQ-9s -------------------------------------------------------------------------

def on_phq9(sender, instance, created, raw=False, **kwargs) -> None:
    """post_save of assessments.Response: a complete PHQ-9 labels the latest check-in of the two weeks
    before it (a rise of ≥ 5 from the patient's baseline PHQ-9 = worse) and moves the calibration."""
    from assessments import instruments

    if raw or not created or instance.total is None or instance.questionnaire.code != instruments.PHQ9:
        return
    transaction.on_commit(lambda: calibration_update(instance.pk))


def calibration_update(response_id) -> int:
    from assessments.models import Response

    response = Response.objects.select_related("patient", "questionnaire").filter(pk=response_id).first()
    if response is None:
        return 0
    earlier = (Response.objects.filter(patient=response.patient, questionnaire__code=response.questionnaire.code,
                                       total__isnull=False, submitted_at__lt=response.submitted_at)
               .order_by("submitted_at").values_list("total", flat=True))
    if not earlier:
        return 0  # the first PHQ-9 is the baseline itself
    baseline = earlier[0]
    label = int(response.total - baseline >= PHQ9_RISE)
    score = (WellnessScore.objects.filter(patient=response.patient, created_at__lte=response.submitted_at,
                                          created_at__gte=response.submitted_at - dt.timedelta(days=14))
             .order_by("-created_at").first())
    if score is None:
        return 0
    updated = 0
    with transaction.atomic():
        for modality, c in (score.contributions or {}).items():
            if not c.get("weight"):
                continue
            prior = fusion.PRIOR[modality]
            row, _ = Calibration.objects.select_for_update().get_or_create(
                patient=response.patient, modality=modality, defaults={"a": prior[0], "b": prior[1]})
            row.a, row.b = fusion.sgd_update(row.a, row.b, c["s"], label, prior=prior)
            row.n_points += 1
            row.save()
            updated += 1
        audit.record(action="update", resource="clinical", patient=response.patient, object_id=score.session_id,
                     metadata={"event": "wellness_calibration", "label": label, "modalities": updated})
    return updated


# --- Reads ---------------------------------------------------------------------------------------------

def crisis_resources(patient) -> list[dict]:
    from assessments import services as questionnaires

    return questionnaires.crisis_resources(patient)


def supportive_summary(session: WellnessSession) -> list[str]:
    """Plain words for the patient at the end: no score, no alarm; what they told us and what happens next."""
    lines = []
    insight = getattr(session, "insight", None)
    score = getattr(session, "score", None)
    if session.status != WellnessSession.Status.COMPLETED or score is None:
        return ["Thank you. We are still looking at your check-in; this page updates in a moment."]
    before = (session.mood_before or {}).get("emotional_state", {}).get("primary")
    if before:
        lines.append(f"You said you were feeling {before} today. Thank you for taking a moment to check in.")
    if score.worsening:
        lines.append("It sounds like things have been harder than usual lately. We've let your care team know, and "
                     "there is a short questionnaire waiting for you so they can understand better.")
    elif score.score_smoothed >= 60:
        lines.append("Your check-in looks close to your usual. Keep doing what helps you.")
    else:
        lines.append("Some things seem a bit harder than usual. Small steps count: rest, a walk, a chat with "
                     "someone you trust.")
    if insight and insight.follow_up_topics:
        lines.append("You mentioned: " + ", ".join(insight.follow_up_topics[:3]) + ".")
    return lines


def read_audio(session) -> bytes | None:
    return media_bytes(session.audio_file) if session.audio_file else None


def read_image(session) -> bytes | None:
    return media_bytes(session.image_file) if session.image_file else None


def wav_bytes(samples, rate: int = 16000) -> bytes:
    """A mono 16-bit PCM WAV (tests and the demo's simulated recordings)."""
    import struct
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", max(-32768, min(32767, int(s)))) for s in samples))
    return buf.getvalue()
