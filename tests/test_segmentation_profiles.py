"""helpers.segmentation.profiles: segment x attribute crosstabs against scipy's chi-square test,
hand-computed residuals and Cramér's V, the small-cell rules and the sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from helpers.segmentation import profiles
from helpers.segmentation.profiles import (
    MISSING,
    OTHER,
    candidate_attributes,
    crosstab_test,
    profile_attributes,
)


def _expand(table: dict[str, dict[str, int]]) -> tuple[pd.Series, pd.Series]:
    """Customers (segment, value) from a table of counts {segment: {value: count}}."""
    seg, val = [], []
    for s, row in table.items():
        for v, k in row.items():
            seg += [s] * k
            val += [v] * k
    return pd.Series(seg), pd.Series(val)


TABLE = {
    "Champions": {"email": 40, "referral": 60, "search": 30, "social": 20},
    "Loyal": {"email": 35, "referral": 30, "search": 45, "social": 40},
    "Hibernating": {"email": 15, "referral": 10, "search": 70, "social": 55},
}


def test_chi_square_expected_and_p_match_scipy():
    seg, val = _expand(TABLE)
    t = crosstab_test(seg, val, name="acquisition_channel", segment_order=list(TABLE))
    observed = np.array([list(r.values()) for r in TABLE.values()])
    chi2, p, dof, expected = chi2_contingency(observed, correction=False)
    assert list(t.counts.index) == list(TABLE) and list(t.counts.columns) == ["email", "referral", "search", "social"]
    np.testing.assert_array_equal(t.counts.to_numpy(), observed)
    assert t.chi2 == pytest.approx(chi2, rel=1e-12) and t.dof == dof and t.p_value == pytest.approx(p, rel=1e-12)
    np.testing.assert_allclose(t.expected.to_numpy(), expected, rtol=1e-12)
    assert t.n == observed.sum() and t.valid and t.note == ""
    assert t.cramers_v == pytest.approx(math.sqrt(chi2 / (observed.sum() * 2)), rel=1e-12)
    np.testing.assert_allclose(t.row_shares.sum(axis=1), 100.0)
    assert t.row_shares.loc["Champions", "referral"] == pytest.approx(40.0)


def test_two_by_two_residual_and_cramers_v_by_hand():
    seg, val = _expand({"A": {"yes": 30, "no": 10}, "B": {"yes": 20, "no": 40}})
    t = crosstab_test(seg, val, segment_order=["A", "B"])
    # n = 100; row A 40, column "yes" 50: E = 20; adjusted residual (30-20)/sqrt(20*0.6*0.5) = 10/sqrt(6)
    assert list(t.counts.columns) == ["no", "yes"]
    assert t.expected.loc["A", "yes"] == pytest.approx(20.0)
    assert t.residuals.loc["A", "yes"] == pytest.approx(10 / math.sqrt(6), rel=1e-12)
    # chi2 = sum (O-E)^2/E = 100/20 + 100/20 + 100/30 + 100/30 = 16.667; V = sqrt(chi2 / 100) (2x2: phi)
    assert t.chi2 == pytest.approx(50 / 3, rel=1e-12)
    assert t.cramers_v == pytest.approx(math.sqrt(50 / 3 / 100), rel=1e-12)
    # in a 2x2 table every adjusted residual has the same size: sqrt(chi2)
    np.testing.assert_allclose(t.residuals.abs().to_numpy(), math.sqrt(50 / 3), rtol=1e-12)


def test_small_cells_make_the_test_invalid_with_a_plain_reason():
    seg, val = _expand({"A": {"x": 3, "y": 2, "z": 1}, "B": {"x": 1, "y": 4, "z": 2}, "C": {"x": 2, "y": 1, "z": 3}})
    t = crosstab_test(seg, val, merge_rare=False)
    assert not t.valid
    assert t.small_expected_share == 1.0 and t.min_expected == pytest.approx(6 * 6 / 19)
    assert "cells too small for the test: 9 of 9 cells expect fewer than 5 customers" in t.note
    assert t.significant_cells().empty
    s = t.sentence()
    assert s.startswith("Attribute: The chi-square test is not reported") and "9 of 9 cells" in s


def test_rare_values_are_merged_into_other_and_said_so():
    table = {
        "A": {"x": 120, "y": 80, "v": 1, "w": 2},
        "B": {"x": 60, "y": 140, "v": 2, "w": 1},
        "C": {"x": 90, "y": 100, "v": 1, "w": 3},
    }
    seg, val = _expand(table)
    t = crosstab_test(seg, val, segment_order=["A", "B", "C"])
    assert list(t.counts.columns) == ["x", "y", OTHER]
    assert t.counts[OTHER].tolist() == [3, 3, 4] and t.counts.to_numpy().sum() == len(seg)
    assert "merged into \u201cother\u201d: v, w" in t.note
    # "other" still expects fewer than 5 in every row: 3 of 9 cells, more than Cochran's 20 %
    assert not t.valid and "3 of 9 cells expect fewer than 5 customers" in t.note
    assert t.sentence().startswith("Attribute: Values too rare to test on their own were merged")
    # with more customers the merged table is valid and is the table scipy tests
    big_seg, big_val = _expand(
        {
            "A": {"x": 300, "y": 200, "v": 3, "w": 4},
            "B": {"x": 150, "y": 350, "v": 4, "w": 3},
            "C": {"x": 250, "y": 250, "v": 3, "w": 5},
        }
    )
    big = crosstab_test(big_seg, big_val)
    chi2, p, dof, _ = chi2_contingency(big.counts.to_numpy(), correction=False)
    assert big.valid and list(big.counts.columns) == ["x", "y", OTHER] and big.counts[OTHER].tolist() == [7, 7, 8]
    assert big.dof == dof == 4 and big.chi2 == pytest.approx(chi2, rel=1e-12) and big.p_value == pytest.approx(p)
    # without merging, the table is too sparse to test
    raw = crosstab_test(big_seg, big_val, merge_rare=False)
    assert not raw.valid and list(raw.counts.columns) == ["v", "w", "x", "y"]
    # a single rare value keeps its name (merging it alone would change nothing)
    one = crosstab_test(*_expand({s: {"x": 100, "y": 100, "z": 1} for s in "ABC"}))
    assert list(one.counts.columns) == ["x", "y", "z"] and "merged" not in one.note


def test_missing_values_are_their_own_category():
    seg = pd.Series(["A"] * 60 + ["B"] * 60)
    val = pd.Series((["x", "y", None] * 20) + (["x", None, "y"] * 20), dtype=object)
    t = crosstab_test(seg, val)
    assert list(t.counts.columns) == ["x", "y", MISSING]
    assert t.counts[MISSING].tolist() == [20, 20]
    # a missing segment is left out, and the note says so
    seg2 = seg.astype(object).copy()
    seg2.iloc[:3] = None
    t2 = crosstab_test(seg2, val)
    assert t2.n == 117 and "3 customers without a segment left out" in t2.note


def test_series_are_matched_on_their_index():
    seg = pd.Series(["A", "B", "A", "B"], index=["c1", "c2", "c3", "c4"])
    val = pd.Series(["x", "y", "x"], index=["c3", "c1", "c2"])
    t = crosstab_test(seg, val, merge_rare=False)
    assert t.n == 3 and t.counts.loc["A", "x"] == 1 and t.counts.loc["A", "y"] == 1 and t.counts.loc["B", "x"] == 1


def test_significant_cells_direction_and_sentence():
    seg, val = _expand(TABLE)
    t = crosstab_test(seg, val, name="acquisition_channel", segment_order=list(TABLE))
    cells = t.significant_cells()
    assert list(cells.columns) == ["segment", "value", "observed", "expected", "residual", "direction"]
    assert (cells["residual"].abs().diff().dropna() <= 0).all()  # strongest first
    z = 2.8653  # Bonferroni over 12 cells at alpha 0.05: norm.isf(0.05 / 24)
    assert (cells["residual"].abs() > z).all()
    outside = t.residuals.abs().to_numpy() > z
    assert len(cells) == outside.sum()
    top = cells.iloc[0]
    assert (top["segment"], top["value"], top["direction"]) == ("Champions", "referral", "more")
    assert set(cells.loc[cells["residual"] < 0, "direction"]) == {"fewer"}
    s = t.sentence()
    assert s.startswith("Acquisition channel differs between segments (chi-square ")
    assert "p < 0.001" in s and "referral is more common among Champions (40 % against 22 % overall)" in s


def test_independent_attribute_is_not_significant():
    rng = np.random.default_rng(7)
    seg = pd.Series(rng.choice(["A", "B", "C", "D"], size=2000, p=[0.4, 0.3, 0.2, 0.1]))
    val = pd.Series(rng.choice(["North", "South", "East", "West"], size=2000, p=[0.35, 0.3, 0.2, 0.15]))
    t = crosstab_test(seg, val, name="region")
    assert t.valid and t.p_value > 0.05 and t.significant_cells().empty
    assert t.sentence().startswith("Region does not differ clearly between segments")
    # across seeds the test rejects at about its nominal rate
    rejected = 0
    for seed in range(40):
        r = np.random.default_rng(1000 + seed)
        s = pd.Series(r.choice(list("ABCD"), size=1000))
        v = pd.Series(r.choice(list("wxyz"), size=1000))
        rejected += crosstab_test(s, v).p_value < 0.05
    assert rejected <= 6


def test_segment_order_is_respected_and_others_follow_sorted():
    seg, val = _expand(TABLE)
    t = crosstab_test(seg, val, segment_order=["Loyal", "Nobody", "Champions"])
    assert list(t.counts.index) == ["Loyal", "Champions", "Hibernating"]


def test_one_value_only_is_not_tested():
    t = crosstab_test(pd.Series(["A", "B"] * 10), pd.Series(["x"] * 20))
    assert not t.valid and t.dof == 0 and "nothing to compare" in t.note


def test_profile_attributes_overview_sorted_by_strength():
    rng = np.random.default_rng(3)
    n = 1500
    seg = rng.choice(["A", "B", "C"], size=n)
    frame = pd.DataFrame(
        {
            "segment": seg,
            "weak": np.where(rng.random(n) < 0.1, seg, rng.choice(["A", "B", "C"], size=n)),
            "strong": np.where(rng.random(n) < 0.6, seg, rng.choice(["A", "B", "C"], size=n)),
            "noise": rng.choice(["p", "q"], size=n),
            "sparse": np.where(np.arange(n) < 3, "rare", "common"),
        }
    )
    overview, tests = profile_attributes(frame, "segment", ["noise", "weak", "sparse", "strong"])
    assert list(overview.columns) == [
        "attribute",
        "categories",
        "chi2",
        "dof",
        "p_value",
        "cramers_v",
        "valid",
        "significant",
        "note",
    ]
    assert list(overview["attribute"]) == ["strong", "weak", "noise", "sparse"]
    assert overview["significant"].tolist() == [True, True, False, False]
    assert not overview.iloc[-1]["valid"] and set(tests) == {"noise", "weak", "sparse", "strong"}
    with pytest.raises(ValueError):
        profile_attributes(frame, "segment", ["segment"])


def test_candidate_attributes():
    n = 50
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "order_ref": [f"R{i}" for i in range(n)],
            "signup_date": pd.date_range("2024-01-01", periods=n),
            "signup_text": ["2024-01-0" + str(i % 9 + 1) for i in range(n)],
            "region": ["North", "South"] * 25,
            "constant": ["x"] * n,
            "rating": [i % 5 + 1 for i in range(n)],
            "spend": np.linspace(0, 100, n),
            "flag": [True, False] * 25,
            "account_id": [i % 3 for i in range(n)],
        }
    )
    assert candidate_attributes(frame) == ["region", "rating", "flag"]
    assert candidate_attributes(frame, exclude=("customer_id", "region")) == ["rating", "flag"]


def test_profiles_of_the_simulated_groups_find_the_dependent_attributes():
    from helpers.segmentation.simulate import generate_segmented_base

    _, cu = generate_segmented_base(3000, seed=0)
    frame = cu.frame.merge(cu.details["groups"], on="customer_id")
    attributes = candidate_attributes(frame, exclude=("customer_id", "group"))
    assert attributes == ["region", "age_band", "acquisition_channel", "gender"]
    overview, tests = profile_attributes(
        frame, "group", attributes, segment_order=["loyal", "occasional", "new", "lapsed"]
    )
    significant = set(overview.loc[overview["significant"], "attribute"])
    assert significant == set(cu.truth["dependent_attributes"])
    assert list(tests["acquisition_channel"].counts.index) == ["loyal", "occasional", "new", "lapsed"]
    assert "among loyal" in tests["acquisition_channel"].sentence()


def test_segments_too_small_to_test_are_merged_so_the_test_can_be_reported():
    rng = np.random.default_rng(5)
    sizes = {"big A": 600, "big B": 600, "tiny 1": 8, "tiny 2": 9, "tiny 3": 10, "tiny 4": 12}
    seg = np.repeat(list(sizes), list(sizes.values()))
    p = np.where((seg == "big A")[:, None], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5])
    value = np.array([rng.choice(["x", "y", "z"], p=row) for row in p])
    test = profiles.crosstab_test(pd.Series(seg), pd.Series(value), name="channel")
    # each tiny segment expects fewer than 5 customers in most values; the 39 together do not
    assert list(test.counts.index) == ["big A", "big B", profiles.OTHER_SEGMENTS]
    assert test.counts.loc[profiles.OTHER_SEGMENTS].sum() == 39 and int(test.counts.to_numpy().sum()) == seg.size
    assert "tiny 1, tiny 2, tiny 3, tiny 4" in test.note and test.valid
    # one tiny segment of 3 customers cannot be tested even merged: it is left out, and said so
    seg2 = np.array(["big A"] * 600 + ["big B"] * 600 + ["tiny 1"] * 3 + ["mid"] * 60)
    value2 = np.concatenate([value[:1200], rng.choice(["x", "y", "z"], 63)])
    test2 = profiles.crosstab_test(pd.Series(seg2), pd.Series(value2), name="channel")
    assert test2.valid and list(test2.counts.index) == ["big A", "big B", "mid"]
    assert "3 customers in segments too small to test, even together, are left out of the test: tiny 1" in test2.note
    assert test2.n == seg2.size - 3
