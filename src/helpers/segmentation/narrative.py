"""The sentences of the segmentation report that compare or judge, computed from the run's numbers.

Pure functions: numbers in, a sentence out (Markdown emphasis allowed), each branch unit-tested.
"""

from __future__ import annotations

import math

import pandas as pd

from helpers.core.formats import currency_amount, percent
from helpers.reporting.text import esc

#: Gini coefficients of value above these read as "highly" / "moderately" concentrated.
GINI_HIGH = 0.6
GINI_MODERATE = 0.35
#: Segments whose customers were valuable and have stopped buying: the win-back list.
WIN_BACK = ("Cannot lose them", "At risk")


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 customer``, ``2,357 customers``."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def segment_overview(segments: pd.DataFrame) -> str:
    """Which segment brings the most revenue and which holds the most customers, with shares.

    ``segments``: :func:`helpers.segmentation.rfm.segment_table` (segment, share_of_customers_pct,
    share_of_revenue_pct ...)."""
    s = segments[segments["customers"] > 0]
    if s.empty:
        return "No customer could be segmented."
    top = s.loc[s["share_of_revenue_pct"].idxmax()]
    big = s.loc[s["share_of_customers_pct"].idxmax()]
    first = (
        f"**{esc(top['segment'])}** bring the most revenue: {percent(top['share_of_revenue_pct'])} of it from "
        f"{percent(top['share_of_customers_pct'])} of customers"
    )
    if big["segment"] == top["segment"]:
        return first + ", also the largest segment."
    return (
        f"{first}; the largest segment is **{esc(big['segment'])}** ({percent(big['share_of_customers_pct'])} of "
        f"customers, {percent(big['share_of_revenue_pct'])} of revenue)."
    )


def concentration_sentence(customer_share: float, value_share: float, gini: float, what: str = "revenue") -> str:
    """``customer_share`` (0-1) of customers make ``value_share`` (0-1) of ``what``; the Gini
    coefficient judges the concentration."""
    if gini >= GINI_HIGH:
        judged = "highly concentrated: losing a few top customers would hurt"
    elif gini >= GINI_MODERATE:
        judged = "moderately concentrated"
    else:
        judged = "spread fairly evenly across customers"
    return (
        f"{percent(100 * customer_share)} of customers make {percent(100 * value_share)} of {what} "
        f"(Gini coefficient {gini:.2f}): {what} is {judged}."
    )


def win_back(segments: pd.DataFrame, median_recency_days: float | None, currency: str = "") -> str:
    """The revenue share and size of the win-back segments (customers who were valuable and
    stopped buying); empty when the map has none of them or they are empty."""
    s = segments[segments["segment"].isin(WIN_BACK) & (segments["customers"] > 0)]
    if s.empty:
        return ""
    n = int(s["customers"].sum())
    names = " and ".join(f"**{esc(x)}**" for x in s["segment"])
    since = (
        f", who last bought a median of {median_recency_days:,.0f} days ago"
        if median_recency_days is not None and math.isfinite(median_recency_days)
        else ""
    )
    return (
        f"{names} hold {percent(float(s['share_of_revenue_pct'].sum()))} of past revenue "
        f"({currency_amount(float(s['revenue'].sum()), currency)}) from {plural(n, 'customer')}{since}: "
        "the first list for a win-back campaign."
    )


def clusters_vs_segments(ari: float, k: int, n_segments: int) -> str:
    """How far the data-driven clusters agree with the rule-based RFM segments."""
    if ari >= 0.6:
        verdict = "largely the same grouping"
    elif ari >= 0.3:
        verdict = "a related but different grouping"
    else:
        verdict = "a different grouping"
    return (
        f"The {k} clusters and the {n_segments} RFM segments agree with an adjusted Rand index of {ari:.2f}: "
        f"{verdict}. RFM segments are fixed rules on score ranks; clusters follow where customers actually bunch."
    )


def mixture_agreement(ari: float, k: int) -> str:
    """How far a Gaussian mixture with the same number of clusters agrees with k-means."""
    if ari >= 0.8:
        verdict = "the same clusters, so they do not depend on the method"
    elif ari >= 0.5:
        verdict = "broadly the same clusters, with some customers between them"
    else:
        verdict = "different clusters: the boundaries depend on the method, so read the profiles, not the exact lines"
    return (
        f"A Gaussian mixture with {k} components agrees with k-means at an adjusted Rand index of {ari:.2f}: {verdict}."
    )


def tiers_sentence(tiers: pd.DataFrame, what: str) -> str:
    """Tier A's size and share of ``what`` (e.g. "revenue", "predicted CLV");
    ``tiers``: :func:`helpers.segmentation.value.tier_summary`."""
    a = tiers.set_index("tier").loc["A"]
    return (
        f"Tier A by {what}: {plural(int(a['customers']), 'customer')} ({percent(a['share_of_customers_pct'])} of "
        f"customers) who make {percent(a['share_of_value_pct'])} of it."
    )


def skipped(section: str, what: str, parameter: str) -> str:
    """The sentence for an optional section whose input was not given, e.g. ``skipped("Migration
    between segments is", "earlier date", "compare_to")``."""
    return f"{section} skipped: no {what} was given (parameter `{parameter}`)."


def sample_sentence(what: str, sample: int, total: int, parameter: str, strata: str | None = None) -> str:
    """The sentence a report states when ``what`` (e.g. "k was chosen and the mixture fitted") used
    a sample of ``sample`` of the ``total`` customers; ``parameter`` names the setting that sizes it,
    ``strata`` what the sample was drawn within in proportion (None: a simple random sample).
    Empty when every customer was used (``sample >= total``)."""
    if sample >= total:
        return ""
    how = f", drawn within each {strata} in proportion to its size" if strata else ""
    return (
        f"{what[:1].upper() + what[1:]} on a random sample of {int(sample):,} of the {int(total):,} customers{how} "
        f"(seeded; the sample's size is the parameter `{parameter}`)."
    )
