"""From features to a calibrated, fused p_worse with its uncertainty, qc and drivers. Pure functions:
the services feed them the patient's baselines and calibration and store what comes back.

1. Each modality's features become z-scores against the patient's own baseline (FeatureBaseline:
   mean, sd, n), signed so that positive is worse. Until the baseline has MIN_BASELINE sessions a
   feature is compared with a population norm instead (POPULATION) and counts as less reliable.
   The modality's standardised signal s is the mean of its features' worse-z (clipped to ±4).
2. Calibration: p_m = σ(a·s + b). a and b are the patient's own (Calibration, fitted online
   when PHQ-9s arrive) shrunk toward the population prior PRIOR[m] with weight SHRINK_K points:
   a = (n·a_patient + K·a_prior)/(n + K).
3. Fusion: a weighted mean of the modalities' log-odds (generalised logarithmic pooling), each
   weighted by its reliability (how much signal it had: words written, seconds of voice, days of
   wearable data, baseline maturity). A missing modality is left out, never counted as 0.
4. Uncertainty: the variance of the pooled log-odds from each modality's calibration uncertainty
   (wider while n is small) plus the modalities' disagreement; the 80% interval is mapped to the
   0-100 score. Its empirical coverage is measured on simulated patients by bench/wellness_eval.py.
5. qc_overall: insufficient (nothing usable), limited (one modality or young baselines), reliable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MODEL_VERSION = "wellness-1.0"
MIN_BASELINE = 3
SHRINK_K = 8.0
Z_CLIP = 4.0
INTERVAL_Z = 1.2816  # two-sided 80%
NOMINAL_COVERAGE = 0.80
BASE_RATE = 0.15  # prior probability of "worse than usual" at s = 0
# Widens the pooled log-odds SD so the 80% interval covers 80% on bench/wellness_eval.py's SIMULATED
# patients (0.73 without it; 0.81 with it on the tuning seed). Set on simulation only: re-measure it
# when real labelled data exists.
SIGMA_SCALE = 1.15

# Population prior (a, b) per modality: slope per SD of the patient's own signal, intercept at the base rate.
PRIOR: dict[str, tuple[float, float]] = {
    "mood": (1.3, math.log(BASE_RATE / (1 - BASE_RATE))),
    "text": (1.0, math.log(BASE_RATE / (1 - BASE_RATE))),
    "passive": (0.9, math.log(BASE_RATE / (1 - BASE_RATE))),
    "audio": (0.6, math.log(BASE_RATE / (1 - BASE_RATE))),
    "visual": (0.4, math.log(BASE_RATE / (1 - BASE_RATE))),
}
# How much each modality is trusted at full reliability (self-report first, then language, body, voice, face).
BASE_WEIGHT = {"mood": 1.0, "text": 0.8, "passive": 0.7, "audio": 0.5, "visual": 0.3}
MODALITY_LABELS = {"mood": "mood sliders", "text": "written answer", "passive": "wearable data",
                   "audio": "voice", "visual": "face"}

# feature -> (modality, label, worse direction: +1 higher is worse / -1 lower is worse, population mean, sd, unit)
FEATURES: dict[str, tuple[str, str, int, float | None, float | None, str]] = {
    "mood_index": ("mood", "overall mood", -1, 6.0, 1.8, "/10"),
    "stress": ("mood", "stress", +1, 5.0, 2.2, "/10"),
    "energy": ("mood", "energy", -1, 5.5, 2.0, "/10"),
    "sleep_quality": ("mood", "sleep quality", -1, 6.0, 2.0, "/10"),
    "social_connection": ("mood", "social connection", -1, 6.0, 2.2, "/10"),
    "text_wellness": ("text", "tone of your words", -1, 55.0, 15.0, ""),
    "absolutist_rate": ("text", "all-or-nothing words", +1, 0.01, 0.012, ""),
    "first_person_rate": ("text", "self-focused words", +1, 0.07, 0.03, ""),
    # Voice norms for adult conversational speech (rough: melody 2-3 semitones SD, 3-5 syllables/s);
    # loudness depends on the microphone, so it is only ever compared with the patient's own.
    "pitch_sd": ("audio", "voice pitch variation", -1, 2.5, 1.2, "st"),
    "speech_rate": ("audio", "speaking rate", -1, 3.8, 1.0, "/s"),
    "pause_rate": ("audio", "pauses", +1, 12.0, 6.0, "/min"),
    "loudness": ("audio", "voice loudness", -1, None, None, "dBFS"),
    "expressiveness": ("visual", "facial expressiveness", -1, None, None, ""),
}
PHRASES = {+1: "higher", -1: "lower"}


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(slots=True)
class Baseline:
    mean: float = 0.0
    sd: float = 0.0
    n: int = 0


@dataclass(slots=True)
class Signal:
    """One feature's comparison with usual."""
    feature: str
    modality: str
    label: str
    value: float
    z: float  # as measured (positive = higher than usual)
    worse_z: float
    personal: bool  # against the patient's own baseline (else a population norm)
    text: str = ""


@dataclass(slots=True)
class ModalityResult:
    modality: str
    s: float
    reliability: float
    maturity: float
    signals: list[Signal] = field(default_factory=list)
    p: float = 0.0
    sigma: float = 0.0
    weight: float = 0.0


@dataclass(slots=True)
class Fused:
    p_worse: float
    score: int
    low: float
    high: float
    uncertainty: float
    qc: str
    drivers: list[dict]
    modalities: dict[str, ModalityResult]
    sd_logit: float


def compare(feature: str, value: float, baseline: Baseline | None) -> Signal | None:
    modality, label, direction, pop_mean, pop_sd, _unit = FEATURES[feature]
    if baseline is not None and baseline.n >= MIN_BASELINE:
        # A floor on the SD (half the population's, or 5% of the mean's size): three identical
        # check-ins must not make the smallest change look huge.
        floor = 0.5 * pop_sd if pop_sd else abs(baseline.mean) * 0.05
        sd = max(baseline.sd, floor, 1e-6)
        z, personal = (value - baseline.mean) / sd, True
    elif pop_mean is not None and pop_sd:
        z, personal = (value - pop_mean) / pop_sd, False
    else:
        return None
    z = max(-Z_CLIP, min(Z_CLIP, z))
    text = f"{label} {abs(z):.1f} SD {PHRASES[1 if z > 0 else -1]} than {'your usual' if personal else 'typical'}"
    return Signal(feature, modality, label, value, round(z, 3), round(z * direction, 3), personal, text)


def modality(name: str, signals: list[Signal], quality: float,
             extra_maturity: float | None = None) -> ModalityResult | None:
    if not signals:
        return None
    s = sum(x.worse_z for x in signals) / len(signals)
    personal = sum(1 for x in signals if x.personal) / len(signals)
    maturity = extra_maturity if extra_maturity is not None else 0.4 + 0.6 * personal
    return ModalityResult(name, max(-Z_CLIP, min(Z_CLIP, s)), max(0.0, min(1.0, quality)), maturity, signals)


def calibrate(result: ModalityResult, a_patient: float | None, b_patient: float | None, n_points: int) -> None:
    a0, b0 = PRIOR[result.modality]
    n = n_points if a_patient is not None else 0
    a = (n * (a_patient or 0) + SHRINK_K * a0) / (n + SHRINK_K)
    b = (n * (b_patient or 0) + SHRINK_K * b0) / (n + SHRINK_K)
    result.p = sigmoid(a * result.s + b)
    # Calibration uncertainty in log-odds: the slope's uncertainty grows with |s|; it narrows as
    # the patient's own points accumulate; a population-normed or thin signal is wider.
    shrink = math.sqrt(SHRINK_K / (n + SHRINK_K))
    result.sigma = (0.35 + 0.25 * abs(result.s)) * shrink + 0.25 + 0.5 * (1 - result.maturity) + 0.4 * (
        1 - result.reliability)
    result.weight = BASE_WEIGHT[result.modality] * result.reliability * result.maturity


def fuse(results: list[ModalityResult]) -> Fused:
    usable = [r for r in results if r.weight > 0]
    if not usable:
        return Fused(BASE_RATE, round(100 * (1 - BASE_RATE)), 0.0, 100.0, 50.0, "insufficient", [],
                     {r.modality: r for r in results}, 10.0)
    total = sum(r.weight for r in usable)
    pooled = sum(r.weight * logit(r.p) for r in usable) / total
    var = sum((r.weight / total) ** 2 * r.sigma ** 2 for r in usable)
    if len(usable) > 1:
        disagreement = sum(r.weight / total * (logit(r.p) - pooled) ** 2 for r in usable)
        var += disagreement / len(usable)
    else:
        var += 0.15  # one view of the patient: nothing to cross-check it
    sd = SIGMA_SCALE * math.sqrt(var)
    p = sigmoid(pooled)
    p_low, p_high = sigmoid(pooled - INTERVAL_Z * sd), sigmoid(pooled + INTERVAL_Z * sd)
    low, high = 100 * (1 - p_high), 100 * (1 - p_low)
    effective = sum(r.weight for r in usable)
    if effective < 0.3:
        qc = "insufficient"
    elif len(usable) == 1 or effective < 0.9 or min(r.maturity for r in usable) < 0.5:
        qc = "limited"
    else:
        qc = "reliable"
    share = {r.modality: r.weight / total for r in usable}
    drivers = []
    for r in usable:
        for sig in r.signals:
            if abs(sig.worse_z) >= 1.0:
                drivers.append({"modality": r.modality, "feature": sig.feature, "z": sig.z,
                                "effect": "worse" if sig.worse_z > 0 else "better", "text": sig.text,
                                "weight": round(share[r.modality] * abs(sig.worse_z), 3)})
    drivers.sort(key=lambda d: -d["weight"])
    return Fused(round(p, 4), round(100 * (1 - p)), round(low, 1), round(high, 1), round((high - low) / 2, 1), qc,
                 drivers[:8], {r.modality: r for r in results}, sd)


def smooth(score: float, previous: float | None, alpha: float = 0.5) -> float:
    """Exponential smoothing across sessions (the trend line clinicians read)."""
    return round(score if previous is None else alpha * score + (1 - alpha) * previous, 2)


def welford(b: Baseline, m2: float, value: float) -> tuple[Baseline, float]:
    """One more value into a running mean and variance (Welford 1962)."""
    n = b.n + 1
    delta = value - b.mean
    mean = b.mean + delta / n
    m2 = m2 + delta * (value - mean)
    sd = math.sqrt(m2 / (n - 1)) if n > 1 else 0.0
    return Baseline(mean, sd, n), m2


def sgd_update(a: float, b: float, s: float, y: int, lr: float = 0.1, l2: float = 0.05,
               prior: tuple[float, float] = (1.0, -1.7)) -> tuple[float, float]:
    """One online logistic-regression step on (s, y), pulled toward the prior (L2 on the distance)."""
    p = sigmoid(a * s + b)
    grad = p - y
    a -= lr * (grad * s + l2 * (a - prior[0]))
    b -= lr * (grad + l2 * (b - prior[1]))
    return a, b
