"""The segmentation report's sentences: each wording follows the numbers it describes."""

from __future__ import annotations

import pandas as pd

from helpers.segmentation import narrative


def _segments(rows):
    return pd.DataFrame(
        rows, columns=["segment", "customers", "share_of_customers_pct", "revenue", "share_of_revenue_pct"]
    )


def test_segment_overview_names_the_top_revenue_segment_and_the_largest_one():
    one = _segments([("Champions", 20, 20.0, 780.0, 78.0), ("Lost", 80, 80.0, 220.0, 22.0)])
    assert narrative.segment_overview(one) == (
        "**Champions** bring the most revenue: 78 % of it from 20 % of customers; the largest segment is "
        "**Lost** (80 % of customers, 22 % of revenue)."
    )
    same = _segments([("Champions", 60, 60.0, 900.0, 90.0), ("Lost", 40, 40.0, 100.0, 10.0)])
    assert narrative.segment_overview(same).endswith("also the largest segment.")
    assert narrative.segment_overview(_segments([("Lost", 0, 0.0, 0.0, 0.0)])) == "No customer could be segmented."


def test_concentration_is_judged_by_the_gini_coefficient():
    assert "highly concentrated" in narrative.concentration_sentence(0.2, 0.8, 0.7)
    assert "moderately concentrated" in narrative.concentration_sentence(0.4, 0.8, 0.4)
    assert "spread fairly evenly" in narrative.concentration_sentence(0.7, 0.8, 0.1)
    assert narrative.concentration_sentence(0.2, 0.8, 0.7).startswith("20 % of customers make 80 % of revenue")


def test_win_back_sums_the_lapsed_valuable_segments_and_is_empty_without_them():
    t = _segments(
        [("At risk", 10, 10.0, 300.0, 30.0), ("Cannot lose them", 5, 5.0, 200.0, 20.0), ("New", 85, 85.0, 500.0, 50.0)]
    )
    s = narrative.win_back(t, 400.0, "$")
    assert s.startswith("**At risk** and **Cannot lose them** hold 50 % of past revenue ($500.00) from 15 customers")
    assert "a median of 400 days ago" in s
    assert narrative.win_back(t[t["segment"] == "New"], None) == ""


def test_agreement_sentences_follow_the_adjusted_rand_index():
    assert "largely the same grouping" in narrative.clusters_vs_segments(0.7, 4, 9)
    assert "a different grouping" in narrative.clusters_vs_segments(0.1, 4, 9)
    assert "do not depend on the method" in narrative.mixture_agreement(0.95, 4)
    assert "depend on the method" in narrative.mixture_agreement(0.3, 4)
    assert narrative.skipped("Migration between segments is", "earlier date", "compare_to") == (
        "Migration between segments is skipped: no earlier date was given (parameter `compare_to`)."
    )
