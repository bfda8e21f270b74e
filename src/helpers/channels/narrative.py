"""Sentences of the channel report that compare or judge, computed from the run's numbers.

Each function takes plain numbers or small frames and returns one or two sentences; a different
input gives a different sentence, never fixed text that could turn false.
"""

from __future__ import annotations

import math

import pandas as pd

from helpers.core.formats import currency_amount as money

__all__ = ["budget_caveat", "fit_sentence", "roas_sentence", "skipped", "synergy_sentence"]


def _pct(x: float, digits: int = 0) -> str:
    return f"{100 * x:.{digits}f} %"


def skipped(section: str, inputs: str) -> str:
    """Why a section is not in the report: its inputs were not given."""
    return f"No {section}: {inputs} not given."


def fit_sentence(r2: float, holdout_mape: float | None, holdout_weeks: int, weeks: int, kpi: str) -> str:
    """How well the marketing-mix model tracks the KPI, in and out of sample."""
    quality = "closely" if r2 >= 0.9 else "reasonably" if r2 >= 0.7 else "only loosely"
    text = f"The model follows {kpi} {quality}: it explains {_pct(r2)} of its week-to-week variation over {weeks} weeks"
    if holdout_mape is None or not math.isfinite(holdout_mape):
        return text + " (no holdout was kept back)."
    judged = "good" if holdout_mape < 10 else "fair" if holdout_mape < 20 else "weak"
    return (
        text + f"; fitted without the last {holdout_weeks} weeks, it predicted them with a mean error of "
        f"{holdout_mape:.1f} % ({judged} for a forecast of weekly {kpi})."
    )


def roas_sentence(roas: pd.DataFrame, currency: str = "") -> str:
    """Which channel returns most and least per unit of spend, whether the intervals separate them,
    and where the next unit of spend does most (marginal ROAS)."""
    r = roas.dropna(subset=["roas"]).sort_values("roas", ascending=False)
    if r.empty:
        return "No channel had spend to measure a return on."
    best, worst = r.iloc[0], r.iloc[-1]
    text = f"{best['channel']} returns the most, {best['roas']:.2f} per unit of spend"
    if len(r) > 1:
        text += f"; {worst['channel']} the least, {worst['roas']:.2f}"
        separated = pd.notna(best.get("roas_low")) and pd.notna(worst.get("roas_high"))
        if separated and best["roas_low"] > worst["roas_high"]:
            text += " (their 90 % intervals do not overlap)"
        elif separated:
            text += " (their 90 % intervals overlap, so the order is not certain)"
    text += "."
    below = r[r["roas"] < 1]
    if len(below):
        text += (
            f" {', '.join(below['channel'])} returned less than {money(1, currency)} per {money(1, currency)} spent."
        )
    if "mroas" in r and r["mroas"].notna().any():
        m = r.sort_values("mroas", ascending=False)
        text += (
            f" At today's spend the next unit does most in {m.iloc[0]['channel']} (marginal ROAS "
            f"{m.iloc[0]['mroas']:.2f}) and least in {m.iloc[-1]['channel']} ({m.iloc[-1]['mroas']:.2f})."
        )
    return text


def synergy_sentence(coef: float | None, low: float | None, high: float | None, groups, level: int = 90) -> str:
    """Whether the interaction between the two channel groups is positive, negative or unclear, by its
    ``level`` % interval (``low``, ``high``)."""
    if coef is None or not math.isfinite(coef):
        return ""
    a, b = (" + ".join(g) for g in groups)
    if low is not None and high is not None and math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0):
        kind = "reinforce each other" if coef > 0 else "dampen each other"
        return (
            f"{a} and {b} {kind}: the interaction term is {coef:,.3g} ({level} % interval {low:,.3g} to {high:,.3g})."
        )
    return f"No clear synergy between {a} and {b}: the interaction term's {level} % interval includes zero."


def budget_caveat(allocation: pd.DataFrame, p_values: pd.Series, alpha: float = 0.05) -> str:
    """A warning when the recommended shift gives more money to channels whose effect the model cannot
    tell from zero (``p_values`` by channel, e.g. an F test of each channel); "" otherwise."""
    up = allocation.loc[allocation["change"] > 1e-6 * max(float(allocation["current_spend"].sum()), 1.0), "channel"]
    weak = [str(c) for c in up if c in p_values.index and pd.notna(p_values[c]) and p_values[c] >= alpha]
    if not weak:
        return ""
    names = weak[0] if len(weak) == 1 else ", ".join(weak[:-1]) + " and " + weak[-1]
    verb = "has an effect" if len(weak) == 1 else "have effects"
    return (
        f"Caution: the shift gives more to {names}, which {verb} the model cannot tell from zero (p >= {alpha:g}); "
        "test the move on a part of the budget before making it in full."
    )
