"""The wellness trend on the shared chart stack (mahalo/charts.py): score per check-in, its 80%
interval as a band, the smoothed line, and the worsening threshold."""

from __future__ import annotations

from mahalo.charts import Axis, Chart, Series, Threshold, time_iso

MODALITY_LABELS = {"mood": "Mood sliders", "text": "Written answer", "passive": "Wearable data",
                   "audio": "Voice", "visual": "Face"}


def trend(scores: list, tz, *, threshold: float | None = None) -> dict:
    """scores: WellnessScore rows, oldest first."""
    xs = [time_iso(s.created_at, tz) for s in scores]
    notes = [[f"80% interval {s.score_low:.0f}–{s.score_high:.0f}", f"Data quality: {s.get_qc_overall_display()}"]
             + ([d["text"] for d in (s.drivers or [])[:2]]) for s in scores]
    series = [
        Series("interval", "80% interval", [(x, s.score_low, s.score_high) for x, s in zip(xs, scores, strict=True)],
               kind="range", color="range", describes=("score",)),
        # Check-ins are discrete events: markers, with the smoothed trend as the line.
        Series("score", "Check-in score", [(x, s.score) for x, s in zip(xs, scores, strict=True)], kind="points",
               color="navy", notes=notes,
               marks=["alert" if s.worsening else ("gray" if s.qc_overall == "insufficient" else "navy")
                      for s in scores]),
        Series("smoothed", "Trend (smoothed)", [(x, s.score_smoothed) for x, s in zip(xs, scores, strict=True)],
               kind="line", color="teal", dash=True),
    ]
    thresholds = [Threshold(round(100 * (1 - threshold)), "Worsening threshold", "watch")] if threshold else []
    worse = sum(1 for s in scores if s.worsening)
    latest = scores[-1]
    return Chart(
        key="wellness_trend", title="Wellness check-ins", unit="score 0–100", x_kind="time", x_min=xs[0],
        x_max=xs[-1], series=series, thresholds=thresholds, y=Axis(unit="", min=0, max=100),
        note="Higher is better. 100 × (1 − probability of being worse than the patient's own baseline); the band is "
             "the 80% interval. Decision support, not a diagnosis.",
        summary=f"{len(scores)} check-ins; latest score {latest.score} (80% interval {latest.score_low:.0f}–"
                f"{latest.score_high:.0f}), {worse} flagged as a worsening.",
    ).as_dict()
