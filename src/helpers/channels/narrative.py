"""Sentences of the channel report that compare or judge, computed from the run's numbers.

Each function takes plain numbers or small frames and returns one or two sentences; a different
input gives a different sentence, never fixed text that could turn false.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers.core.formats import currency_amount as money
from helpers.reporting.text import esc

__all__ = [
    "budget_caveat",
    "fit_sentence",
    "roas_sentence",
    "scorecard_cost_benefit",
    "scorecard_ranking",
    "scorecard_retention",
    "scorecard_tests",
    "skipped",
    "synergy_sentence",
]


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


# --------------------------------------------------------------------------------------------
# The acquisition-channel scorecard (:class:`helpers.channels.scorecard.ChannelScorecard`): ``t``
# is its table (channels with customers, best first), ``costed`` the rows with a CAC, ``aside``
# what was left out of the comparison (or "").


def _signed_money(value: float, currency: str) -> str:
    return f"-{currency}{-value:,.2f}" if value < 0 else f"{currency}{value:,.2f}"


def _p_value(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def scorecard_ranking(t: pd.DataFrame, costed: pd.DataFrame, aside: str, currency: str = "$") -> str:
    """Which channel brings the most (net) value per customer, and how many cost more than they bring."""
    m = lambda v: _signed_money(v, currency)  # noqa: E731
    if t.empty:
        return "No channel acquired a customer: there is nothing to rank."
    if len(costed):
        best, worst = costed.iloc[0], costed.iloc[-1]
        text = (
            f"{esc(best['channel'])} brings the most net value per acquired customer: {m(best['value_per_customer'])} "
            f"of past and predicted value against a CAC of {m(best['cac'])}, net {m(best['net_value_per_customer'])}"
        )
        if len(costed) > 1:
            text += f"; {esc(worst['channel'])} the least, net {m(worst['net_value_per_customer'])}"
        losing = int((costed["net_value_per_customer"] < 0).sum())
        text += f"{aside}."
        if losing and len(costed) > 1:
            text += f" {losing} of {len(costed)} channels cost more to acquire a customer than the customer is worth."
        elif losing:
            text += " Its customers are worth less than they cost to acquire."
        return text
    best, worst = t.iloc[0], t.iloc[-1]
    text = f"{esc(best['channel'])} brings the most value per customer ({m(best['value_per_customer'])})"
    if len(t) > 1 and worst["value_per_customer"] > 0:
        ratio = best["value_per_customer"] / worst["value_per_customer"]
        text += f", {ratio:.1f} times {esc(worst['channel'])} ({m(worst['value_per_customer'])})"
    return text + f"{aside}; without costs, CAC and net value are unknown."


def scorecard_cost_benefit(costed: pd.DataFrame, aside: str, currency: str = "$") -> str:
    """What a customer costs against what they are worth, best and worst ratio, cheapest and dearest channel."""
    m = lambda v: _signed_money(v, currency)  # noqa: E731
    if costed.empty:
        return "No channel has costs, so the cost of a customer cannot be set against its value."
    costed = costed[costed["cac"] > 0]
    if costed.empty:
        return "No channel has a cost per customer above zero, so cost cannot be set against value."
    ratio = costed["value_per_customer"] / costed["cac"]
    hi, lo = costed.loc[ratio.idxmax()], costed.loc[ratio.idxmin()]
    text = (
        f"A customer acquired through {esc(hi['channel'])} costs {m(hi['cac'])} and is worth "
        f"{m(hi['value_per_customer'])}, {ratio.max():.1f} times the cost"
    )
    if len(costed) > 1:
        cheap, dear = costed.loc[costed["cac"].idxmin()], costed.loc[costed["cac"].idxmax()]
        text += (
            f"; through {esc(lo['channel'])} {m(lo['cac'])} for {m(lo['value_per_customer'])}, {ratio.min():.1f} times"
            f"{aside}. Acquisition is cheapest through {esc(cheap['channel'])} ({m(cheap['cac'])} per customer) and "
            f"dearest through {esc(dear['channel'])} ({m(dear['cac'])}, {dear['cac'] / cheap['cac']:.1f} times as much)"
        )
    return text + "."


def scorecard_retention(t: pd.DataFrame, days, as_of: pd.Timestamp, aside: str) -> str:
    """Highest and lowest retention at the longest horizon (``days``) any customer is old enough for."""
    for d in sorted(days, reverse=True):
        r = t[["channel", f"retention_{d}d"]].dropna()
        if r.empty:
            continue
        hi, lo = r.loc[r[f"retention_{d}d"].idxmax()], r.loc[r[f"retention_{d}d"].idxmin()]
        base = f"among customers whose first purchase is at least {d} days before {as_of.date()}"
        if len(r) == 1:
            return f"{d}-day retention is {100 * hi.iloc[1]:.0f} % for {esc(hi['channel'])}, {base}."
        return (
            f"{d}-day retention (a purchase {d} days or more after the first) is highest for {esc(hi['channel'])} "
            f"({100 * hi.iloc[1]:.0f} %) and lowest for {esc(lo['channel'])} ({100 * lo.iloc[1]:.0f} %), {base}{aside}."
        )
    return (
        f"No customer's first purchase is at least {min(days)} days before {as_of.date()}: "
        "retention cannot be measured yet."
    )


def scorecard_tests(tests: pd.DataFrame) -> str:
    """The chi-square tests of conversion and repeat rates between channels, in words."""
    parts = []
    for r in tests.itertuples():
        label = {"conversion_rate": "Conversion rates", "repeat_rate": "Repeat rates"}[r.metric]
        if np.isnan(r.p_value):
            parts.append(f"{label} could not be tested (fewer than two channels or a single outcome).")
        elif r.significant:
            parts.append(
                f"{label} differ between channels (chi-square {r.chi2:.1f}, {r.dof} d.f., {_p_value(r.p_value)})."
            )
        else:
            parts.append(
                f"{label} do not differ significantly between channels (chi-square {r.chi2:.1f}, "
                f"{r.dof} d.f., {_p_value(r.p_value)})."
            )
    return " ".join(parts)
