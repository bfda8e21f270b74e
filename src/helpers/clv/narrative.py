"""The sentences of the CLV report that compare or judge, computed from the run's numbers.

Pure functions: numbers in, a sentence out (Markdown emphasis allowed), so each wording is chosen
by the numbers it describes and every branch is unit-tested.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from helpers.core import formats
from helpers.reporting.text import esc

#: Two ROC AUCs closer than this are "about as good" (differences of 0.02 are within the noise of a
#: few thousand customers).
AUC_TIE = 0.02
#: Below this AUC a ranking is poor (0.5 is chance).
AUC_POOR = 0.6


def compare_auc(auc: float, reference: float, tie: float = AUC_TIE) -> str:
    """``"better than"``, ``"about as well as"`` or ``"worse than"`` (ranking quality)."""
    if abs(auc - reference) <= tie:
        return "about as well as"
    if auc - reference > 0.1:
        return "far better than"
    if auc > reference:
        return "better than"
    if reference - auc > 0.1:
        return "far worse than"
    return "worse than"


def churn_ranking(
    classifier_auc: float,
    p_alive_auc: float,
    expected_purchases_auc: float | None,
    model_label: str,
    one_time_buyers_p_alive_one: bool,
) -> str:
    """How 1 - P(alive) ranks customers who did not buy in the holdout, against the classifier
    and the model's expected purchases; the BG/NBD explanation (P(alive) = 1 for every customer
    without a repeat purchase) only when it holds and P(alive) ranks poorly."""
    parts = [
        "A gradient-boosting classifier trained on calibration-period behaviour (frequency, recency, age, spend) "
        f"tells apart customers who did not buy again in the holdout with ROC AUC **{classifier_auc:.2f}** "
        "(out-of-fold, so not flattered by its own training data)."
    ]
    verdict = compare_auc(p_alive_auc, classifier_auc)
    sentence = f"Ranking by {model_label}'s 1 - P(alive) alone scores {p_alive_auc:.2f}, {verdict} the classifier"
    poor = p_alive_auc < AUC_POOR or verdict in ("worse than", "far worse than")
    if poor and p_alive_auc < AUC_POOR:
        sentence += "; P(alive) is a poor ranking on its own here"
    sentence += "."
    parts.append(sentence)
    if poor and one_time_buyers_p_alive_one:
        parts.append(
            f"{model_label} gives every customer without a repeat purchase P(alive) = 1, and those are the "
            "customers least likely to buy again."
        )
    if expected_purchases_auc is not None and math.isfinite(expected_purchases_auc):
        verdict_ep = compare_auc(expected_purchases_auc, p_alive_auc)
        parts.append(
            f"The model's expected holdout purchases rank them {verdict_ep} P(alive) "
            f"(AUC {expected_purchases_auc:.2f})."
        )
    return " ".join(parts)


def churn_sample(used: int, customers: int, auc_se: float) -> str:
    """Says that the churn rankings were judged on a stratified sample, and how precise that is."""
    return (
        f"With {customers:,} customers, the classifier was cross-validated and all three rankings were judged on "
        f"a stratified random sample of {used:,} of them (the same share of non-buyers as in the whole base); "
        f"on that many customers an AUC has a standard error of about {auc_se:.3f}."
    )


def best_by_aic(models: Sequence[str], aics: Sequence[float]) -> str:
    """Which model fits the calibration data better by AIC, and by how much."""
    pairs = sorted(zip(aics, models))
    if len(pairs) < 2:
        return f"{pairs[0][1]} is the only transaction model fitted." if pairs else ""
    (a1, m1), (a2, _) = pairs[0], pairs[1]
    gap = a2 - a1
    if gap < 2:
        return f"{m1} and the other model fit the calibration data about equally well by AIC (difference {gap:.1f})."
    return f"{m1} fits the calibration data better by AIC (lower by {gap:,.1f})."


def holdout_check(actual: float, predicted: float, model_label: str) -> str:
    """Predicted against actual repeat purchases in the holdout, with the signed error."""
    if actual <= 0:
        return f"Nobody bought in the holdout; {model_label} predicted {predicted:,.0f} repeat purchases."
    err = 100 * (predicted / actual - 1)
    if abs(err) <= 5:
        judgement = "close to what happened"
    elif err < 0:
        judgement = "fewer than happened"
    else:
        judgement = "more than happened"
    return (
        f"In the holdout customers made **{actual:,.0f}** repeat purchases; {model_label} predicted "
        f"**{predicted:,.0f}** ({err:+.1f} %, {judgement})."
    )


def dropout_boundary(model_label: str, parameters: Sequence[str]) -> str:
    """What a drop-out parameter at the edge of its range means, in plain words."""
    which = ", ".join(parameters)
    return (
        f"{model_label}'s drop-out parameter{'s' if len(parameters) > 1 else ''} ({which}) ran to the edge of "
        "the allowed range: no customer has visibly dropped out yet (everyone seen so far still buys at "
        "their usual pace), so the data cannot say how quickly customers leave."
    )


def model_used(
    requested: str, used: str, log_penalizer: float, reasons: Sequence[str], dropout_note: str | None = None
) -> str:
    """Which transaction model scores the customers and why, when it is not the one asked for
    (or needed a penalty). Empty when the requested model fitted as is."""
    if used == requested and log_penalizer == 0:
        return ""
    parts = []
    if dropout_note:
        parts.append(dropout_note)
    elif reasons:
        parts.append(f"{requested} could not be fitted as is: {reasons[0]}")
    how = f"{used}" + (
        f" with a small penalty (log_penalizer {log_penalizer:g}) keeping its parameters off the edges"
        if log_penalizer
        else ""
    )
    parts.append(
        f"Customers are scored with {how} instead"
        + (" of " + requested if used != requested else "")
        + "; treat P(alive) and long-horizon CLV as provisional until some customers have had time to lapse."
    )
    return " ".join(parts)


def spend_penalty(log_penalizer: float) -> str:
    """Say so when Gamma-Gamma needed a penalty to be fitted ("" when it did not)."""
    if not log_penalizer:
        return ""
    return (
        "Average spend varies too little between customers for Gamma-Gamma to pin down its heterogeneity "
        f"parameters, so it was fitted with a small penalty (log_penalizer {log_penalizer:g}): expected spend is "
        "close to the population average for everyone."
    )


def value_summary(
    customers: int,
    total: float,
    horizon_months: int,
    margin: float,
    discount_rate: float,
    top_share_customers: float,
    top_share_value: float,
    at_risk: int,
    threshold: float,
    value_at_risk: float,
    currency: str = "",
) -> str:
    """The headline paragraph: value, its concentration and the value at risk (amounts in
    ``currency``, e.g. ``"$"`` or ``"EUR"``; escaped, so a ``$`` never starts mathematics)."""
    measure = "revenue" if margin == 1 else f"margin ({margin:.0%} of spend)"
    total_text = esc(formats.currency_amount(round(total), currency))
    risk_text = esc(formats.currency_amount(round(value_at_risk), currency))
    return (
        f"Over the next {horizon_months} months the {customers:,} customers are expected to bring **{total_text}** "
        f"in {measure}, discounted at {discount_rate:.0%} a year. The top {top_share_customers:.0%} of customers "
        f"hold **{top_share_value:.0%}** of that value. **{at_risk:,}** customers have a probability of still "
        f"being active below {threshold:g}; together they put {risk_text} at risk."
    )


def duplicate_rows(duplicates: int, rows: int, dropped: bool) -> str:
    """Exact duplicate rows in the transaction log: how many, and whether they were dropped
    ("" when there are none). Left in, each one counts as another purchase of the same value."""
    if duplicates <= 0:
        return ""
    share = duplicates / rows if rows else 0.0
    verb = "is" if duplicates == 1 else "are"
    what = f"**{duplicates:,}** of the {rows:,} transaction rows {verb} an exact copy of an earlier row ({100 * share:.1f} %)"
    if dropped:
        return (
            f"{what}; they were dropped before fitting (`drop_duplicates`), so each distinct row counts once "
            f"and the analysis uses {rows - duplicates:,} rows."
        )
    return (
        f"**Warning:** {what}. They were kept and count as further purchases, which inflates purchase "
        "counts, spend and CLV if they are export errors; run with `drop_duplicates` set to drop them."
    )


def customer_exports(
    customers: int,
    at_risk: int,
    shown: bool,
    customers_file: str = "customers.csv",
    at_risk_file: str = "at_risk.csv",
) -> str:
    """Where the customer-level results are (the exports beside the report, CSV or Parquet) and
    whether this report lists customers (``include_customer_detail``)."""
    customers_file, at_risk_file = (name.replace("`", "") for name in (customers_file, at_risk_file))
    where = (
        f"Every customer's P(alive), expected purchases and CLV ({customers:,} rows) is in `{customers_file}`, "
        f"and the {at_risk:,} customers at risk are in `{at_risk_file}`, beside this report for CRM use"
    )
    if shown:
        return where + "; the tables here show the first rows of each."
    return (
        where + ". This report shows customers only in aggregate: run it with `include_customer_detail: true` "
        "to list them."
    )
