"""The Nutrition tab's trend charts (7 or 30 local days), as `mahalo.charts` specs.

Built from `services.days_overview` rows (no query here). A day without meals logged
is a gap, never a 0: "nothing logged" is not "ate nothing". Sodium and fluid days over
the patient's target are drawn as their own bar series (a colour and a legend entry
that say "over"), with the target as a dashed line; energy is a line against its target.
"""

from __future__ import annotations

from mahalo.charts import Axis, Chart, LegendItem, Series, Threshold, day_iso


def _days(overview: dict) -> list[dict]:
    return sorted(overview["rows"], key=lambda r: r["date"])


def _footers(days: list[dict]) -> dict[str, list[str]]:
    return {day_iso(d["date"]): [f"{d['meals']} meal{'s' if d['meals'] != 1 else ''} logged"]
            for d in days if d["meals"]}


def _limit_chart(key: str, title: str, unit: str, days: list[dict], field: str, limit, *, logged,
                 color: str, limit_label: str) -> dict:
    under, over = [], []
    for d in days:
        x = day_iso(d["date"])
        value = round(d[field]) if logged(d) else None
        is_over = value is not None and limit and value > limit
        under.append((x, None if is_over else value))
        over.append((x, value if is_over else None))
    series = [Series(f"{key}_within", "Within target" if limit else title, under, kind="bar", color=color,
                     stack=key)]
    legend = [LegendItem("Within target" if limit else title, color, "bar")]
    thresholds = []
    if limit:
        series.append(Series(f"{key}_over", "Over target", over, kind="bar", color="high", stack=key))
        legend.append(LegendItem("Over target", "high", "bar"))
        thresholds.append(Threshold(float(limit), f"{limit_label} {limit:,.0f} {unit}", "alert"))
        legend.append(LegendItem(f"{limit_label} ({limit:,.0f} {unit})", "alert", "line"))
    n_logged = sum(1 for d in days if logged(d))
    n_over = sum(1 for _, v in over if v is not None)
    summary = f"{title} per day, {len(days)} days: {n_logged} with data"
    summary += f", {n_over} over the {limit_label.lower()} of {limit:,.0f} {unit}." if limit else "; no target set."
    return Chart(key=key, title=title, unit=unit, x_kind="day", x_min=day_iso(days[0]["date"]),
                 x_max=day_iso(days[-1]["date"]), series=series, thresholds=thresholds, legend=legend,
                 y=Axis(unit=unit, begin_at_zero=True), footers=_footers(days), summary=summary,
                 note="Days without entries are left blank, not drawn as zero.").as_dict()


def nutrition_charts(overview: dict) -> list[dict]:
    """Sodium, fluid and energy per local day of the overview's range."""
    days = _days(overview)
    target = overview["target"]

    def meals(d):
        return bool(d["meals"])

    def fluids(d):
        return bool(d["meals"] or d["fluid_ml"])

    sodium = _limit_chart("nu_sodium", "Sodium", "mg", days, "sodium_mg", target.sodium_mg if target else None,
                          logged=meals, color="blue", limit_label="Target")
    fluid = _limit_chart("nu_fluid", "Fluid", "mL", days, "fluid_ml", target.fluid_ml if target else None,
                         logged=fluids, color="teal", limit_label="Restriction")
    goal = target.energy_kcal if target else None
    points = [(day_iso(d["date"]), round(d["energy_kcal"]) if d["meals"] else None) for d in days]
    logged = sum(1 for _, v in points if v is not None)
    energy = Chart(key="nu_energy", title="Energy", unit="kcal", x_kind="day", x_min=day_iso(days[0]["date"]),
                   x_max=day_iso(days[-1]["date"]), series=[Series("nu_energy", "Energy", points, color="navy")],
                   thresholds=[Threshold(float(goal), f"Target {goal:,} kcal", "ink")] if goal else [],
                   y=Axis(unit="kcal", begin_at_zero=True), footers=_footers(days),
                   summary=f"Energy per day, {len(days)} days: {logged} with meals logged"
                           + (f"; target {goal:,} kcal." if goal else "."),
                   note="Days without meals logged are gaps in the line.").as_dict()
    return [sodium, fluid, energy]
