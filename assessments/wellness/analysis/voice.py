"""Voice features from a mono 16-bit PCM WAV, in pure Python (numpy, scipy and an audio decoder are
not installed here; the portal records in the browser and sends WAV). Offline, nothing downloaded.

- Energy: RMS per 30 ms frame at 8 kHz, in dBFS. Speech frames are those above the recording's own
  noise floor (10th percentile) + 12 dB and above −55 dBFS.
- Pauses: silent runs of ≥ 250 ms between speech; frequency per minute, mean duration, placement.
- Speaking rate: syllable nuclei per second of speech (peaks of the energy envelope at least 3 dB
  above the preceding valley and 100 ms apart: de Jong & Wempe's 2009 approach without Praat).
- Pitch: normalised autocorrelation over 60-400 Hz on up to MAX_PITCH_FRAMES voiced frames; a frame
  is voiced when the peak correlation ≥ 0.45. Mean and SD in Hz and the SD in semitones.
- Voice quality proxies: a harmonics-to-noise ratio from the autocorrelation peak
  (10·log10(r/(1−r)), Boersma 1993) and a jitter proxy (relative period-to-period change).
- Transcript: none. No offline recognizer with a bundled model is installed; the text modality
  uses what the patient typed.
"""

from __future__ import annotations

import io
import math
import operator
import statistics
import wave
from array import array

TARGET_RATE = 8000
FRAME_S = 0.03
MAX_PITCH_FRAMES = 400
PITCH_RANGE = (60.0, 400.0)


def _open(data: bytes):
    try:
        w = wave.open(io.BytesIO(data), "rb")
    except (wave.Error, EOFError, ValueError):
        return None
    if w.getsampwidth() != 2 or w.getnchannels() not in (1, 2) or w.getframerate() < 8000:
        return None
    return w


def duration(data: bytes) -> float | None:
    w = _open(data)
    if w is None:
        return None
    return w.getnframes() / w.getframerate()


def samples(data: bytes) -> tuple[list[float], int] | None:
    """Mono samples at ~8 kHz scaled to −1..1 (block-averaged decimation: a crude low-pass)."""
    w = _open(data)
    if w is None:
        return None
    rate, channels = w.getframerate(), w.getnchannels()
    raw = array("h")
    raw.frombytes(w.readframes(w.getnframes()))
    if channels == 2:
        raw = raw[::2]
    factor = max(1, rate // TARGET_RATE)
    if factor == 1:
        return [s / 32768.0 for s in raw], rate
    n = len(raw) // factor
    out = [sum(raw[i * factor:(i + 1) * factor]) / (factor * 32768.0) for i in range(n)]
    return out, rate // factor


def _pitch(frame: list[float], rate: int) -> tuple[float, float] | None:
    lo, hi = int(rate / PITCH_RANGE[1]), int(rate / PITCH_RANGE[0])
    mean = sum(frame) / len(frame)
    x = [v - mean for v in frame]
    energy = sum(map(operator.mul, x, x))
    if energy <= 1e-9 or hi >= len(x) - 8:
        return None
    mul = operator.mul
    rs = []
    for lag in range(lo, hi + 1):
        a, b = x[:-lag], x[lag:]
        rs.append(sum(map(mul, a, b)) / math.sqrt(sum(map(mul, a, a)) * sum(map(mul, b, b)) or 1e-12))
    best_r = max(rs)
    if best_r < 0.45:
        return None
    # The first local peak near the best: multiples of the period correlate as well (sub-harmonics).
    best_lag = None
    for k in range(1, len(rs) - 1):
        if rs[k] >= 0.9 * best_r and rs[k] >= rs[k - 1] and rs[k] >= rs[k + 1]:
            best_lag, best_r = lo + k, rs[k]
            break
    if best_lag is None:
        return None
    return rate / best_lag, best_r


def analyse(data: bytes) -> dict:
    decoded = samples(data)
    if decoded is None:
        return {"quality": "unreadable", "features": {}}
    x, rate = decoded
    seconds = len(x) / rate if rate else 0
    frame = int(rate * FRAME_S)
    frames = [x[i:i + frame] for i in range(0, len(x) - frame + 1, frame)]
    if not frames:
        return {"quality": "too_short", "features": {}, "duration_s": seconds}
    db = [10 * math.log10(sum(map(operator.mul, f, f)) / len(f) + 1e-10) for f in frames]
    floor = sorted(db)[len(db) // 10]
    threshold = max(floor + 12, -55.0)
    speech = [d > threshold for d in db]
    clipped = sum(1 for v in x if abs(v) > 0.99) / len(x)
    speech_s = sum(speech) * FRAME_S
    if speech_s < 2.0:
        return {"quality": "no_speech", "features": {}, "duration_s": round(seconds, 2),
                "vocal_characteristics": {}, "prosodic_features": {}, "emotional_markers": {}}
    # Pauses between the first and the last speech frame.
    first, last = speech.index(True), len(speech) - 1 - speech[::-1].index(True)
    pauses, run, starts = [], 0, []
    for i in range(first, last + 1):
        if speech[i]:
            if run * FRAME_S >= 0.25:
                pauses.append(run * FRAME_S)
                starts.append((i - run) * FRAME_S)
            run = 0
        else:
            run += 1
    span_min = max((last - first + 1) * FRAME_S / 60, 1e-6)
    # Syllable nuclei: peaks ≥ 3 dB over the last valley, ≥ 100 ms apart, on speech frames.
    nuclei, valley, last_peak = [], db[first], -10
    for i in range(first + 1, last):
        valley = min(valley, db[i])
        if speech[i] and db[i] >= db[i - 1] and db[i] > db[i + 1] and db[i] - valley >= 3 and i - last_peak >= 4:
            nuclei.append(i)
            last_peak, valley = i, db[i]
    intervals = [(b - a) * FRAME_S for a, b in zip(nuclei, nuclei[1:], strict=False) if (b - a) * FRAME_S < 1.0]
    rhythm = 1 - min(statistics.pstdev(intervals) / statistics.mean(intervals), 1.0) if len(intervals) > 2 else None
    voiced_idx = [i for i, s in enumerate(speech) if s]
    step = max(1, len(voiced_idx) // MAX_PITCH_FRAMES)
    pitches, hnrs = [], []
    for i in voiced_idx[::step]:
        found = _pitch(frames[i], rate)
        if found:
            pitches.append(found[0])
            hnrs.append(10 * math.log10(min(found[1], 0.999) / (1 - min(found[1], 0.999))))
    pitch_mean = statistics.mean(pitches) if pitches else None
    pitch_sd = statistics.pstdev(pitches) if len(pitches) > 1 else None
    semitones = ([12 * math.log2(p / pitch_mean) for p in pitches] if pitch_mean else [])
    st_sd = statistics.pstdev(semitones) if len(semitones) > 1 else None
    periods = [1 / p for p in pitches]
    jitter = (statistics.mean(abs(a - b) for a, b in zip(periods, periods[1:], strict=False)) / statistics.mean(periods)
              if len(periods) > 2 else None)
    hnr = statistics.mean(hnrs) if hnrs else None
    loud = statistics.mean(d for d, s in zip(db, speech, strict=False) if s)
    rate_syll = len(nuclei) / speech_s
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    breath_regularity = (1 - min(statistics.pstdev(gaps) / statistics.mean(gaps), 1.0)) if len(gaps) > 2 else None
    quality = "clipped" if clipped > 0.01 else ("few_voiced_frames" if len(pitches) < 10 else "ok")
    placement = []
    if starts:
        total = (last - first + 1) * FRAME_S
        thirds = [0, 0, 0]
        for s in starts:
            thirds[min(int(3 * (s - first * FRAME_S) / max(total, 1e-6)), 2)] += 1
        placement = [name for name, n in zip(("beginning", "middle", "end"), thirds, strict=False) if n]
    voice_quality = "not measured" if hnr is None else ("clear" if hnr >= 7 else ("slightly rough or breathy"
                                                                                  if hnr >= 3 else "rough or breathy"))
    # A rough, population-normed voice score (speaking 3-5 syllables/s, 2-4 semitones of melody, few
    # long pauses is typical). Only a prior: the fusion compares the features with the patient's own.
    score = 60.0
    if st_sd is not None:
        score += 8 * max(-2.0, min(2.0, st_sd - 2.5))
    score += 6 * max(-2.0, min(2.0, rate_syll - 3.5))
    score -= 0.8 * max(0.0, len(pauses) / span_min - 12)
    return {
        "quality": quality,
        "duration_s": round(seconds, 2),
        "transcription": "",
        "vocal_characteristics": {
            "pitch_mean": round(pitch_mean, 1) if pitch_mean else None,
            "pitch_variance": round(pitch_sd ** 2, 1) if pitch_sd is not None else None,
            "pitch_sd_hz": round(pitch_sd, 2) if pitch_sd is not None else None,
            "pitch_sd_semitones": round(st_sd, 3) if st_sd is not None else None,
            "speaking_rate": round(rate_syll, 2),
            "volume_mean": round(loud, 1),
            "voice_quality": voice_quality,
            "hnr_db": round(hnr, 2) if hnr is not None else None,
            "jitter": round(jitter, 4) if jitter is not None else None,
            "breath_patterns": {"frequency": round(sum(1 for p in pauses if p >= 0.5) / span_min, 2),
                                "regularity": round(breath_regularity, 3) if breath_regularity is not None else None},
        },
        "prosodic_features": {
            "rhythm_stability": round(rhythm, 3) if rhythm is not None else None,
            "stress_patterns": [],
            "intonation_patterns": (["flat"] if st_sd is not None and st_sd < 1.5 else
                                    (["varied"] if st_sd is not None and st_sd > 4 else ["typical"])),
            "pause_patterns": {"frequency": round(len(pauses) / span_min, 2),
                               "duration_mean": round(statistics.mean(pauses), 3) if pauses else 0.0,
                               "placement": placement},
            "speech_fraction": round(speech_s / max(seconds, 1e-6), 3),
        },
        "emotional_markers": {"note": "Prosody only; no emotion is inferred from the voice."},
        "audio_wellness_score": round(max(0.0, min(100.0, score)), 1),
        "features": {k: v for k, v in (("pitch_sd", st_sd), ("speech_rate", rate_syll),
                                       ("pause_rate", len(pauses) / span_min), ("loudness", loud)) if v is not None},
        "reliability": round(min(1.0, speech_s / 30) * (0.5 if quality != "ok" else 1.0), 3),
    }
