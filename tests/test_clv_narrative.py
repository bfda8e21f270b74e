"""The CLV report's judging sentences follow the numbers: each wording is checked on numbers that
call for it and on numbers that contradict it."""

from __future__ import annotations

from helpers.clv import narrative


def test_p_alive_is_called_a_poor_ranking_only_when_its_auc_says_so():
    bg = narrative.churn_ranking(0.727, 0.316, 0.773, "BG/NBD", one_time_buyers_p_alive_one=True)
    assert "0.32, far worse than the classifier" in bg and "poor ranking" in bg
    assert "gives every customer without a repeat purchase P(alive) = 1" in bg
    assert "far better than P(alive) (AUC 0.77)" in bg
    pnbd = narrative.churn_ranking(0.727, 0.726, 0.75, "Pareto/NBD", one_time_buyers_p_alive_one=False)
    assert "0.73, about as well as the classifier" in pnbd
    assert "poor" not in pnbd and "P(alive) = 1" not in pnbd
    assert "better than P(alive) (AUC 0.75)" in pnbd and "far better" not in pnbd


def test_the_one_time_buyer_explanation_needs_both_a_poor_ranking_and_p_alive_one():
    good_bg = narrative.churn_ranking(0.70, 0.69, None, "BG/NBD", one_time_buyers_p_alive_one=True)
    assert "P(alive) = 1" not in good_bg and "expected holdout purchases" not in good_bg
    poor_pnbd = narrative.churn_ranking(0.75, 0.45, None, "Pareto/NBD", one_time_buyers_p_alive_one=False)
    assert "poor ranking" in poor_pnbd and "P(alive) = 1" not in poor_pnbd


def test_compare_auc_wordings():
    assert narrative.compare_auc(0.80, 0.79) == "about as well as"
    assert narrative.compare_auc(0.85, 0.80) == "better than"
    assert narrative.compare_auc(0.95, 0.80) == "far better than"
    assert narrative.compare_auc(0.75, 0.80) == "worse than"
    assert narrative.compare_auc(0.60, 0.80) == "far worse than"


def test_best_by_aic_names_the_lower_aic_or_calls_a_tie():
    assert narrative.best_by_aic(["BG/NBD", "Pareto/NBD"], [19172.9, 19198.0]).startswith(
        "BG/NBD fits the calibration data better by AIC (lower by 25.1)"
    )
    assert narrative.best_by_aic(["BG/NBD", "Pareto/NBD"], [200.0, 150.0]).startswith("Pareto/NBD fits")
    assert "about equally well" in narrative.best_by_aic(["BG/NBD", "Pareto/NBD"], [100.0, 101.0])
    assert "only transaction model" in narrative.best_by_aic(["Pareto/NBD"], [100.0])


def test_holdout_check_states_the_signed_error_and_its_direction():
    under = narrative.holdout_check(1882, 1653.4, "BG/NBD")
    assert "**1,882**" in under and "**1,653**" in under and "-12.1 %, fewer than happened" in under
    assert "+10.0 %, more than happened" in narrative.holdout_check(100, 110, "Pareto/NBD")
    assert "close to what happened" in narrative.holdout_check(100, 103, "Pareto/NBD")


def test_model_used_is_silent_when_the_requested_model_fitted_and_explains_a_fallback():
    assert narrative.model_used("BG/NBD", "BG/NBD", 0.0, []) == ""
    note = narrative.dropout_boundary("BG/NBD", ["a"])
    assert "no customer has visibly dropped out yet" in note and "(a)" in note
    text = narrative.model_used("BG/NBD", "Pareto/NBD", 0.0, ["edge"], note)
    assert text.startswith(note) and "scored with Pareto/NBD instead of BG/NBD" in text
    pen = narrative.model_used("BG/NBD", "BG/NBD", 1e-4, ["Hessian not positive definite"])
    assert "with a small penalty (log_penalizer 0.0001)" in pen and "instead of" not in pen


def test_value_summary_names_revenue_or_margin():
    args = dict(customers=2357, total=68813.3, horizon_months=12, discount_rate=0.1, top_share_customers=0.2)
    rest = dict(top_share_value=0.787, at_risk=282, threshold=0.3, value_at_risk=15976.9)
    assert "**68,813** in revenue" in narrative.value_summary(margin=1.0, **args, **rest)
    assert "in margin (30% of spend)" in narrative.value_summary(margin=0.3, **args, **rest)
    dollars = narrative.value_summary(margin=1.0, **args, **rest, currency="$")
    assert "**\\$68,813**" in dollars and "put \\$15,977 at risk" in dollars  # "$" escaped: never mathematics
    assert "put 15,977 EUR at risk" in narrative.value_summary(margin=1.0, **args, **rest, currency="EUR")


def test_customer_export_sentence_says_where_the_rows_are_and_how_to_show_them():
    hidden = narrative.customer_exports(2357, 282, shown=False)
    assert "(2,357 rows) is in `customers.csv`" in hidden and "282 customers at risk are in `at_risk.csv`" in hidden
    assert "only in aggregate" in hidden and "`include_customer_detail: true`" in hidden
    shown = narrative.customer_exports(2357, 282, shown=True)
    assert "first rows of each" in shown and "aggregate" not in shown


def test_spend_penalty_is_stated_only_when_used():
    assert narrative.spend_penalty(0.0) == ""
    assert "small penalty (log_penalizer 0.0001)" in narrative.spend_penalty(1e-4)


def test_duplicate_rows_sentence_counts_and_says_what_was_done():
    assert narrative.duplicate_rows(0, 100, dropped=False) == ""
    kept = narrative.duplicate_rows(1, 200, dropped=False)
    assert kept.startswith("**Warning:** **1** of the 200 transaction rows is an exact copy") and "(0.5 %)" in kept
    assert "count as further purchases" in kept and "drop_duplicates" in kept
    dropped = narrative.duplicate_rows(25, 1_000, dropped=True)
    assert "**25** of the 1,000 transaction rows are an exact copy" in dropped
    assert "dropped before fitting" in dropped and "uses 975 rows" in dropped and "Warning" not in dropped
