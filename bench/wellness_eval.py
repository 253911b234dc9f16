"""Honest evaluation of the wellness check-in analyses (issue 15). No labelled clinical data exists
here, so every figure below says what it measures; the SIMULATED figures are labelled as such.

(1) Text sentiment against the vaderSentiment README's published compound scores, for the example
    sentences whose words are all in our lexicon (the package itself is not installed; our code
    re-implements its rules, so these check the arithmetic, not the lexicon's coverage).
(2) SIMULATED patients: each has a personal baseline (mood, text tone, sleep, HRV) and weekly
    check-ins; worsening episodes (base rate 15%) shift each signal by a published-size effect
    (Cohen's d: self-reported mood 1.0, text tone 0.5 [Rude et al. 2004 order of magnitude],
    sleep 0.4, HRV 0.3), with noise and each modality missing 20% of the time. A PHQ-9 label
    arrives for half the check-ins and drives the online calibration. Reported on check-ins
    after a warm-up of 8 weeks: expected calibration error (10 bins), AUC (Mann-Whitney), and
    the empirical coverage of the 80% interval around the score, where the truth is the score
    the same pipeline gives from the noise-free signals.
(3) The face model on scikit-image's astronaut photo: NOT RUN. No face/expression model and no
    scikit-image are installed (see assessments/wellness/analysis/face.py).
Speed: a quick check-in's analyses (mood + text + 4 wearable series) and a 60 s voice clip, wall
time and peak Python memory (tracemalloc).

Run: `.venv/bin/python bench/wellness_eval.py` (about 30 s; no database, nothing downloaded).
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
import tracemalloc
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from assessments.wellness.analysis import fusion, passive, text, voice  # noqa: E402

SEED = 15
EFFECT = {"mood": 1.0, "text": 0.5, "sleep": 0.4, "hrv": 0.3}
BASE_RATE = 0.15
MISSING = 0.20
WARMUP = 8


def text_reference() -> list[tuple[str, float, float]]:
    # vaderSentiment README (MIT), "Demo" output: sentence -> published compound.
    published = [("The book was good.", 0.4404), ("The book was kind of good.", 0.3832)]
    return [(s, ref, text.sentiment(s)["compound"]) for s, ref in published]


def _run(values, present, *, mu, sd, base, cal, week):
    results = []
    if present["mood"]:
        b = base["mood_index"][0]
        sig = fusion.compare("mood_index", mu["mood"] + values["mood"] * sd["mood"], b)
        results.append(fusion.modality("mood", [sig], 1.0))
    if present["text"]:
        b = base["text_wellness"][0]
        sig = fusion.compare("text_wellness", mu["text"] + values["text"] * sd["text"], b)
        results.append(fusion.modality("text", [sig], 0.8))
    if present["passive"] and week >= 1:
        sigs = [fusion.Signal("sleep", "passive", "sleep", 0, values["sleep"], -values["sleep"], True),
                fusion.Signal("hrv", "passive", "hrv", 0, values["hrv"], -values["hrv"], True)]
        results.append(fusion.modality("passive", sigs, 0.5, extra_maturity=1.0))
    for r in results:
        a, b_, n = cal[r.modality]
        fusion.calibrate(r, a, b_, n)
    return fusion.fuse(results), results


def simulate(n_patients=300, weeks=30, seed=SEED):
    rng = random.Random(seed)
    rows = []  # (p, label, low, high, true_score, score)
    for _ in range(n_patients):
        mu = {"mood": rng.gauss(6, 1), "text": rng.gauss(55, 10), "sleep": rng.gauss(7.2, 0.6),
              "hrv": rng.gauss(50, 12)}
        sd = {"mood": rng.uniform(0.8, 1.5), "text": rng.uniform(8, 14), "sleep": rng.uniform(0.4, 0.8),
              "hrv": rng.uniform(4, 8)}
        base = {k: (fusion.Baseline(), 0.0) for k in ("mood_index", "text_wellness")}
        cal = {m: [*fusion.PRIOR[m], 0] for m in ("mood", "text", "passive")}
        for week in range(weeks):
            worse = rng.random() < BASE_RATE
            latent = {k: -EFFECT[k] if worse else 0.0 for k in EFFECT}  # in SD units, lower is worse
            noisy = {k: latent[k] + rng.gauss(0, 1) for k in EFFECT}

            present = {m: rng.random() > MISSING for m in ("mood", "text", "passive")}
            ctx = {"mu": mu, "sd": sd, "base": base, "cal": cal, "week": week}
            fused, results = _run(noisy, present, **ctx)
            truth, _ = _run(latent, present, **ctx)
            if week >= WARMUP and results:
                rows.append((fused.p_worse, int(worse), fused.low, fused.high, truth.score, fused.score))
            # baselines move after the comparison, as in the service
            for feature, key in (("mood_index", "mood"), ("text_wellness", "text")):
                if present[key]:
                    b, m2 = base[feature]
                    base[feature] = fusion.welford(b, m2, mu[key] + noisy[key] * sd[key])
            if rng.random() < 0.5:  # a PHQ-9 arrives and labels this check-in
                for r in results:
                    a, b_, n = cal[r.modality]
                    a, b_ = fusion.sgd_update(a, b_, r.s, int(worse), prior=fusion.PRIOR[r.modality])
                    cal[r.modality] = [a, b_, n + 1]
    return rows


def ece(rows, bins=10) -> float:
    total, err = len(rows), 0.0
    for i in range(bins):
        lo, hi = i / bins, (i + 1) / bins
        chunk = [r for r in rows if lo <= r[0] < hi or (i == bins - 1 and r[0] == 1.0)]
        if chunk:
            err += len(chunk) / total * abs(sum(r[0] for r in chunk) / len(chunk) - sum(r[1] for r in chunk) /
                                            len(chunk))
    return err


def auc(rows) -> float:
    pos = [r[0] for r in rows if r[1]]
    neg = [r[0] for r in rows if not r[1]]
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def speed():
    today = date(2026, 3, 1)
    series = {k: [(today - timedelta(days=i), 50.0 + (i % 5)) for i in range(31)] for k in passive.FEATURES}
    sample = ("Work has been stressful and I am tired, but my family helped a lot this weekend and I slept better "
              "last night. I worry about my knee and the surgery. ") * 4
    tracemalloc.start()
    started = time.perf_counter()
    result = text.analyse(sample)
    devs = passive.deviations(series, today)
    mods = [fusion.modality("text", [fusion.compare("text_wellness", result["text_wellness_score"], None)], 1.0),
            fusion.modality("passive", [fusion.Signal(d.feature, "passive", d.label, d.recent, d.z, d.worse_z, True)
                                        for d in devs], 1.0, 1.0)]
    for m in mods:
        fusion.calibrate(m, None, None, 0)
    fusion.fuse(mods)
    quick = time.perf_counter() - started
    quick_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    rate, samples, rng = 16000, [], random.Random(SEED)
    for i in range(60 * rate):
        t = i / rate
        env = 0.0 if t % 3.0 > 2.4 else 0.5 * (1 - math.cos(2 * math.pi * 4 * t))
        samples.append(int(6000 * env * math.sin(2 * math.pi * 150 * t) + rng.gauss(0, 30)))
    import io
    import struct
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(samples)}h", *[max(-32768, min(32767, s)) for s in samples]))
    data = buf.getvalue()
    tracemalloc.stop()
    # Timed without tracemalloc (it slows allocation-heavy Python several-fold), then measured again for memory.
    started, cpu = time.perf_counter(), time.process_time()
    voice.analyse(data)
    voice_s, voice_cpu = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()
    voice.analyse(data)
    voice_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return quick, quick_peak, voice_s, voice_cpu, voice_peak, len(data)


def main() -> None:
    print("(1) Text sentiment vs vaderSentiment README compound scores (words in our lexicon only)")
    for sentence, ref, ours in text_reference():
        print(f"    {sentence!r:42} published {ref:+.4f}  ours {ours:+.4f}  diff {ours - ref:+.4f}")
    print("(2) SIMULATED patients (300 x 30 weekly check-ins; figures on weeks 9-30)")
    rows = simulate()
    held_out = simulate(seed=SEED + 1)
    coverage = sum(1 for r in rows if r[2] <= r[4] <= r[3]) / len(rows)
    width = sum(r[3] - r[2] for r in rows) / len(rows)
    print(f"    SIMULATED check-ins evaluated: {len(rows)}, worse: {sum(r[1] for r in rows)}")
    print(f"    SIMULATED expected calibration error: {ece(rows):.3f} (target <= 0.05)")
    print(f"    SIMULATED AUC: {auc(rows):.3f}")
    print(f"    SIMULATED 80% interval coverage of the noise-free score: {coverage:.3f} "
          f"(target 0.77-0.83); mean width {width:.1f} points")
    held = sum(1 for r in held_out if r[2] <= r[4] <= r[3]) / len(held_out)
    print(f"    SIMULATED, another seed (fusion.SIGMA_SCALE was set on the first): ECE {ece(held_out):.3f}, "
          f"AUC {auc(held_out):.3f}, coverage {held:.3f}")
    print("(3) Face expression on scikit-image's astronaut: NOT RUN (no face model, no scikit-image installed)")
    quick, quick_peak, voice_s, voice_cpu, voice_peak, size = speed()
    print(f"Speed: quick check-in analyses {quick * 1000:.1f} ms (budget 2 s), peak {quick_peak / 1024:.0f} KiB")
    print(f"Speed: 60 s voice clip ({size / 1e6:.1f} MB WAV) {voice_s:.2f} s wall, {voice_cpu:.2f} s CPU "
          f"(budget 10 s), peak {voice_peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
